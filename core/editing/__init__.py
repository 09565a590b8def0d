"""Editing a panoptic annotation (no Qt): brush, eraser, polygon and flood fill, segment operations.

* ``AnnotationEditor`` (editor.py): applies operations to one annotation, each returned as an
  undoable ``Edit``, and keeps the rules every annotation obeys;
* ``Edit``, ``RunLength``, ``compute_areas`` (runlength.py): the edit record and pixel areas;
* ``Stroke`` (stroke.py): a brush or eraser stroke painted live, closed into one ``Edit``;
* boxes, brush capsules, polygons (geometry.py); the Fill's region comes from ``core.assist``.
"""
from core.editing.editor import ADD_TO_SELECTED, NEW_INSTANCE, AnnotationEditor
from core.editing.geometry import (EMPTY_BOX, Box, box_clip, box_is_empty, box_slices, box_union, capsule_mask,
                                   mask_box, polygon_mask)
from core.editing.runlength import DENSE_ID_LIMIT, Edit, RunLength, compute_areas
from core.editing.stroke import Stroke
from core.panoptic import SOURCE_MANUAL

__all__ = [
    "ADD_TO_SELECTED", "AnnotationEditor", "Box", "DENSE_ID_LIMIT", "EMPTY_BOX", "Edit", "NEW_INSTANCE",
    "RunLength", "SOURCE_MANUAL", "Stroke", "box_clip", "box_is_empty", "box_slices", "box_union",
    "capsule_mask", "compute_areas", "mask_box", "polygon_mask",
]
