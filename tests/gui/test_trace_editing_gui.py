"""Editing a traced crack with the tracer tool: drag a waypoint, delete one, extend from an end,
branch from inside, trace over a predicted crack; undo/redo; the waypoints survive a reopen."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.panoptic import SOURCE_MODEL, Segment
from tests.gui import test_annotation_aids_gui as aids
from tests.gui.test_annotation_aids_gui import CRACK, click, f1, key, move, vp
from tests.support.gui import open_project

# The photo with a drawn crack and patch, opened in the window (the tracer tool's own tests' set-up).
scene, editing = aids.scene, aids.editing

pytestmark = pytest.mark.timeout(120)


def _trace(qtbot, window, doc, points):
    """Trace a new crack through ``points`` with the tracer tool; returns its segment id."""
    key(qtbot, window, Qt.Key.Key_1)
    key(qtbot, window, Qt.Key.Key_T)
    tool = window.controller.tool
    steps = doc.undo_stack.count()
    for x, y in points:
        click(qtbot, window.view, x, y)
    key(qtbot, window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: doc.undo_stack.count() == steps + 1 and tool.tracer is None, timeout=10_000)
    return doc.selected[0]


def _precision(pred, true):
    from core.evaluation.thin import centreline, match_centrelines

    p, hits, _, _ = match_centrelines(centreline(true), centreline(pred), 2.0)
    return hits / max(p, 1)


def _drag(qtbot, view, a, b):
    w = view.viewport()
    qtbot.mousePress(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(view, *a))
    for t in (0.3, 0.6, 1.0):
        move(qtbot, view, a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
    qtbot.mouseRelease(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(view, *b))


def test_dragging_a_waypoint_retraces_the_crack_and_undo_brings_the_old_one_back(qtbot, window, editing):
    doc, crack, _ = editing
    seg = _trace(qtbot, window, doc, [(20.5, 130.5), (100.5, 110.5), (220.5, 40.5)])  # bend missed by 30 px
    tool = window.controller.tool
    first = doc.annotation.id_map == seg
    assert doc.traces[seg][0].points[1] == (100.5, 110.5)
    assert tool.handles.traces()[1] and tool.handles._item is not None  # handles drawn on the selected crack
    before = _precision(first, crack)
    _drag(qtbot, window.view, (100.5, 110.5), (100.5, 80.5))
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 2 and not doc.busy, timeout=10_000)
    moved = doc.annotation.id_map == seg
    assert doc.traces[seg][0].points[1] == (100.5, 80.5)
    assert _precision(moved, crack) >= 0.95 > before and f1(moved, crack) >= 0.9
    assert not (moved & first & ~crack).any() or (moved & ~crack).sum() < (first & ~crack).sum()
    assert window.actions.a["undo"].text() == "Undo Move crack waypoint"
    window.actions.a["undo"].trigger()
    np.testing.assert_array_equal(doc.annotation.id_map == seg, first)
    assert doc.traces[seg][0].points[1] == (100.5, 110.5)
    window.actions.a["redo"].trigger()
    np.testing.assert_array_equal(doc.annotation.id_map == seg, moved)
    assert doc.traces[seg][0].points[1] == (100.5, 80.5)
    doc.editor.check()


def test_a_live_preview_follows_the_drag(qtbot, window, editing):
    doc, crack, _ = editing
    seg = _trace(qtbot, window, doc, [(20.5, 130.5), (100.5, 110.5), (220.5, 40.5)])
    tool, view = window.controller.tool, window.view
    w = view.viewport()
    qtbot.mousePress(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(view, 100.5, 110.5))
    move(qtbot, view, 100.5, 95.5)
    move(qtbot, view, 100.5, 80.5)
    assert tool.handles.dragging
    qtbot.waitUntil(lambda: tool.handles.drag_preview is not None
                    and tool.handles.drag_preview.points[1] == (100.5, 80.5), timeout=10_000)
    assert doc.undo_stack.count() == 1  # a preview, not an edit
    path = tool.handles._drag_item.path()
    pts = [path.elementAt(i) for i in range(path.elementCount())]
    assert len(pts) > 40
    assert np.mean([crack[int(p.y) - 1:int(p.y) + 2, int(p.x) - 1:int(p.x) + 2].any() for p in pts]) >= 0.9
    key(qtbot, window, Qt.Key.Key_Escape)
    qtbot.mouseRelease(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(view, 100.5, 80.5))
    qtbot.wait(50)
    assert doc.undo_stack.count() == 1 and doc.traces[seg][0].points[1] == (100.5, 110.5)


def test_deleting_waypoints_by_right_click_and_by_delete_key(qtbot, window, editing):
    doc, crack, _ = editing
    seg = _trace(qtbot, window, doc, [(20.5, 130.5), (60.5, 150.5), (100.5, 80.5), (220.5, 40.5)])
    view = window.view
    assert len(doc.traces[seg][0].points) == 4
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, vp(view, 60.5, 150.5))
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 2 and not doc.busy, timeout=10_000)
    assert doc.traces[seg][0].points == ((20.5, 130.5), (100.5, 80.5), (220.5, 40.5))
    assert f1(doc.annotation.id_map == seg, crack) >= 0.9  # the detour to the stray click is gone
    assert window.actions.a["undo"].text() == "Undo Delete crack waypoint"
    # Delete with the mouse on a waypoint removes the waypoint, not the segment.
    move(qtbot, view, 220.5, 40.5)
    key(qtbot, window, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 3 and not doc.busy, timeout=10_000)
    assert seg in doc.editor.segments and len(doc.traces[seg][0].points) == 2
    assert not (doc.annotation.id_map == seg)[:, 140:].any()   # the last leg's pixels went
    window.actions.a["undo"].trigger()
    window.actions.a["undo"].trigger()
    assert len(doc.traces[seg][0].points) == 4
    doc.editor.check()


def test_extending_from_an_end_and_branching_from_a_waypoint_stay_in_one_segment(qtbot, window, editing):
    doc, crack, _ = editing
    seg = _trace(qtbot, window, doc, [(20.5, 130.5), (100.5, 80.5)])
    view, tool = window.view, window.controller.tool
    click(qtbot, view, 100.5, 80.5)        # the end handle: extend
    assert tool.tracer is not None and tool.editing[0] == seg
    click(qtbot, view, 220.5, 40.5)
    key(qtbot, window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 2 and tool.tracer is None, timeout=10_000)
    assert window.actions.a["undo"].text() == "Undo Extend crack"
    (trace,) = doc.traces[seg]
    assert trace.points == ((20.5, 130.5), (100.5, 80.5), (220.5, 40.5))
    assert [s for s, g in doc.editor.segments.items() if g.category_id == CRACK] == [seg]
    assert f1(doc.annotation.id_map == seg, crack) >= 0.9
    click(qtbot, view, 100.5, 80.5)        # an inner waypoint now: branch
    assert tool.editing == (seg, None, None)
    click(qtbot, view, 100.5, 150.5)
    key(qtbot, window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 3 and tool.tracer is None, timeout=10_000)
    assert window.actions.a["undo"].text() == "Undo Branch crack"
    assert len(doc.traces[seg]) == 2 and doc.traces[seg][1].points[0] == (100.5, 80.5)
    assert (doc.annotation.id_map == seg)[145:155, 95:106].any()
    assert [s for s, g in doc.editor.segments.items() if g.category_id == CRACK] == [seg]
    window.actions.a["undo"].trigger()
    assert len(doc.traces[seg]) == 1 and not (doc.annotation.id_map == seg)[145:155, 95:106].any()
    doc.editor.check()


def test_tracing_over_a_predicted_crack_replaces_it(qtbot, window, editing):
    doc, crack, _ = editing
    predicted = Segment(doc.editor.next_segment_id(), CRACK, source=SOURCE_MODEL, score=0.8)
    import cv2

    half = np.zeros(crack.shape, np.uint8)
    half[:, :110] = crack[:, :110]
    blob = cv2.dilate(half, np.ones((5, 5), np.uint8)).astype(bool)  # a coarse prediction of its first half
    doc.run(lambda ed: ed.paint_mask("Accept prediction", (0, 0) + crack.shape, blob, predicted))
    seg = _trace(qtbot, window, doc, [(20.5, 130.5), (100.5, 80.5), (220.5, 40.5)])
    assert predicted.id not in doc.editor.segments and seg in doc.editor.segments
    assert f1(doc.annotation.id_map == seg, crack) >= 0.9
    window.actions.a["undo"].trigger()
    assert doc.editor.segments[predicted.id].source == SOURCE_MODEL
    doc.editor.check()


def test_the_waypoints_survive_saving_and_reopening_the_project(qtbot, window, editing, scene):
    doc, crack, _ = editing
    path = scene[0]
    seg = _trace(qtbot, window, doc, [(20.5, 130.5), (100.5, 80.5), (220.5, 40.5)])
    trace = doc.traces[seg][0]
    qtbot.waitUntil(lambda: window.autosaver.state == "saved", timeout=5000)
    window.autosaver.flush()
    qtbot.waitUntil(lambda: window.autosaver.state == "saved", timeout=5000)
    window.session.close()
    qtbot.waitUntil(lambda: window.session.project is None and not window.runner.busy, timeout=10_000)
    doc = open_project(qtbot, window, path)
    assert doc.traces == {seg: (trace,)}
    qtbot.waitUntil(lambda: window.controller.photo_rgb() is not None, timeout=10_000)
    doc.select([seg])
    key(qtbot, window, Qt.Key.Key_T)
    tool = window.controller.tool
    assert tool.handles._item is not None and not tool.handles._item.path().isEmpty()
    # Yesterday's trace is edited as any other.
    window.view.centerOn(120, 80)
    qtbot.wait(10)
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier,
                     vp(window.view, 220.5, 40.5))
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 1 and not doc.busy, timeout=10_000)
    assert len(doc.traces[seg][0].points) == 2


def test_a_deleted_cracks_waypoints_do_not_come_back_on_a_new_segment_with_its_id(qtbot, window, editing):
    doc, crack, _ = editing
    seg = _trace(qtbot, window, doc, [(20.5, 130.5), (100.5, 80.5)])
    window.controller.delete_selected()
    assert seg not in doc.editor.segments
    # The brush paints a new crack elsewhere: it gets the freed id.
    brushed = Segment(doc.editor.next_segment_id(), CRACK)
    assert brushed.id == seg
    square = np.zeros(crack.shape, bool)
    square[10:30, 150:200] = True
    doc.run(lambda ed: ed.paint_mask("Brush", (0, 0) + crack.shape, square, brushed))
    assert doc.traces_of(seg) == ()
    window.actions.a["undo"].trigger()
    window.actions.a["undo"].trigger()   # the crack is back, and so are its waypoints
    assert len(doc.traces_of(seg)) == 1
