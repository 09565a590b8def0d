"""labelme JSON (one file per photo) to panoptic annotations.

* Shapes: ``polygon`` (>= 3 points), ``rectangle`` (two corners), ``circle`` (centre and a point on
  the rim) and ``mask`` (labelme 5: a PNG over a box) are rasterised as labelme itself does
  (PIL ``ImageDraw`` with outline and fill). ``line``, ``linestrip`` and ``point`` have no area and
  are skipped with a warning.
* Shapes with the same label and ``group_id`` form one instance; without ``group_id`` each shape is
  its own instance (labelme2coco's rule). Overlaps: a later shape is on top, as labelme draws them.
* Labels map to categories by name; labels the set lacks are added as thing classes (or reported,
  with ``add_unknown=False``). ``_background_`` and ``__ignore__`` shapes stay unlabelled.
* The photo is ``imagePath`` (backslashes accepted) beside the JSON, else the file of that name
  beside the JSON. ``imageData`` may be null; when it is broken the photo file is used with a
  warning. ``imageHeight`` / ``imageWidth`` must match the photo's upright size (EXIF hint if swapped).
"""
from __future__ import annotations

import base64
import binascii
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from core.categories import CategorySet, default_categories
from core.errors import AnnotationError, BadImageError, DatasetError
from core.formats.build import LATER_ON_TOP, Instance, from_instances
from core.formats.records import ImportItem, ImportProblem, ImportResult
from core.formats.import_run import ImportRun, Job
from core.formats.checks import check_size, fill_category_id, read_json_object
from core.formats.paths import norm_key
from core.progress import CancelFlag, ProgressFn
from core.imageio import image_info_from_bytes, verify_image

#: labelme's conventional labels for "no class".
UNLABELLED = ("_background_", "__ignore__")
AREALESS = ("line", "linestrip", "point", "points")


def _read_json(path: Path) -> dict:
    data = read_json_object(path, "labelme file")
    if not isinstance(data.get("shapes"), list):
        raise DatasetError("the labelme file is missing the key 'shapes' (or it is not a list)", path)
    return data


def _points(shape: dict, n_min: int, n_max: int | None = None) -> list[tuple[float, float]]:
    pts: Any = shape.get("points")  # JSON of any shape: the loop below checks it
    try:
        out = [(float(p[0]), float(p[1])) for p in pts]
    except (TypeError, ValueError, IndexError, KeyError) as e:
        raise AnnotationError("points must be a list of [x, y] pairs") from e
    if len(out) < n_min or (n_max is not None and len(out) > n_max):
        want = f"{n_min}" if n_max == n_min else f"at least {n_min}"
        raise AnnotationError(f"{shape.get('shape_type') or 'polygon'} has {len(out)} point(s); {want} needed")
    if not all(math.isfinite(v) for p in out for v in p):
        raise AnnotationError("points must be finite numbers")
    return out


def shape_to_mask(shape: dict, h: int, w: int) -> np.ndarray | None:
    """``[h, w]`` bool mask of one labelme shape; None for shapes without area."""
    from PIL import Image, ImageDraw

    kind = shape.get("shape_type") or "polygon"
    if kind in AREALESS:
        return None
    img = Image.new("1", (w, h), 0)
    draw = ImageDraw.Draw(img)
    if kind == "polygon":
        draw.polygon(_points(shape, 3), outline=1, fill=1)
    elif kind == "rectangle":
        (x1, y1), (x2, y2) = _points(shape, 2, 2)
        draw.rectangle([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)], outline=1, fill=1)
    elif kind == "circle":
        (cx, cy), (px, py) = _points(shape, 2, 2)
        r = math.hypot(cx - px, cy - py)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
    elif kind == "mask":
        (x1, y1), _ = _points(shape, 2, 2)
        try:
            data = base64.b64decode(shape["mask"])
            info = image_info_from_bytes(data, "the mask shape's PNG")  # size from the header first
            if info.width > w or info.height > h:
                raise AnnotationError(f"the mask shape's PNG is {info.width}x{info.height}, larger than the "
                                      f"photo ({w}x{h})")
            small = np.asarray(Image.open(io.BytesIO(data)).convert("L")) > 0
        except BadImageError as e:
            raise AnnotationError(f"mask shape has no readable 'mask' PNG: {e.reason}") from e
        except (KeyError, TypeError, ValueError, OSError, binascii.Error) as e:
            raise AnnotationError("mask shape has no readable 'mask' PNG") from e
        out = np.zeros((h, w), bool)
        x0, y0 = int(round(x1)), int(round(y1))
        ys, xs = slice(max(y0, 0), min(y0 + small.shape[0], h)), slice(max(x0, 0), min(x0 + small.shape[1], w))
        out[ys, xs] = small[ys.start - y0: ys.stop - y0, xs.start - x0: xs.stop - x0]
        return out
    else:
        raise AnnotationError(f"unknown shape_type {kind!r}")
    return np.asarray(img, dtype=bool)


