"""Import a folder of photos plus masks matched by file name (how concrete-defect datasets come).

Two layouts (``mode``):

* ``"index"``: one class-index mask per photo, ``<masks>/<same relative path and stem>.png``
  (a suffix such as ``_mask`` or ``_label`` on the mask's stem is accepted). Pixel values map to
  categories through a :class:`ClassMapping`; palette PNGs are read as their *indices*.
* ``"binary"``: one binary mask per class per photo, ``<masks>/<token>/<stem>.png`` or
  ``<masks>/<stem>_<token>.png``; a pixel is set when non-zero (0/1 masks) or >= 128 (0/255 masks,
  JPEG noise). Where class masks overlap, the class whose mask is smaller in that photo wins
  (ties: lower category id).
* ``"auto"`` picks ``binary`` when the masks folder holds files named with a mapping token.

Then things are split by connected components and stuff becomes one segment per class
(see ``core.formats.build``). Masks must have the photo's upright (EXIF-applied) size; they are
never resized. Photos without masks, masks without photos, unknown pixel values and size
mismatches are reported per item.
"""
from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import AnnotationError, DatasetError
from core.formats.build import IGNORE, from_class_map
from core.formats.class_mapping import ClassMapping
from core.formats.records import ImportItem, ImportProblem, ImportResult
from core.formats.import_run import ImportRun, Job
from core.formats.checks import check_size, fill_category_id
from core.formats.paths import norm_key
from core.progress import CancelFlag, ProgressFn
from core.imageio import ImageInfo, is_image_file, verify_image
from core.safety import special_file_reason

#: Stem suffixes that name a mask after its photo (``IMG_1.jpg`` <- ``IMG_1_mask.png``).
MASK_SUFFIXES = ("_mask", "_masks", "_label", "_labels", "_gt", "-mask", "-label")


@dataclass(frozen=True)
class MaskFolderOptions:
    """``connectivity`` 4 or 8 and ``min_area`` (px) for splitting things; ``fill``: stuff class
    (name or id) that unlabelled pixels become instead of void; ``mode``: index, binary or auto."""

    mode: str = "auto"
    connectivity: int = 8
    min_area: int = 0
    fill: str | int | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("auto", "index", "binary"):
            raise ValueError(f"mode must be auto, index or binary, got {self.mode!r}")
        if self.connectivity not in (4, 8):
            raise ValueError(f"connectivity must be 4 or 8, got {self.connectivity}")
        if self.min_area < 0:
            raise ValueError("min_area must be >= 0")


def list_images(folder: Path, special: list[ImportResult] | None = None) -> list[Path]:
    """Image files under ``folder``, recursively, sorted; hidden files and folders skipped.

    Image-named entries that are not regular files (FIFOs, sockets, devices, symbolic link
    loops) are left out, never opened (that could block forever); with ``special`` given, each
    is reported there as an ``ImportProblem``."""
    out = []
    for p in folder.rglob("*"):
        rel = p.relative_to(folder).parts
        if any(part.startswith(".") for part in rel) or not is_image_file(p):
            continue
        reason = special_file_reason(p)
        if reason is not None:
            if special is not None:
                special.append(ImportProblem(str(p), f"{reason}; skipped"))
            continue
        if not p.is_file():
            continue
        out.append(p)
    return sorted(out, key=lambda p: norm_key(str(p.relative_to(folder))))


def _key(path: Path, root: Path) -> str:
    return norm_key(str(path.relative_to(root).with_suffix("")))


def _strip_suffix(key: str) -> str:
    for suffix in MASK_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


def read_label_image(path: Path, photo: ImageInfo) -> np.ndarray:
    """A mask as ``[H, W]`` integers, checked against the photo's upright size before decoding.

    Palette PNGs give their indices; 8/16-bit gray their values; RGB only when the three channels
    agree (a gray image saved as RGB). Raises ``AnnotationError`` naming the mask.
    """
    return _read_mask(path, photo)[0]


