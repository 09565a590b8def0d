"""Keep a photo's existing (manual) annotation and let the model fill only its unlabeled pixels."""
from __future__ import annotations

import numpy as np

from core.categories import CategorySet
from core.errors import AnnotationError
from core.panoptic import VOID, PanopticAnnotation, Segment


def fill_unlabeled(manual: PanopticAnnotation, predicted: PanopticAnnotation,
                   categories: CategorySet | None = None) -> PanopticAnnotation:
    """``manual`` with its void pixels taken from ``predicted``.

    Manual pixels and segments are never changed. Each predicted thing that keeps any pixel
    becomes a new segment (ids after the manual ones, ``source="model"``, its score); predicted
    stuff joins the manual segment of the same stuff category when there is one (stuff is one
    segment per class and image), else becomes a new segment.

    Args:
        manual, predicted: annotations of the same ``[H, W]`` frame.
        categories: thing/stuff flags (a category unknown to it counts as a thing).
    Raises:
        AnnotationError: the two differ in size.
    """
    if manual.shape != predicted.shape:
        raise AnnotationError(f"the prediction is {predicted.shape[1]}x{predicted.shape[0]} but the annotation "
                              f"is {manual.shape[1]}x{manual.shape[0]}")
    void = manual.id_map == VOID
    if not predicted.segments or not void.any():
        return manual.copy()
    is_thing = {c.id: c.isthing for c in categories} if categories is not None else {}
    manual_stuff: dict[int, int] = {}
    for seg in sorted(manual.segments.values(), key=lambda s: s.id):
        if not is_thing.get(seg.category_id, True):
            manual_stuff.setdefault(seg.category_id, seg.id)
    pred_ids = np.array(sorted(predicted.segments), np.int64)
    new_ids = np.zeros(len(pred_ids), np.int64)
    next_id = manual.next_segment_id()
    fresh: dict[int, Segment] = {}
    for i, pid in enumerate(pred_ids):
        seg = predicted.segments[int(pid)]
        target = manual_stuff.get(seg.category_id) if not is_thing.get(seg.category_id, True) else None
        if target is None:
            target = next_id
            next_id += 1
            fresh[target] = Segment(target, seg.category_id, seg.iscrowd, seg.source, seg.score)
        new_ids[i] = target
    # Predicted id -> new id, through a lookup on their position among the predicted ids.
    filled = predicted.id_map[void]
    pos = np.clip(np.searchsorted(pred_ids, filled), 0, len(pred_ids) - 1)
    hit = pred_ids[pos] == filled
    id_map = manual.id_map.copy()
    id_map[void] = np.where(hit, new_ids[pos], VOID)
    used = np.bincount(pos[hit], minlength=len(pred_ids)) > 0
    present = set(new_ids[used].tolist())
    segments = dict(manual.segments)
    segments.update({k: v for k, v in fresh.items() if k in present})
    return PanopticAnnotation(id_map, segments)
