"""COCO segmentations (polygons, uncompressed and compressed RLE) to masks, checked first.

pycocotools decodes without bounds checks: an RLE whose counts do not sum to ``H * W`` yields
uninitialised memory (or worse). So run lengths are parsed and checked here and decoded with numpy;
pycocotools only rasterises polygons and encodes masks. Errors are ``AnnotationError`` for that
annotation only.
"""
from __future__ import annotations

import numpy as np

from core.errors import AnnotationError


def rle_string_counts(counts: bytes | str) -> list[int]:
    """The run lengths of a compressed RLE string (pycocotools' ``rleFrString``, in Python).

    Raises ``ValueError`` on characters outside the encoding or a truncated string.
    """
    s = counts.encode("ascii") if isinstance(counts, str) else bytes(counts)
    out: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            if p >= len(s):
                raise ValueError("truncated RLE string")
            c = s[p] - 48
            if not 0 <= c < 64:
                raise ValueError(f"character {chr(s[p])!r} is not part of the RLE encoding")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(out) > 2:
            x += out[-2]
        out.append(x)
    return out


def counts_to_mask(counts: list[int], h: int, w: int) -> np.ndarray:
    """``[h, w]`` bool mask of validated run lengths (column-major, starting with a 0-run).

    Done in numpy rather than ``pycocotools.mask.decode``, which warns under numpy 2.
    """
    values = np.arange(len(counts)) % 2 == 1
    return np.repeat(values, np.asarray(counts, dtype=np.int64)).reshape(w, h).T


def _check_counts(counts: list[int], h: int, w: int) -> None:
    if any(c < 0 for c in counts):
        raise AnnotationError("RLE has negative run lengths")
    total = sum(counts)
    if total != h * w:
        raise AnnotationError(f"RLE counts sum to {total} but the image has {h} x {w} = {h * w} pixels")


def segmentation_to_mask(segm: object, h: int, w: int) -> np.ndarray:
    """``[h, w]`` bool mask of a COCO ``segmentation`` (polygon list, or RLE dict).

    Polygons need an even number of coordinates and at least 3 points each; RLE ``size`` must be
    ``[h, w]`` and its counts must sum to ``h * w``. Raises ``AnnotationError`` otherwise.
    """
    from pycocotools import mask as mask_utils

    if isinstance(segm, list):
        if not segm:
            raise AnnotationError("empty segmentation (a box alone cannot become a mask)")
        polys = [segm] if all(isinstance(v, (int, float)) for v in segm) else segm
        for k, poly in enumerate(polys):
            if not isinstance(poly, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                     for v in poly):
                raise AnnotationError(f"polygon {k} is not a list of numbers")
            if len(poly) % 2:
                raise AnnotationError(f"polygon {k} has an odd number of coordinates ({len(poly)})")
            if len(poly) < 6:
                raise AnnotationError(f"polygon {k} has {len(poly) // 2} point(s); at least 3 are needed")
            if not np.all(np.isfinite(poly)):
                raise AnnotationError(f"polygon {k} has coordinates that are not finite numbers")
        rles = mask_utils.frPyObjects([[float(v) for v in p] for p in polys], h, w)
        return counts_to_mask(rle_string_counts(mask_utils.merge(rles)["counts"]), h, w)
    if isinstance(segm, dict):
        if "counts" not in segm or "size" not in segm:
            raise AnnotationError(f"RLE is missing the key {'counts' if 'counts' not in segm else 'size'!r}")
        size = segm["size"]
        try:
            ok = isinstance(size, (list, tuple)) and len(size) == 2 and [int(size[0]), int(size[1])] == [h, w]
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise AnnotationError(f"RLE size {size!r} differs from the image's [height, width] [{h}, {w}]")
        counts = segm["counts"]
        if isinstance(counts, list):
            if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
                raise AnnotationError("uncompressed RLE counts must be integers")
        elif isinstance(counts, (str, bytes)):
            try:
                counts = rle_string_counts(counts)
            except ValueError as e:
                raise AnnotationError(f"compressed RLE is malformed: {e}") from e
        else:
            raise AnnotationError(f"RLE counts must be a list or a string, got {type(counts).__name__}")
        _check_counts(counts, h, w)
        return counts_to_mask(counts, h, w)
    raise AnnotationError(f"segmentation must be a polygon list or an RLE object, got {type(segm).__name__}")


def mask_to_rle(mask: np.ndarray) -> dict:
    """Compressed RLE of an ``[H, W]`` bool mask, JSON-ready (``counts`` as str)."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}