def _find_photo(json_path: Path, data: dict) -> Path:
    ref = data.get("imagePath")
    candidates = []
    if isinstance(ref, str) and ref:
        rel = norm_key(ref)
        candidates += [json_path.parent / rel, json_path.parent / Path(rel).name]
    for suffix in (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG", ".tif", ".bmp"):
        candidates.append(json_path.with_suffix(suffix))
    for c in candidates:
        if c.is_file():
            return c
    has_data = isinstance(data.get("imageData"), str) and bool(data["imageData"])
    raise AnnotationError(f"photo {ref!r} not found beside the labelme file", json_path,
                          hint=("the file embeds imageData, but the importer needs the photo file itself; "
                                "save the photo beside the JSON") if has_data else "put the photo beside the JSON")


def _check_image_data(data: dict) -> str | None:
    """A warning when ``imageData`` is present but cannot be decoded (the photo file is used)."""
    blob = data.get("imageData")
    if blob is None:
        return None
    try:
        # the header only, size-checked like every image (a decompression bomb is refused here,
        # and the photo beside the file is still used)
        image_info_from_bytes(base64.b64decode(blob, validate=False), "imageData")
    except BadImageError as e:
        return f"imageData is unusable ({e.reason}); the photo file was used"
    except (TypeError, ValueError, OSError, binascii.Error):
        return "imageData is broken; the photo file was used"
    return None


def _import_file(json_path: Path, categories: CategorySet, fill: int | None) -> list[ImportResult]:
    data = _read_json(json_path)
    photo = _find_photo(json_path, data)
    info = verify_image(photo)  # the whole file: a truncated photo is reported, not imported
    if "imageHeight" in data and "imageWidth" in data:
        check_size((int(data["imageHeight"]), int(data["imageWidth"])), info, json_path, "labelme canvas")
    warnings = [w for w in (_check_image_data(data),) if w]
    names = {c.name: c.id for c in categories}
    things = {c.id for c in categories.things}
    results: list[ImportResult] = []
    instances = []
    for k, shape in enumerate(data["shapes"]):
        label = shape.get("label") if isinstance(shape, dict) else None
        where = f"shape {k} ({label!r})"
        if not isinstance(label, str) or not label.strip():
            results.append(ImportProblem(str(json_path), f"shape {k} has no label"))
            continue
        if label in UNLABELLED:
            continue
        if label not in names:
            results.append(ImportProblem(str(json_path), f"{where}: unknown label; known: {sorted(names)}"))
            continue
        try:
            mask = shape_to_mask(shape, info.height, info.width)
        except AnnotationError as e:
            results.append(ImportProblem(str(json_path), f"{where}: {e.reason}"))
            continue
        if mask is None:
            warnings.append(f"{where} is a {shape.get('shape_type')} without area; skipped")
            continue
        group = shape.get("group_id")
        instances.append(Instance.of(mask, names[label], False, where, group))
    ann, more = from_instances((info.height, info.width), instances, things, LATER_ON_TOP, fill)
    results.append(ImportItem(photo, ann, tuple(warnings + more), info.width, info.height, str(json_path)))
    return results


def list_labelme_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise DatasetError("no such file or folder", source)
    files = [p for p in source.rglob("*.json")
             if not any(part.startswith(".") for part in p.relative_to(source).parts)]
    return sorted(files, key=lambda p: norm_key(str(p.relative_to(source))))


def import_labelme(source: str | Path, *, categories: CategorySet | None = None, add_unknown: bool = True,
                   fill: str | int | None = None, progress: ProgressFn | None = None,
                   cancel: CancelFlag | None = None) -> ImportRun:
    """Import labelme files (one file, or a folder searched recursively).

    Args:
        categories: the classes labels map to by name (default: the concrete-defect set).
        add_unknown: add labels the set lacks as thing classes (else report their shapes).
        fill: stuff class (name or id) for unlabelled pixels (None: void).
    """
    source = Path(source)
    files = list_labelme_files(source)
    if not files:
        raise DatasetError("no labelme .json files found", source)
    categories = categories if categories is not None else default_categories()
    problems: list[ImportResult] = []
    readable = []
    labels: set[str] = set()
    for f in files:  # a first pass collects the labels, so the category set is known up front
        try:
            data = _read_json(f)
        except DatasetError as e:
            problems.append(ImportProblem.from_error(e, f))
            continue
        readable.append(f)
        labels.update(s["label"] for s in data["shapes"]
                      if isinstance(s, dict) and isinstance(s.get("label"), str) and s["label"].strip())
    if add_unknown:
        known = {c.name for c in categories}
        for label in sorted(labels - known - set(UNLABELLED)):
            categories = categories.added(label, isthing=True)
    fill_id = fill_category_id(categories, fill)
    jobs = [Job(f, _import_file, f, categories, fill_id) for f in readable]
    return ImportRun(categories, len(jobs), jobs, source, progress, cancel, preamble=problems)
