"""Tracing over a crack of the live prediction (shown, not yet accepted) replaces it: the predicted
crack is no longer drawn, listed or accepted; undo offers it again; a new threshold keeps it out."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from core.panoptic import SOURCE_MODEL, PanopticAnnotation, Segment
from tests.gui import test_annotation_aids_gui as aids
from tests.gui.test_annotation_aids_gui import CRACK, SPALLING
from tests.gui.test_trace_editing_gui import _trace

scene, editing = aids.scene, aids.editing

pytestmark = pytest.mark.timeout(120)

PRED_CRACK, PRED_SPALL = 7, 9


def _prediction(crack: np.ndarray, patch: np.ndarray, crack_id: int = PRED_CRACK) -> PanopticAnnotation:
    """The model's result: a coarse ribbon over the drawn crack's first two thirds (a few px wider
    than it, as a model's crack is), and the drawn patch as spalling."""
    part = np.zeros(crack.shape, np.uint8)
    part[:, :160] = crack[:, :160]
    id_map = np.zeros(crack.shape, np.int32)
    id_map[cv2.dilate(part, np.ones((5, 5), np.uint8)).astype(bool)] = crack_id
    id_map[patch] = PRED_SPALL
    return PanopticAnnotation(id_map, {crack_id: Segment(crack_id, CRACK, False, SOURCE_MODEL, 0.7),
                                       PRED_SPALL: Segment(PRED_SPALL, SPALLING, False, SOURCE_MODEL, 0.9)})


def _drawn(window, pred: PanopticAnnotation, segment_id: int) -> bool:
    """Whether the prediction layer colours any pixel of ``segment_id`` (fill or outline)."""
    item = window.view.prediction_item
    colours = item.table().render(np.pad(pred.id_map, 1, mode="edge"))
    return bool(colours[pred.id_map == segment_id].any())


def _listed(window) -> set[int]:
    """Predicted segment ids listed in the segment panel."""
    from gui.views.segment_panel import COL_SEGMENT, SEGMENT

    root = window.segments_panel.pred_root
    return {root.child(i).data(COL_SEGMENT, SEGMENT) for i in range(root.childCount())}


def test_tracing_over_a_live_predicted_crack_stops_offering_it_and_undo_brings_it_back(qtbot, window, editing):
    doc, crack, patch = editing
    pred = _prediction(crack, patch)
    window.photo.set_prediction(pred)
    assert _drawn(window, pred, PRED_CRACK) and _listed(window) == {PRED_CRACK, PRED_SPALL}

    seg = _trace(qtbot, window, doc, [(20.5, 130.5), (100.5, 80.5), (220.5, 40.5)])
    assert window.controller.traced_over == {PRED_CRACK}
    assert not _drawn(window, pred, PRED_CRACK) and _drawn(window, pred, PRED_SPALL)
    assert _listed(window) == {PRED_SPALL}

    # Accepting the whole prediction (merge) adds the spall, not the crack traced over.
    window.controller._accept_whole(doc, pred, merge=True)
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 2 and not doc.busy, timeout=10_000)
    cats = [s.category_id for s in doc.editor.segments.values()]
    assert cats.count(CRACK) == 1 and cats.count(SPALLING) == 1
    assert set(np.unique(doc.annotation.id_map[pred.id_map == PRED_CRACK])) <= {0, seg}
    # ... and so does accepting it by name (the segment list's Accept).
    window.actions.a["undo"].trigger()
    before = doc.annotation.id_map.copy()
    window.controller.accept_prediction([PRED_CRACK])
    assert doc.undo_stack.index() == 1 and np.array_equal(doc.annotation.id_map, before)  # traced over: nothing

    # Undo the trace: the predicted crack is offered again, drawn and listed; redo: gone again.
    window.actions.a["undo"].trigger()
    assert seg not in doc.editor.segments
    assert window.controller.traced_over == frozenset()
    assert _drawn(window, pred, PRED_CRACK) and _listed(window) == {PRED_CRACK, PRED_SPALL}
    window.actions.a["redo"].trigger()
    assert window.controller.traced_over == {PRED_CRACK} and not _drawn(window, pred, PRED_CRACK)
    doc.editor.check()


def test_a_new_threshold_keeps_a_traced_over_crack_out_and_other_cracks_stay_offered(qtbot, window, editing):
    doc, crack, patch = editing
    window.photo.set_prediction(_prediction(crack, patch))
    _trace(qtbot, window, doc, [(20.5, 130.5), (100.5, 80.5), (220.5, 40.5)])
    # The slider shows another result: the same crack under another id, and a second crack far
    # from the trace, which stays offered.
    pred = _prediction(crack, patch, crack_id=12)
    pred.id_map[100:104, 150:230] = 13
    pred.segments[13] = Segment(13, CRACK, False, SOURCE_MODEL, 0.6)
    window.photo.set_prediction(pred)
    assert window.controller.traced_over == {12}
    assert not _drawn(window, pred, 12) and _drawn(window, pred, 13)
    assert _listed(window) == {13, PRED_SPALL}
    window.controller.accept_prediction([12, 13])
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 2 and not doc.busy, timeout=10_000)
    accepted = [s for s in doc.editor.segments.values() if s.source == SOURCE_MODEL]
    assert len(accepted) == 1 and (doc.annotation.id_map == accepted[0].id).sum() == (pred.id_map == 13).sum()


def test_the_prediction_measured_leaves_out_a_crack_traced_over_until_the_trace_is_undone(qtbot, window, editing):
    doc, crack, patch = editing
    pred = _prediction(crack, patch)
    window.photo.set_prediction(pred)
    ui = window.measurement
    ui.panel.source_box.setCurrentIndex(ui.panel.source_box.findData("prediction"))

    def measured() -> set[int] | None:
        f = ui.measurer.figures
        if f is None or f.source != "prediction" or ui.measurer.busy:
            return None
        return {m.segment_id for m in f.measurements}

    qtbot.waitUntil(lambda: measured() == {PRED_CRACK, PRED_SPALL}, timeout=10_000)
    _trace(qtbot, window, doc, [(20.5, 130.5), (100.5, 80.5), (220.5, 40.5)])
    qtbot.waitUntil(lambda: measured() == {PRED_SPALL}, timeout=10_000)  # the panel's rows follow
    assert ui.panel.model.rowCount() == 1
    if os.environ.get("SHOTS_DIR"):
        window.grab().save(os.path.join(os.environ["SHOTS_DIR"], "measured_prediction_traced_over.png"))
    window.actions.a["undo"].trigger()
    qtbot.waitUntil(lambda: measured() == {PRED_CRACK, PRED_SPALL}, timeout=10_000)
