"""Every crack of one photo: connected pieces of a crack mask, each measured along its length.

One row per 8-connected piece: its centreline length (``cracks.measure_linear``) and its width
read from the photo (``profile_width.measure_crack_width``). Cracks of one photo share lighting and
usually the darkness of their interiors, so a crack too thin everywhere to show its interior's
contrast borrows the contrast read on the photo's wider cracks (``photo_contrast``).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from core.measure.cracks import measure_linear
from core.measure.profile_width import CrackWidth, measure_crack_width, photo_contrast
from core.progress import CancelFlag


@dataclass(frozen=True)
class CrackRow:
    """One crack of a photo.

    Attributes:
        index: 1-based number in reading order (top to bottom, then left to right).
        bbox_px: ``(x, y, w, h)``; area_px: mask pixels; length_px: centreline length.
        width: the width figures (px) read from the photo.
    """

    index: int
    bbox_px: tuple[int, int, int, int]
    area_px: int
    length_px: float
    width: CrackWidth

    def to_dict(self, mm_per_px: float | None = None) -> dict:
        """Plain-JSON row; ``*_mm`` keys are None when ``mm_per_px`` is None."""
        w = self.width

        def mm(v: float) -> float | None:
            return None if mm_per_px is None else float(v * mm_per_px)

        return {"index": self.index, "bbox_px": list(self.bbox_px), "area_px": self.area_px,
                "length_px": self.length_px, "length_mm": mm(self.length_px),
                "mean_width_px": w.mean, "mean_width_mm": mm(w.mean),
                "median_width_px": w.median, "median_width_mm": mm(w.median),
                "max_width_px": w.max, "max_width_mm": mm(w.max), "max_width_xy": list(w.max_xy),
                "width_iqr_px": w.iqr, "width_iqr_mm": mm(w.iqr), "width_std_px": w.std,
                "width_std_mm": mm(w.std), "method": w.method,
                "width_range_px": None if w.width_range is None else list(w.width_range),
                "width_range_mm": None if w.width_range is None or mm_per_px is None
                else [v * mm_per_px for v in w.width_range], "profile_fraction": w.profile_fraction,
                "contrast": w.contrast, "mask_mean_width_px": w.mask_mean,
                "mask_mean_width_mm": mm(w.mask_mean)}


class WidthCache:
    """Widths already read, by the content of a crack's crop and mask (and the reference
    contrast): re-measuring a photo after an edit reads again only the cracks that changed.
    Thread-safe; keeps the ``size`` most recently used."""

    def __init__(self, size: int = 512):
        self.size = size
        self._items: OrderedDict[bytes, CrackWidth] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(image: np.ndarray, mask: np.ndarray, ref: float | None) -> bytes:
        h = hashlib.blake2b(digest_size=20)
        for a in (np.ascontiguousarray(image), np.ascontiguousarray(mask)):
            h.update(f"{a.shape}{a.dtype}".encode())
            h.update(a.data)
        h.update(repr(ref).encode())
        return h.digest()

    def width(self, image: np.ndarray, mask: np.ndarray, ref: float | None = None) -> CrackWidth:
        k = self.key(image, mask, ref)
        with self._lock:
            hit = self._items.get(k)
            if hit is not None:
                self._items.move_to_end(k)
                return hit
        w = measure_crack_width(image, mask, reference_contrast=ref)
        with self._lock:
            self._items[k] = w
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return w


def widths_with_reference(items: Sequence[tuple[np.ndarray, np.ndarray]], cancel: CancelFlag | None = None,
                          cache: WidthCache | None = None) -> list[CrackWidth]:
    """Widths of a photo's cracks, each ``(image, mask)`` (crops of one photo, or the whole
    photo with one crack's mask); cracks that cannot show their interior's contrast borrow the
    contrast read on the others (see the module docstring).

    Args:
        cancel: checked between cracks (raises ``CancelledError`` when set).
        cache: widths read before, for crops (hashing whole photos would cost more than it saves).
    """
    from core.errors import CancelledError

    def check() -> None:
        if cancel is not None and cancel.is_set():
            raise CancelledError("measuring cancelled")

    def measure(image: np.ndarray, mask: np.ndarray, ref: float | None = None) -> CrackWidth:
        if cache is not None:
            return cache.width(image, mask, ref)
        return measure_crack_width(image, mask, reference_contrast=ref)

    widths = []
    for image, mask in items:
        check()
        widths.append(measure(image, mask))
    ref = photo_contrast(widths)
    if ref is None:
        return widths
    out = []
    for w, (image, mask) in zip(widths, items):
        check()
        out.append(w if w.contrast_identified or w.profile_fraction == 0.0 else measure(image, mask, ref))
    return out


def measure_photo_cracks(image: np.ndarray, mask: np.ndarray, *, min_area: int = 3) -> list[CrackRow]:
    """Measure each 8-connected piece of ``mask`` on ``image``.

    Args:
        image: ``[H, W]`` grey or ``[H, W, 3]`` RGB photo; mask: ``[H, W]`` bool crack mask.
        min_area: pieces with fewer pixels are specks, not cracks, and are skipped.
    Returns:
        Rows in reading order (empty when the mask holds no piece of ``min_area`` px).
    Raises:
        ValueError: the image and the mask differ in size.
    """
    mask = np.asarray(mask, bool)
    if np.asarray(image).shape[:2] != mask.shape:
        raise ValueError(f"photo is {image.shape[1]} x {image.shape[0]} px, mask is {mask.shape[1]} x "
                         f"{mask.shape[0]} px")
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3), int))
    pieces = []
    for k, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        area = int(np.count_nonzero(labels[sl] == k))
        if area >= min_area:
            pieces.append((sl[0].start, sl[1].start, k, sl, area))
    pieces.sort()
    widths = widths_with_reference([(image, labels == k) for _, _, k, _, _ in pieces])
    rows = []
    for i, ((y, x, k, sl, area), w) in enumerate(zip(pieces, widths), start=1):
        figs = measure_linear(labels[sl] == k)
        rows.append(CrackRow(i, (int(x), int(y), int(sl[1].stop - x), int(sl[0].stop - y)), area,
                             float(figs.length), w))
    return rows
