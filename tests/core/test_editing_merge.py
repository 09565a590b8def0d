"""What merging a prediction into an annotation keeps (core.editing.merge)."""
import numpy as np
import pytest

from core.categories import default_categories
from core.editing import AnnotationEditor
from core.editing.merge import prediction_for_merge
from core.panoptic import PanopticAnnotation, Segment

CRACK, SPALL, CONCRETE = 1, 2, 4  # default category ids


def _annotation() -> PanopticAnnotation:
    """Left half concrete with a hand-painted crack; the right half unlabelled."""
    ids = np.zeros((20, 40), np.int32)
    ids[:, :20] = 1
    ids[5:8, 2:18] = 2
    return PanopticAnnotation(ids, {1: Segment(1, CONCRETE), 2: Segment(2, CRACK)})


def _prediction() -> PanopticAnnotation:
    """A spall over the crack and the concrete around it, concrete everywhere else."""
    ids = np.full((20, 40), 2, np.int32)
    ids[2:12, 0:30] = 1
    return PanopticAnnotation(ids, {1: Segment(1, SPALL, False, "model", 0.9),
                                    2: Segment(2, CONCRETE, False, "model", 0.95)})


def test_merge_keeps_painted_defects_and_labelled_surfaces_from_model_stuff():
    ann, pred = _annotation(), _prediction()
    cats = default_categories()
    part = prediction_for_merge(ann.id_map, ann.segments, cats, pred)
    assert (part.id_map[ann.id_map == 2] == 0).all()                        # never over the painted crack
    spall_on_concrete = (pred.id_map == 1) & (ann.id_map == 1)
    assert (part.id_map[spall_on_concrete] == 1).all()                      # the model's spall on painted concrete
    stuff_on_labelled = (pred.id_map == 2) & (ann.id_map != 0)
    assert (part.id_map[stuff_on_labelled] == 0).all()                      # model surfaces only fill void
    assert (part.id_map[(pred.id_map == 2) & (ann.id_map == 0)] == 2).all()
    editor = AnnotationEditor(ann, cats)
    editor.accept_prediction(part)
    merged = editor.id_map
    assert (merged[ann.id_map == 2] == 2).all()                             # the crack, pixel for pixel
    assert merged[3, 25] != 0 and editor.segments[int(merged[3, 25])].category_id == SPALL


def test_merge_refuses_a_prediction_of_another_size():
    ann = _annotation()
    small = PanopticAnnotation(np.zeros((10, 10), np.int32), {})
    with pytest.raises(ValueError, match="10x10"):
        prediction_for_merge(ann.id_map, ann.segments, default_categories(), small)
