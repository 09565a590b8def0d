"""Keeping a manual annotation and letting the model fill only its unlabeled pixels."""
from __future__ import annotations

import numpy as np
import pytest

from core.categories import default_categories
from core.errors import AnnotationError
from core.inference import fill_unlabeled
from core.panoptic import SOURCE_MANUAL, SOURCE_MODEL, PanopticAnnotation, Segment
from tests.core.inference.cases import prediction_of, random_outputs

CATS = default_categories()
CRACK, SPALLING, CONCRETE = 1, 2, 4


def _manual():
    ids = np.zeros((20, 30), np.int32)
    ids[:, :10] = 7          # concrete (stuff), manual
    ids[2:6, 12:16] = 9      # a crack, manual
    return PanopticAnnotation(ids, {7: Segment(7, CONCRETE), 9: Segment(9, CRACK)})


def _predicted():
    ids = np.zeros((20, 30), np.int32)
    ids[:, :] = 1                     # concrete everywhere
    ids[0:10, 5:20] = 2               # spalling over manual and void pixels
    ids[15:18, 2:8] = 3               # a crack entirely under the manual concrete
    segs = {1: Segment(1, CONCRETE, source=SOURCE_MODEL, score=0.9),
            2: Segment(2, SPALLING, source=SOURCE_MODEL, score=0.8),
            3: Segment(3, CRACK, source=SOURCE_MODEL, score=0.7)}
    return PanopticAnnotation(ids, segs)


def test_manual_pixels_stay_and_void_pixels_are_filled():
    manual, pred = _manual(), _predicted()
    out = fill_unlabeled(manual, pred, CATS)
    out.validate(CATS)
    labelled = manual.id_map != 0
    np.testing.assert_array_equal(out.id_map[labelled], manual.id_map[labelled])
    assert (out.id_map != 0).all()
    assert out.segments[7] == manual.segments[7] and out.segments[9] == manual.segments[9]
    # Predicted concrete joins the manual concrete segment (one stuff segment per class).
    assert out.id_map[19, 29] == 7 and out.segments[7].source == SOURCE_MANUAL
    # Spalling becomes a new model segment with its score, only on formerly void pixels.
    new = [s for s in out.segments.values() if s.source == SOURCE_MODEL]
    assert [(s.category_id, s.score) for s in new] == [(SPALLING, 0.8)]
    assert new[0].id > max(manual.segments)
    assert (out.id_map == new[0].id).sum() == ((pred.id_map == 2) & ~labelled).sum()
    # The predicted crack under manual concrete left no trace.
    assert CRACK not in {s.category_id for s in new}


def test_an_unlabeled_photo_takes_the_whole_prediction():
    pred = _predicted()
    out = fill_unlabeled(PanopticAnnotation.empty(20, 30), pred, CATS)
    assert len(out.segments) == 3
    np.testing.assert_array_equal(out.id_map != 0, pred.id_map != 0)


def test_sizes_must_match():
    with pytest.raises(AnnotationError, match="30x20"):
        fill_unlabeled(_manual(), PanopticAnnotation.empty(21, 30), CATS)


def test_prediction_keeps_manual_annotation_on_request():
    logits, masks = random_outputs(2)
    pred = prediction_of(logits, masks, (61, 83), (20, 30))
    manual = _manual()
    out = pred.panoptic(0.3, keep=manual)
    assert (out.id_map[manual.id_map != 0] == manual.id_map[manual.id_map != 0]).all()
    assert (out.id_map[manual.id_map == 0] != 0).any()
    out.validate()