def _read_mask(path: Path, photo: ImageInfo) -> tuple[np.ndarray, str]:
    from PIL import Image, UnidentifiedImageError

    try:
        data = path.read_bytes()
        img = Image.open(io.BytesIO(data))
    except OSError as e:
        if isinstance(e, UnidentifiedImageError):
            raise AnnotationError("the mask is not an image file", path) from e
        raise AnnotationError(f"cannot read the mask: {e}", path) from e
    except Image.DecompressionBombError as e:
        raise AnnotationError("the mask is too large to open safely", path) from e
    check_size((img.height, img.width), photo, path)
    try:
        if img.mode in ("P", "L", "I", "I;16", "I;16B", "I;16L", "I;16N"):
            arr = np.asarray(img)
        elif img.mode == "1":
            arr = np.asarray(img).astype(np.uint8)
        elif img.mode in ("LA", "PA"):
            arr = np.asarray(img)[..., 0]
        elif img.mode in ("RGB", "RGBA"):
            rgb = np.asarray(img)[..., :3]
            if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
                raise AnnotationError("the mask is a colour image; class-index masks need one channel "
                                      "(gray or palette)", path, hint="save the mask as a palette or gray PNG")
            arr = rgb[..., 0]
        else:
            raise AnnotationError(f"unsupported mask mode {img.mode}", path)
    except OSError as e:  # truncated PNG
        raise AnnotationError(f"cannot decode the mask: {e}", path) from e
    if arr.dtype.kind == "i" and arr.size and int(arr.min()) < 0:
        raise AnnotationError("the mask has negative values", path)
    return np.ascontiguousarray(arr), img.mode


def _binary(arr: np.ndarray, palette: bool) -> np.ndarray:
    """0/1 masks: non-zero; 0/255 masks (or JPEG noise): >= half range. Palette: index != 0."""
    if palette or arr.dtype == bool:
        return arr != 0
    top = int(arr.max()) if arr.size else 0
    return arr != 0 if top <= 1 else arr >= (128 if arr.dtype == np.uint8 else 32768)


def _translate(values: np.ndarray, mapping: ClassMapping, path: Path) -> np.ndarray:
    """Pixel values -> int32 category ids (0 unlabelled, IGNORE void). Unknown values: error."""
    present = np.flatnonzero(np.bincount(values.ravel())) if values.size else np.empty(0, np.intp)
    known = set(mapping.values) | set(mapping.ignore) | {0}
    unknown = [int(v) for v in present if int(v) not in known]
    if unknown:
        raise AnnotationError(f"the mask has pixel values {unknown[:10]} that the class mapping does not name",
                              path, hint="map them (--classes 7=crack) or ignore them (--classes 255=ignore)")
    lut = np.zeros(int(values.max(initial=0)) + 1, np.int32)
    for v, cid in mapping.values.items():
        if 0 <= v < lut.size:
            lut[v] = cid
    for v in mapping.ignore:
        if 0 <= v < lut.size:
            lut[v] = IGNORE
    return np.take(lut, values)


def _photo_info(photo: Path) -> ImageInfo:
    return verify_image(photo)  # the whole file: a truncated photo is reported, not imported


def _import_index(photo: Path, mask: Path, mapping: ClassMapping, things: set[int], opts: MaskFolderOptions,
                  fill: int | None) -> list[ImportResult]:
    info = _photo_info(photo)
    values = read_label_image(mask, info)
    class_map = _translate(values, mapping, mask)
    ann, warnings = from_class_map(class_map, things, opts.connectivity, opts.min_area, fill)
    return [ImportItem(photo, ann, tuple(warnings), info.width, info.height, str(mask))]


def _import_binary(photo: Path, masks: dict[str, Path], mapping: ClassMapping, things: set[int],
                   opts: MaskFolderOptions, fill: int | None) -> list[ImportResult]:
    info = _photo_info(photo)
    layers = []  # (area, category id, mask)
    for token, path in sorted(masks.items()):
        arr, mode = _read_mask(path, info)
        m = _binary(arr, mode == "P")
        layers.append((int(m.sum()), mapping.masks[token], m))
    class_map = np.zeros((info.height, info.width), np.int32)
    claimed = np.zeros((info.height, info.width), np.uint8)
    for _area, cid, m in sorted(layers, key=lambda t: (-t[0], -t[1])):  # smaller on top; ties: lower id
        class_map[m] = cid
        claimed += m
    warnings = []
    overlap = int((claimed > 1).sum())
    if overlap:
        warnings.append(f"{overlap} px claimed by several class masks; the smaller mask won")
    ann, more = from_class_map(class_map, things, opts.connectivity, opts.min_area, fill)
    source = ", ".join(str(p) for p in masks.values())
    return [ImportItem(photo, ann, tuple(warnings + more), info.width, info.height, source)]


