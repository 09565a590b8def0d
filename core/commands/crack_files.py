"""Crack widths of photos whose crack masks come from any tool (``main.py measure``).

It pairs and reads files (core.formats) and measures (core.measure), two packages of one layer
that never import each other, so it lives with the commands.

A mask is a PNG (or any lossless image) at the photo's upright size: binary (non-zero = crack),
or a class-index mask with the crack's value given (``class_value``). Each 8-connected piece of
crack is one row (``photo_cracks.measure_photo_cracks``). A folder of photos pairs with a folder
of masks by file stem (``IMG_1.jpg`` with ``IMG_1.png`` or ``IMG_1_mask.png``, sub-folders
mirrored).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import AnnotationError
from core.measure.photo_cracks import CrackRow, measure_photo_cracks

if TYPE_CHECKING:
    from core.imageio import ImageInfo
    from core.progress import ProgressFn

#: Format version of ``to_json`` documents.
JSON_VERSION = 1


@dataclass(frozen=True)
class PhotoCracks:
    """The cracks of one photo: ``photo`` / ``mask`` paths, ``size`` ``(width, height)``, rows."""

    photo: Path
    mask: Path
    size: tuple[int, int]
    rows: list[CrackRow]


@dataclass
class MeasureRun:
    """Everything one ``measure`` run found: measured photos and per-item problems."""

    photos: list[PhotoCracks] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def to_json(self, mm_per_px: float | None, class_value: int | None) -> dict:
        """Plain-JSON document: one entry per photo, one row per crack (``CrackRow.to_dict``)."""
        return {"version": JSON_VERSION, "mm_per_px": mm_per_px, "class_value": class_value,
                "width_method": "profile: dip area over the crack interior's contrast; see README",
                "photos": [{"photo": str(p.photo), "mask": str(p.mask), "width": p.size[0], "height": p.size[1],
                            "cracks": [r.to_dict(mm_per_px) for r in p.rows]} for p in self.photos],
                "problems": [{"path": path, "reason": reason} for path, reason in self.problems]}


def crack_mask(path: Path, photo_info: ImageInfo, class_value: int | None) -> np.ndarray:
    """``[H, W]`` bool crack pixels of the mask at ``path`` (checked against the photo's size).

    Raises:
        AnnotationError: unreadable mask, size mismatch, or no crack pixel in it.
    """
    from core.formats.mask_folder import read_label_image

    labels = read_label_image(path, photo_info)
    mask = labels != 0 if class_value is None else labels == class_value
    if not mask.any():
        if class_value is None:
            raise AnnotationError("the mask marks no crack (every pixel is 0)", path)
        present = np.unique(labels)[:12].tolist()
        raise AnnotationError(f"no pixel has the crack's value {class_value}", path,
                              hint=f"values in the mask: {present}")
    return mask


def measure_pair(photo: Path, mask: Path, class_value: int | None = None) -> PhotoCracks:
    """Measure one photo with its mask.

    Raises:
        BadImageError: the photo cannot be read; AnnotationError: the mask (see ``crack_mask``).
    """
    from core.imageio import load_image, verify_image

    info = verify_image(photo)
    m = crack_mask(mask, info, class_value)
    image = load_image(photo)
    if image.shape[:2] != m.shape:  # verify_image and load_image agree; kept as a guard
        raise AnnotationError(f"mask is {m.shape[1]}x{m.shape[0]} but the photo is {image.shape[1]}x"
                              f"{image.shape[0]}", mask)
    return PhotoCracks(photo, mask, (image.shape[1], image.shape[0]), measure_photo_cracks(image, m))


def pair_folders(photos: Path, masks: Path) -> tuple[list[tuple[Path, Path]], list[tuple[str, str]]]:
    """Pair photos under ``photos`` with masks under ``masks`` by relative path and stem.

    Returns:
        ``(pairs, problems)``: photo/mask pairs in name order, and photos without a mask.
    """
    from core.formats.paths import norm_key
    from core.formats.mask_folder import MASK_SUFFIXES, list_images

    def key(p: Path, root: Path) -> str:
        return norm_key(str(p.relative_to(root).with_suffix(""))).lower()

    by_key: dict[str, Path] = {}
    for m in list_images(masks):
        k = key(m, masks)
        for suffix in MASK_SUFFIXES:
            if k.endswith(suffix) and len(k) > len(suffix):
                k = k[: -len(suffix)]
                break
        by_key.setdefault(k, m)
    pairs: list[tuple[Path, Path]] = []
    problems: list[tuple[str, str]] = []
    same = photos.resolve() == masks.resolve()
    for p in list_images(photos):
        found = by_key.get(key(p, photos))
        if same and found is not None and found == p:
            continue  # the masks themselves, when photos and masks share a folder
        if found is None:
            if not same:
                problems.append((str(p), "no mask with this photo's name"))
            continue
        pairs.append((p, found))
    return pairs, problems


def measure_paths(photo: Path, mask: Path, class_value: int | None = None,
                  progress: ProgressFn | None = None) -> MeasureRun:
    """Measure one photo (``photo`` and ``mask`` files) or every pair of two folders.

    A single photo's problem is raised; in a folder each one is recorded and the rest measured.

    Raises:
        AnnotationError / BadImageError: single photo; FileNotFoundError-like ``AnnotationError``
        when a path is missing or a folder is paired with a file.
    """
    from core.errors import InspectorError

    run = MeasureRun()
    if not photo.exists():
        raise AnnotationError("no such photo or folder", photo)
    if not mask.exists():
        raise AnnotationError("no such mask or folder", mask)
    if photo.is_dir() != mask.is_dir():
        raise AnnotationError("give a photo with a mask file, or a folder of photos with a folder of masks",
                              mask)
    if not photo.is_dir():
        run.photos.append(measure_pair(photo, mask, class_value))
        return run
    pairs, run.problems = pair_folders(photo, mask)
    if not pairs:
        raise AnnotationError("no photo in this folder has a mask", photo,
                              hint=f"masks are paired by file name; looked in {mask}")
    for i, (p, m) in enumerate(pairs):
        if progress is not None:
            progress(i, len(pairs), p.name)
        try:
            run.photos.append(measure_pair(p, m, class_value))
        except InspectorError as e:
            run.problems.append((e.path or str(p), e.reason + (f" ({e.hint})" if e.hint else "")))
    return run
