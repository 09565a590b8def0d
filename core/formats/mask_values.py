"""Which pixel values a folder of class-index masks holds, before anything is imported.

A class mapping is only as good as the values it names: a value the mapping misses makes the
importer skip that mask, and a value mapped to the wrong class silently becomes it (a corrosion
value 5 read as the default set's ``background``). :func:`scan_mask_values` reads the masks the
way the importer does (``core.formats.mask_folder.read_label_image``: palette PNGs as their
indices, 8/16-bit gray as values) and counts every value, so the user maps what is really there.

Large folders are scanned on an evenly spaced sample of ``sample`` masks (a value found in none of
them is still caught by the importer, which reports the mask naming the value).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import AnnotationError, CancelledError, DatasetError, InspectorError
from core.formats.records import ImportProblem, ImportResult
from core.formats.paths import norm_key
from core.formats.mask_folder import _binary_index, list_images, read_label_image
from core.imageio import ImageInfo
from core.progress import CancelFlag, ProgressFn

#: Masks read at most; spread over the whole folder, so a class present only in its last part counts.
DEFAULT_SAMPLE = 60

#: Longest side of the preview mask kept (nearest-neighbour, so values stay values).
PREVIEW_SIDE = 512


@dataclass
class MaskValues:
    """Counts of the pixel values of the masks read.

    Attributes:
        pixels: value -> pixels holding it, over every mask read.
        masks_with: value -> how many of the masks read hold it.
        read: masks read (a sample when ``total`` is larger).
        total: masks in the folder.
        problems: masks that could not be read, with the reason.
        preview: ``[h, w]`` values of the first readable mask, downsampled to ``PREVIEW_SIDE``
            by nearest neighbour (None when no mask was readable); ``preview_path`` names it.
        tokens: class token -> photos with a mask named by it (``<token>/<stem>.png`` or
            ``<stem>_<token>.png``, the binary layout), for the tokens asked about.
    """

    pixels: dict[int, int] = field(default_factory=dict)
    masks_with: dict[int, int] = field(default_factory=dict)
    read: int = 0
    total: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    preview: np.ndarray | None = None
    preview_path: Path | None = None
    tokens: dict[str, int] = field(default_factory=dict)

    @property
    def total_pixels(self) -> int:
        return sum(self.pixels.values())

    def share(self, value: int) -> float:
        """Fraction (0..1) of the pixels read that hold ``value``."""
        total = self.total_pixels
        return self.pixels.get(value, 0) / total if total else 0.0

    @property
    def sampled(self) -> bool:
        return self.read + len(self.problems) < self.total


def sample_evenly(items: list, n: int) -> list:
    """At most ``n`` of ``items``, evenly spaced from first to last (all of them when fewer)."""
    if n <= 0 or len(items) <= n:
        return list(items)
    picks = np.unique(np.linspace(0, len(items) - 1, n).round().astype(int))
    return [items[int(i)] for i in picks]


def _mask_header(path: Path) -> ImageInfo:
    """The mask's own size, from its header: masks are scanned without their photos, so the size
    check of the importer (mask vs photo) is the identity here and the importer still makes it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return ImageInfo(img.width, img.height, 1)
    except UnidentifiedImageError as e:
        raise AnnotationError("the mask is not an image file", path) from e
    except OSError as e:
        raise AnnotationError(f"cannot read the mask: {e}", path) from e


def _preview(values: np.ndarray) -> np.ndarray:
    h, w = values.shape
    step = max(1, int(np.ceil(max(h, w) / PREVIEW_SIDE)))
    return np.ascontiguousarray(values[::step, ::step])


def scan_mask_values(masks: str | Path, sample: int = DEFAULT_SAMPLE, progress: ProgressFn | None = None,
                     cancel: CancelFlag | None = None, tokens: Iterable[str] = ()) -> MaskValues:
    """Count the pixel values of the class-index masks under ``masks`` (recursively).

    Args:
        masks: the masks folder, as given to ``import_mask_folder``.
        sample: read at most this many masks, evenly spread over the sorted list.
        tokens: class names to look for in the file names, as the importer's binary layout
            matches them (all files, not the sample: names cost nothing to read).
    Raises:
        DatasetError: the folder is missing or holds no image file.
        CancelledError: ``cancel`` was set (between masks).
    """
    masks = Path(masks)
    if not masks.is_dir():
        raise DatasetError("the masks folder does not exist", masks)
    out = MaskValues()
    special: list[ImportResult] = []  # FIFOs, sockets, link loops: reported, never opened
    files = list_images(masks, special)
    out.problems += [p for p in special if isinstance(p, ImportProblem)]
    out.total = len(files)
    if not files:
        raise DatasetError("no mask images found", masks, hint="masks are PNG (or TIFF) files named like the photos")
    if tokens:
        by_photo = _binary_index(files, masks, {norm_key(t) for t in tokens})
        for found in by_photo.values():
            for token in found:
                out.tokens[token] = out.tokens.get(token, 0) + 1
    chosen = sample_evenly(files, sample)
    for i, path in enumerate(chosen):
        if cancel is not None and cancel.is_set():
            raise CancelledError("scan of the masks cancelled", masks)
        try:
            values = read_label_image(path, _mask_header(path))
        except InspectorError as e:
            out.problems.append(ImportProblem.from_error(e, path))
            continue
        counts = np.bincount(values.ravel()) if values.size else np.zeros(0, np.int64)
        for v in np.flatnonzero(counts).tolist():
            out.pixels[v] = out.pixels.get(v, 0) + int(counts[v])
            out.masks_with[v] = out.masks_with.get(v, 0) + 1
        out.read += 1
        if out.preview is None:
            out.preview, out.preview_path = _preview(values), path
        if progress is not None:
            progress(i + 1, len(chosen), path.name)
    return out
