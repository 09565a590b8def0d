"""What a user sees of a panoptic result, for comparing two results that need not be identical
(e.g. float32 against rounded or lower-precision logits): the category of each pixel, and the
large segments with PQ's own match rule."""
from __future__ import annotations

import numpy as np


def category_map(result) -> np.ndarray:
    """``[H, W]`` category id of every pixel of a ``PanopticAnnotation`` (0 where unlabelled)."""
    lut = np.zeros(max([int(result.id_map.max()), *result.segments]) + 1, np.int64)
    for seg_id, seg in result.segments.items():
        lut[seg_id] = seg.category_id
    return lut[result.id_map]


def large_segments(result, share: float = 0.01) -> list[tuple[int, np.ndarray]]:
    """[(category id, bool mask [H, W])] of the segments over ``share`` of the photo."""
    area = np.bincount(result.id_map.ravel(), minlength=max(result.segments, default=0) + 1)
    return [(s.category_id, result.id_map == i) for i, s in result.segments.items()
            if area[i] > share * result.id_map.size]


def found_in(segments, others) -> bool:
    """Every (category, mask) of ``segments`` has one of ``others`` of its category at IoU > 0.5."""
    def iou(a, b):
        return (a & b).sum() / max((a | b).sum(), 1)
    return all(any(c == oc and iou(m, om) > 0.5 for oc, om in others) for c, m in segments)
