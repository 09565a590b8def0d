"""The crack tracer and region tools driven with the mouse and keys: clicks, live preview, commit,
undo/redo, autosave; the photo holds a drawn crack and a drawn spall-like patch of known truth."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from core.evaluation.thin import centreline, match_centrelines
from core.imageio import encode_png
from core.project import Project
from tests.core.assist.drawn import concrete, draw_crack, draw_patch
from tests.support.gui import open_project

pytestmark = pytest.mark.timeout(120)
CRACK, SPALLING = 1, 2
ZOOM = 2.0
CRACK_POINTS = [(20, 130), (100, 80), (220, 40)]


@pytest.fixture
def scene(tmp_path):
    """A project with one 240 x 160 photo: a 3-px crack with a bend and a rough patch."""
    rgb = concrete((160, 240), seed=11)
    crack = draw_crack(rgb, CRACK_POINTS, 3)
    patch = draw_patch(rgb, (170, 118), (36, 24), seed=12)
    photo = tmp_path / "wall.png"
    photo.write_bytes(encode_png(rgb))
    path = tmp_path / "aids.pinspect"
    with Project.create(path) as project:
        project.images.add_files([photo])
    return path, crack, patch


@pytest.fixture
def editing(qtbot, window, scene):
    path, crack, patch = scene
    doc = open_project(qtbot, window, path)
    qtbot.waitUntil(lambda: window.controller.photo_rgb() is not None, timeout=10_000)
    window.view.set_zoom(ZOOM)
    window.view.centerOn(120, 80)
    qtbot.wait(10)
    return doc, crack, patch


def vp(view, x: float, y: float) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def click(qtbot, view, x, y):
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(view, x, y))


def move(qtbot, view, x, y):
    qtbot.mouseMove(view.viewport(), vp(view, x, y))


def key(qtbot, window, k):
    qtbot.keyClick(window.view, k)


def wheel(view, x, y, notches: int):
    pos = QPointF(vp(view, x, y))
    event = QWheelEvent(pos, QPointF(view.viewport().mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)


def f1(pred, true):
    p, hits, g, found = match_centrelines(centreline(true), centreline(pred), 2.0)
    precision, recall = hits / max(p, 1), found / max(g, 1)
    return 2 * precision * recall / max(precision + recall, 1e-9)


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def test_crack_tracer_clicks_preview_finish_undo_redo_and_autosave(qtbot, window, editing):
    doc, crack, _ = editing
    view, project = window.view, window.session.project
    before = doc.annotation.id_map.copy()
    key(qtbot, window, Qt.Key.Key_1)   # crack
    key(qtbot, window, Qt.Key.Key_T)   # crack tracer
    tool = window.controller.tool
    assert type(tool).__name__ == "CrackTracerTool" and window.actions.a["tool:CrackTracerTool"].isChecked()
    click(qtbot, view, 20.5, 130.5)
    qtbot.waitUntil(lambda: tool.tracer is not None and tool.tracer.ready, timeout=10_000)
    # The live preview follows the crack to the mouse: every preview pixel lies on the drawn crack.
    move(qtbot, view, 100.5, 80.5)
    shown = tool.preview_path
    assert shown.elementCount() > 20
    pts = [shown.elementAt(i) for i in range(shown.elementCount())]
    near = [crack[max(int(p.y), 0) - 1:int(p.y) + 2, max(int(p.x), 0) - 1:int(p.x) + 2].any() for p in pts]
    assert np.mean(near) >= 0.95
    click(qtbot, view, 100.5, 80.5)
    click(qtbot, view, 160.5, 10.5)       # a wrong click...
    key(qtbot, window, Qt.Key.Key_Backspace)  # ...taken back
    qtbot.waitUntil(lambda: not tool.busy, timeout=10_000)
    assert tool.clicks == [(20.5, 130.5), (100.5, 80.5)]
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(view, 220.5, 40.5))
    qtbot.waitUntil(lambda: tool.tracer is None and doc.undo_stack.count() == 1, timeout=10_000)
    new = max(doc.editor.segments)
    traced = doc.annotation.id_map == new
    assert doc.editor.segments[new].category_id == CRACK and doc.selected == (new,)
    assert f1(traced, crack) >= 0.9 and iou(traced, crack) >= 0.5
    assert window.actions.a["undo"].text() == "Undo Trace crack"
    after = doc.annotation.id_map.copy()
    window.actions.a["undo"].trigger()
    np.testing.assert_array_equal(doc.annotation.id_map, before)
    window.actions.a["redo"].trigger()
    np.testing.assert_array_equal(doc.annotation.id_map, after)
    qtbot.waitUntil(lambda: window.autosaver.state == "saved", timeout=5000)
    np.testing.assert_array_equal(project.annotations.load(window.photo.record.id).id_map, after)
    doc.editor.check()


def test_crack_tracer_enter_finishes_escape_cancels_and_a_set_width_is_used(qtbot, window, editing):
    doc, crack, _ = editing
    view = window.view
    key(qtbot, window, Qt.Key.Key_1)
    key(qtbot, window, Qt.Key.Key_T)
    tool = window.controller.tool
    click(qtbot, view, 20.5, 130.5)
    click(qtbot, view, 100.5, 80.5)
    key(qtbot, window, Qt.Key.Key_Escape)
    assert tool.tracer is None and tool.preview_path.isEmpty()
    qtbot.wait(50)
    assert doc.undo_stack.count() == 0
    window.actions.crack_width.setValue(6)  # the tool bar's width box
    assert window.tool_settings.crack_width == 6
    click(qtbot, view, 20.5, 130.5)
    click(qtbot, view, 100.5, 80.5)
    key(qtbot, window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 1, timeout=10_000)
    traced = doc.annotation.id_map == max(doc.editor.segments)
    length = np.hypot(80, 50)
    assert abs(traced.sum() / length - 6) <= 1.0


def test_region_click_preview_wheel_commit_undo_redo_and_autosave(qtbot, window, editing):
    doc, _, patch = editing
    view, project = window.view, window.session.project
    before = doc.annotation.id_map.copy()
    key(qtbot, window, Qt.Key.Key_2)   # spalling
    key(qtbot, window, Qt.Key.Key_R)   # region
    tool = window.controller.tool
    assert type(tool).__name__ == "RegionTool"
    click(qtbot, view, 170.5, 118.5)
    qtbot.waitUntil(lambda: tool.preview is not None and not tool.busy, timeout=10_000)
    assert iou(tool.preview, patch) >= 0.7
    assert doc.undo_stack.count() == 0  # a preview, not an edit
    tol = window.tool_settings.region_tolerance
    wheel(view, 170.5, 118.5, -3)   # the wheel tunes the tolerance while a region is shown
    assert window.tool_settings.region_tolerance < tol
    zoom = view.zoom
    qtbot.waitUntil(lambda: not tool.busy and tool.preview_request[2] == window.tool_settings.region_tolerance,
                    timeout=10_000)
    assert view.zoom == zoom       # ...instead of zooming
    wheel(view, 170.5, 118.5, 3)
    qtbot.waitUntil(lambda: not tool.busy and tool.preview_request[2] == window.tool_settings.region_tolerance,
                    timeout=10_000)
    key(qtbot, window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 1, timeout=10_000)
    new = max(doc.editor.segments)
    region = doc.annotation.id_map == new
    assert doc.editor.segments[new].category_id == SPALLING and iou(region, patch) >= 0.7
    assert window.actions.a["undo"].text() == "Undo Region spalling"
    after = doc.annotation.id_map.copy()
    window.actions.a["undo"].trigger()
    np.testing.assert_array_equal(doc.annotation.id_map, before)
    window.actions.a["redo"].trigger()
    np.testing.assert_array_equal(doc.annotation.id_map, after)
    qtbot.waitUntil(lambda: window.autosaver.state == "saved", timeout=5000)
    np.testing.assert_array_equal(project.annotations.load(window.photo.record.id).id_map, after)
    doc.editor.check()


def test_region_box_drag_grabcuts_and_escape_drops_the_preview(qtbot, window, editing):
    doc, _, patch = editing
    view = window.view
    key(qtbot, window, Qt.Key.Key_2)
    key(qtbot, window, Qt.Key.Key_R)
    tool = window.controller.tool
    w = view.viewport()
    qtbot.mousePress(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(view, 126.5, 88.5))
    move(qtbot, view, 170.5, 118.5)
    assert tool.showing == (True, False)
    qtbot.mouseRelease(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(view, 214.5, 148.5))
    qtbot.waitUntil(lambda: tool.preview is not None and not tool.busy, timeout=10_000)
    assert tool.preview_request[0] == "box" and iou(tool.preview, patch) >= 0.7
    assert not tool.preview[:, :120].any()   # nothing outside the box
    key(qtbot, window, Qt.Key.Key_Escape)
    assert tool.preview is None and tool.showing == (False, False)
    # A click inside a shown preview commits it.
    qtbot.mousePress(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(view, 126.5, 88.5))
    move(qtbot, view, 170.5, 118.5)
    qtbot.mouseRelease(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(view, 214.5, 148.5))
    qtbot.waitUntil(lambda: tool.preview is not None and not tool.busy, timeout=10_000)
    click(qtbot, view, 170.5, 118.5)
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 1, timeout=10_000)
    assert iou(doc.annotation.id_map == max(doc.editor.segments), patch) >= 0.7


def test_region_escape_while_it_is_computed_shows_nothing_later(qtbot, window, editing):
    doc, _, _ = editing
    view = window.view
    key(qtbot, window, Qt.Key.Key_2)
    key(qtbot, window, Qt.Key.Key_R)
    tool = window.controller.tool
    click(qtbot, view, 170.5, 118.5)
    assert tool.busy
    key(qtbot, window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not tool.busy and not window.runner.busy, timeout=10_000)
    qtbot.wait(50)
    assert tool.preview is None and tool.showing == (False, False)
    key(qtbot, window, Qt.Key.Key_Return)
    qtbot.wait(50)
    assert doc.undo_stack.count() == 0


def test_a_traced_crack_is_extended_by_tracing_on_in_add_to_selected_mode(qtbot, window, editing):
    doc, crack, _ = editing
    view = window.view
    key(qtbot, window, Qt.Key.Key_1)
    key(qtbot, window, Qt.Key.Key_T)
    tool = window.controller.tool
    click(qtbot, view, 20.5, 130.5)
    click(qtbot, view, 100.5, 80.5)
    key(qtbot, window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 1 and tool.tracer is None, timeout=10_000)
    first = doc.selected[0]
    key(qtbot, window, Qt.Key.Key_N)   # add to the selected instance
    click(qtbot, view, 100.5, 80.5)
    click(qtbot, view, 220.5, 40.5)
    key(qtbot, window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 2 and tool.tracer is None, timeout=10_000)
    assert [s for s, seg in doc.editor.segments.items() if seg.category_id == CRACK] == [first]
    assert f1(doc.annotation.id_map == first, crack) >= 0.9