def _binary_index(mask_files: list[Path], root: Path, tokens: set[str]) -> dict[str, dict[str, Path]]:
    """``{photo key: {token: mask}}`` for ``<token>/<key>`` and ``<key>_<token>`` names."""
    out: dict[str, dict[str, Path]] = defaultdict(dict)
    for p in mask_files:
        rel = p.relative_to(root)
        first = norm_key(rel.parts[0]) if len(rel.parts) > 1 else None
        key = _key(p, root)
        if first in tokens:
            out[norm_key(str(Path(*rel.parts[1:]).with_suffix("")))][first] = p
            continue
        for token in tokens:
            for sep in ("_", "-"):
                if key.endswith(sep + token):
                    out[key[: -len(token) - 1]][token] = p
    return out


def import_mask_folder(photos: str | Path, masks: str | Path, mapping: ClassMapping | None = None,
                       options: MaskFolderOptions = MaskFolderOptions(), progress: ProgressFn | None = None,
                       cancel: CancelFlag | None = None) -> ImportRun:
    """Import photos and their masks; iterate the returned run for per-photo results.

    Args:
        photos: folder of photos (searched recursively).
        masks: folder of masks, mirroring the photos' sub-folders or flat.
        mapping: pixel values / file tokens -> categories (default: ``ClassMapping.identity()``).
        options: see :class:`MaskFolderOptions`.
    Raises:
        DatasetError: a folder is missing, or photos and masks are the same folder.
    """
    photos, masks = Path(photos), Path(masks)
    for folder, what in ((photos, "photos"), (masks, "masks")):
        if not folder.is_dir():
            raise DatasetError(f"the {what} folder does not exist", folder)
    if photos.resolve() == masks.resolve():
        raise DatasetError("photos and masks must be in different folders", masks)
    mapping = mapping if mapping is not None else ClassMapping.identity()
    things = {c.id for c in mapping.categories.things}
    fill = fill_category_id(mapping.categories, options.fill)
    special: list[ImportResult] = []
    mask_files = list_images(masks, special)
    # A masks folder inside the photos folder (photos/masks/, the layout a drop detects) holds no
    # photos: its masks would otherwise be imported as photos of their own.
    mask_set = {p.resolve() for p in mask_files}
    photo_files = [p for p in list_images(photos, special) if p.resolve() not in mask_set]
    if not photo_files:
        raise DatasetError("no photos found", photos)
    mode = options.mode
    tokens = set(mapping.masks)
    by_token = _binary_index(mask_files, masks, tokens) if tokens and mode in ("auto", "binary") else {}
    if mode == "auto":
        mode = "binary" if by_token or not mapping.values else "index"
    jobs: list[Job] = []
    problems: list[ImportResult] = list(special)
    used: set[Path] = set()
    if mode == "binary":
        if not tokens:
            raise DatasetError("binary masks need a mapping of file tokens to classes ('masks')", masks)
        for photo in photo_files:
            found = by_token.get(_key(photo, photos)) or by_token.get(norm_key(photo.stem))
            if not found:
                problems.append(ImportProblem(str(photo), "no mask found for this photo",
                                              f"expected {masks}/<class>/{photo.stem}.png or {photo.stem}_<class>.png"))
                continue
            used.update(found.values())
            jobs.append(Job(photo, _import_binary, photo, dict(found), mapping, things, options, fill))
    else:
        by_key: dict[str, list[Path]] = defaultdict(list)
        by_stem: dict[str, list[Path]] = defaultdict(list)
        for m in mask_files:
            key = _strip_suffix(_key(m, masks))
            by_key[key].append(m)
            by_stem[key.rsplit("/", 1)[-1]].append(m)
        for photo in photo_files:
            key = _key(photo, photos)
            matches = by_key.get(key) or by_stem.get(norm_key(photo.stem), [])
            if not matches:
                problems.append(ImportProblem(str(photo), "no mask found for this photo",
                                              f"expected {masks}/{key}.png"))
                continue
            if len(matches) > 1:
                problems.append(ImportProblem(str(photo), "several masks match this photo: "
                                              + ", ".join(str(m) for m in matches)))
                used.update(matches)
                continue
            used.add(matches[0])
            jobs.append(Job(photo, _import_index, photo, matches[0], mapping, things, options, fill))
    for m in mask_files:
        if m not in used:
            problems.append(ImportProblem(str(m), "mask without a matching photo"))
    return ImportRun(mapping.categories, len(jobs), jobs, masks, progress, cancel, preamble=problems)
