"""Accepting a whole prediction onto a photo that has an annotation: what "merge" keeps.

    merged = prediction_for_merge(editor.id_map, editor.segments, editor.categories, prediction)
    editor.accept_prediction(merged)       # one undo step, as any accept

Merge keeps the user's work: no predicted pixel lands on a defect (thing) of the annotation,
and the model's surfaces (stuff) only fill pixels nobody labelled. The model's defects may cover
the annotation's surfaces: a spall the model found on hand-painted concrete is what the user
asked the model for. (Replace is the editor's plain ``accept_prediction``.)
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.categories import CategorySet
from core.panoptic import VOID, PanopticAnnotation, Segment


def prediction_for_merge(id_map: np.ndarray, segments: Mapping[int, Segment], categories: CategorySet,
                         prediction: PanopticAnnotation) -> PanopticAnnotation:
    """The part of ``prediction`` that merge copies in.

    Args:
        id_map: ``[H, W]`` int32 segment ids of the annotation (0 = void).
        segments: the annotation's segments by id.
        categories: decides which categories are things.
        prediction: the model's result, ``[H, W]`` like ``id_map``.
    Returns:
        The prediction with void wherever it may not go (same segments; the editor drops those
        left without pixels).
    """
    if prediction.shape != id_map.shape:
        raise ValueError(f"the prediction is {prediction.shape[1]}x{prediction.shape[0]} but the annotation "
                         f"{id_map.shape[1]}x{id_map.shape[0]}")

    def ids_of(table: Mapping[int, Segment], things: bool) -> np.ndarray:
        return np.asarray([i for i, s in table.items()
                           if s.category_id in categories and categories.by_id(s.category_id).isthing == things],
                          np.int32)

    kept = np.isin(id_map, ids_of(segments, True))                       # the user's defects
    kept |= (id_map != VOID) & np.isin(prediction.id_map, ids_of(prediction.segments, False))
    out = prediction.id_map.copy()
    out[kept] = VOID
    return PanopticAnnotation(out, dict(prediction.segments))
