"""Checks shared by the importers: JSON files, annotation sizes, COCO image entries and ids, category
references.

Each returns quietly or says why (a reason string, or a typed error with a hint), so that the
importer can turn a bad item into an ``ImportProblem`` and go on with the batch.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from core.categories import CategorySet
from core.errors import AnnotationError, CategoryError, DatasetError
from core.formats.records import ImportProblem
from core.imageio import ImageInfo
from core.safety import read_regular_file


def read_json_object(path: Path, what: str) -> dict:
    """The JSON object in ``path`` (a COCO file, a labelme file: ``what`` names it in errors).

    Raises ``DatasetError`` when the file cannot be read or parsed, is not a JSON object, or is a
    special file (a FIFO named ``.json`` would block the import forever).
    """
    try:
        data = json.loads(read_regular_file(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"cannot read the {what}: {e}", path) from e
    if not isinstance(data, dict):
        raise DatasetError(f"a {what} must be a JSON object", path)
    return data


def coco_image_table(entries: list, json_path: Path, required: tuple[str, ...],
                     sizes: bool) -> tuple[dict[object, dict], set, list[ImportProblem]]:
    """``({image id: images entry}, ids listed twice, problems)`` from a COCO file's ``images`` list.

    An entry missing a ``required`` key or failing ``bad_image_entry`` (with ``sizes``) is a
    problem and skipped; an id listed twice drops all its entries, since what refers to it cannot
    be attributed to one photo (and the importer passes over what refers to it without another problem).
    """
    problems: list[ImportProblem] = []
    images: dict[object, dict] = {}
    dup: set = set()
    for k, img in enumerate(entries):
        missing = [key for key in required if not isinstance(img, dict) or key not in img]
        if missing:
            problems.append(ImportProblem(str(json_path), f"images[{k}] is missing the key {missing[0]!r}"))
            continue
        bad = bad_image_entry(img, sizes=sizes)
        if bad:
            problems.append(ImportProblem(str(json_path), f"images[{k}]: {bad}; skipped"))
            continue
        if img["id"] in images:
            dup.add(img["id"])
        images.setdefault(img["id"], img)
    for image_id in sorted(dup, key=str):
        problems.append(ImportProblem(str(json_path), f"image id {image_id} appears more than once in images; "
                                      "what refers to it cannot be attributed, all its entries are skipped"))
        del images[image_id]
    return images, dup, problems


def check_size(found_hw: tuple[int, int], photo: ImageInfo, path: str | Path, what: str = "mask") -> None:
    """Refuse an annotation whose size differs from the photo's upright size; never resize.

    Raises ``AnnotationError`` with a hint; when width and height are swapped and the photo carries
    an EXIF rotation, the hint says the annotation was probably made on the unrotated pixels.
    """
    h, w = int(found_hw[0]), int(found_hw[1])
    if (h, w) == (photo.height, photo.width):
        return
    reason = f"{what} is {w}x{h} but the photo is {photo.width}x{photo.height} (upright)"
    if (h, w) == (photo.width, photo.height):
        if photo.orientation in (5, 6, 7, 8):
            hint = (f"width and height are swapped: the photo has EXIF orientation {photo.orientation}, so the "
                    f"{what} was probably made on the unrotated pixels; rotate the {what} to the upright photo")
        else:
            hint = f"width and height are swapped: was the photo or the {what} rotated?"
    else:
        hint = f"{what}s are never resized; make the {what} at the photo's size"
    raise AnnotationError(reason, path, hint=hint)


def is_coco_id(value: object) -> bool:
    """COCO ids are integers (some tools write strings); anything else (a list, a float, a bool)
    cannot be matched and is refused where it is read."""
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


def bad_image_entry(img: dict, sizes: bool = True) -> str | None:
    """Why a COCO ``images`` entry is unusable (its id, file name, or, with ``sizes``, a width or
    height that is not a positive whole number), or None. Optional sizes are checked when present."""
    if not is_coco_id(img["id"]):
        return f"id is {img['id']!r}, not an integer id"
    for key in ("width", "height"):
        if key not in img and not sizes:
            continue
        v = img[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v != int(v) or v <= 0:
            return f"{key} is {v!r}, not a positive whole number"
    if not isinstance(img["file_name"], str) or not img["file_name"]:
        return f"file_name is {img['file_name']!r}, not a file name"
    return None


def resolve_category(categories: CategorySet, ref: str | int | None, what: str = "category") -> int | None:
    """Category id from an id or a name (``None`` passes through)."""
    if ref is None:
        return None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        cid = int(ref)
        if cid in categories:
            return cid
    for c in categories:
        if c.name == ref:
            return c.id
    raise CategoryError(f"unknown {what} {ref!r}; known: {[c.name for c in categories]}")


def fill_category_id(categories: CategorySet, ref: str | int | None) -> int | None:
    """The stuff category that unlabelled pixels become, checked to be stuff."""
    cid = resolve_category(categories, ref, "fill class")
    if cid is not None and categories.by_id(cid).isthing:
        raise CategoryError(f"the fill class {categories.by_id(cid).name!r} is a thing class",
                              hint="unlabelled pixels can only become a stuff class (e.g. concrete)")
    return cid
