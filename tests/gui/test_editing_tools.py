"""Editing with the mouse: each tool's pixels, instances vs stuff, paint-behind, segment operations,
accepting predictions, exact undo/redo (hypothesis), and autosave."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPoint, QPointF, Qt

from core.errors import ProjectError
from core.imageio import encode_png
from core.panoptic import PanopticAnnotation, Segment
from core.project import Project

from tests.support.gui import annotation_for, open_project, photo

pytestmark = pytest.mark.timeout(120)
CRACK, SPALLING, REBAR, CONCRETE = 1, 2, 3, 4
ZOOM = 4.0


def prepare(window, qtbot):
    """Integer zoom with the photo's origin at a viewport pixel: scene <-> mouse is exact."""
    view = window.view
    view.set_zoom(ZOOM)
    view.centerOn(48, 32)
    qtbot.wait(10)
    return window.photo.document


def vp(view, x: float, y: float) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def scene_of(view, x: float, y: float) -> tuple[float, float]:
    """Where a click aimed at (x, y) lands in the scene (what the tool receives)."""
    p = view.mapToScene(vp(view, x, y))
    return p.x(), p.y()


def drag(qtbot, view, points, button=Qt.MouseButton.LeftButton):
    w = view.viewport()
    qtbot.mousePress(w, button, Qt.KeyboardModifier.NoModifier, vp(view, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(w, vp(view, *p))
    qtbot.mouseRelease(w, button, Qt.KeyboardModifier.NoModifier, vp(view, *points[-1]))


def click(qtbot, view, x, y, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, vp(view, x, y))


def capsules(shape, points, radius):
    """Pixels whose centre is within ``radius`` of the polyline (independent of core.editing)."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    cx, cy = xs + 0.5, ys + 0.5
    out = np.zeros(shape, bool)
    pts = points if len(points) > 1 else points * 2
    for (ax, ay), (bx, by) in zip(pts[:-1], pts[1:]):
        dx, dy = bx - ax, by - ay
        t = np.clip(((cx - ax) * dx + (cy - ay) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
        out |= (cx - ax - t * dx) ** 2 + (cy - ay - t * dy) ** 2 <= radius ** 2
    return out


@pytest.fixture
def editing(qtbot, window, make_project):
    open_project(qtbot, window, make_project(1, annotated=1))
    return prepare(window, qtbot)


def key(qtbot, window, k, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(window.view, k, modifier)


def test_brush_stroke_paints_the_mouse_path_and_undo_redo_restore_exactly(qtbot, window, editing):
    doc, view = editing, window.view
    before = doc.annotation.id_map.copy()
    key(qtbot, window, Qt.Key.Key_1)   # crack
    key(qtbot, window, Qt.Key.Key_B)   # brush
    window.tool_settings.set_brush_size(6)
    aims = [(20.3, 40.3), (40.3, 44.3), (70.3, 42.3)]
    drag(qtbot, view, aims)
    path = [scene_of(view, *p) for p in aims]
    new = max(doc.editor.segments)
    expected = np.where(capsules(before.shape, path, 3.0), new, before)
    np.testing.assert_array_equal(doc.annotation.id_map, expected)
    assert doc.editor.segments[new].category_id == CRACK and doc.selected == (new,)
    assert window.actions.a["undo"].text() == "Undo Paint crack"
    assert doc.undo_stack.count() == 1  # the whole stroke is one step
    window.actions.a["undo"].trigger()
    np.testing.assert_array_equal(doc.annotation.id_map, before)
    assert new not in doc.editor.segments
    window.actions.a["redo"].trigger()
    np.testing.assert_array_equal(doc.annotation.id_map, expected)
    doc.editor.check()


def test_eraser_and_right_button_erase_to_void(qtbot, window, editing):
    doc, view = editing, window.view
    before = doc.annotation.id_map.copy()
    key(qtbot, window, Qt.Key.Key_E)
    window.tool_settings.set_brush_size(10)
    drag(qtbot, view, [(10.3, 8.3), (30.3, 8.3)])
    erased = capsules(before.shape, [scene_of(view, 10.3, 8.3), scene_of(view, 30.3, 8.3)], 5.0)
    np.testing.assert_array_equal(doc.annotation.id_map, np.where(erased, 0, before))
    key(qtbot, window, Qt.Key.Key_B)
    drag(qtbot, view, [(60.3, 50.3)], Qt.MouseButton.RightButton)
    assert doc.annotation.id_map[50, 60] == 0
    assert window.actions.a["undo"].text() == "Undo Eraser stroke"
    doc.editor.check()


def test_polygon_and_lasso_fill_the_pixels_inside(qtbot, window, editing):
    doc, view = editing, window.view
    before = doc.annotation.id_map.copy()
    key(qtbot, window, Qt.Key.Key_3)   # exposed rebar
    key(qtbot, window, Qt.Key.Key_P)
    for x, y in [(40, 36), (60, 36), (60, 46)]:
        click(qtbot, view, x, y)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vp(view, 40, 46))
    seg = max(doc.editor.segments)
    inside = np.zeros(before.shape, bool)
    inside[36:46, 40:60] = True
    np.testing.assert_array_equal(doc.annotation.id_map == seg, inside)
    assert doc.editor.segments[seg].category_id == REBAR
    key(qtbot, window, Qt.Key.Key_L)
    drag(qtbot, view, [(70, 34), (90, 34), (90, 44), (70, 44), (70, 34)])
    lasso = max(doc.editor.segments)
    assert lasso != seg and (doc.annotation.id_map[34:44, 70:90] == lasso).all()
    assert doc.undo_stack.count() == 2
    doc.editor.check()


def test_flood_fill_takes_the_region_of_similar_colour(qtbot, window, tmp_path):
    rgb = photo(5)
    (tmp_path / "png").mkdir()
    (tmp_path / "png" / "p.png").write_bytes(encode_png(rgb))  # lossless: exact region edges
    with Project.create(tmp_path / "f.pinspect") as p:
        p.images.add_files([tmp_path / "png" / "p.png"])
    with qtbot.waitSignal(window.photo.fullResolution, timeout=10_000):
        window.project_actions.open_path(tmp_path / "f.pinspect")
    qtbot.waitUntil(lambda: window.photo.document is not None)
    doc = prepare(window, qtbot)
    dark = np.all(rgb == (30, 30, 35), axis=2)
    y, x = np.argwhere(dark)[len(np.argwhere(dark)) // 2]
    key(qtbot, window, Qt.Key.Key_2)
    key(qtbot, window, Qt.Key.Key_G)
    click(qtbot, window.view, x + 0.5, y + 0.5)  # the region is grown on a worker thread
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 1 and not doc.busy, timeout=5000)
    seg = next(iter(doc.editor.segments))
    np.testing.assert_array_equal(doc.annotation.id_map == seg, dark)
    assert window.actions.a["undo"].text() == "Undo Fill spalling"


def test_things_get_new_instances_or_join_the_selected_and_stuff_joins_its_class(qtbot, window, editing):
    doc, view = editing, window.view
    key(qtbot, window, Qt.Key.Key_1)
    window.tool_settings.set_brush_size(3)
    drag(qtbot, view, [(10.3, 20.3), (20.3, 20.3)])
    first = doc.primary
    drag(qtbot, view, [(10.3, 26.3), (20.3, 26.3)])
    second = doc.primary
    assert first != second and {first, second} <= set(doc.editor.segments)
    key(qtbot, window, Qt.Key.Key_N)  # add to the selected instance
    drag(qtbot, view, [(80.3, 10.3), (90.3, 10.3)])
    assert doc.primary == second and doc.annotation.id_map[10, 85] == second
    key(qtbot, window, Qt.Key.Key_4)  # concrete: the photo's concrete segment (id 1) grows
    drag(qtbot, view, [(80.3, 20.3)])
    assert doc.annotation.id_map[20, 80] == 1
    assert [s.id for s in doc.editor.segments.values() if s.category_id == CONCRETE] == [1]


def test_paint_behind_fills_only_void(qtbot, window, editing):
    doc, view = editing, window.view
    before = doc.annotation.id_map.copy()
    key(qtbot, window, Qt.Key.Key_4)
    key(qtbot, window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert window.tool_settings.paint_behind
    window.tool_settings.set_brush_size(200)
    drag(qtbot, view, [(48.3, 16.3)])
    id_map = doc.annotation.id_map
    np.testing.assert_array_equal(id_map[before != 0], before[before != 0])  # crack, spall untouched
    assert (id_map[before == 0] == 1).all()                                 # void became concrete


def test_segment_operations_keep_a_valid_panoptic_annotation(qtbot, window, editing, tmp_path):
    from panopticapi.evaluation import pq_compute

    from core.formats import export_coco_panoptic
    from core.formats.records import ExportRecord

    doc, view = editing, window.view
    key(qtbot, window, Qt.Key.Key_V)                    # select tool
    click(qtbot, view, 10.5, 7.5)                       # the crack (2)
    click(qtbot, view, 60.5, 25.5, Qt.KeyboardModifier.ControlModifier)  # + the spall (3)
    assert doc.selected == (2, 3)
    key(qtbot, window, Qt.Key.Key_M)                    # merge into the crack
    assert 3 not in doc.editor.segments and doc.annotation.id_map[25, 60] == 2
    window.actions.a["split"].trigger()                 # two separate parts again
    assert len([s for s in doc.editor.segments.values() if s.category_id == CRACK]) == 2
    part = doc.segment_at(60, 25)
    doc.select([part])
    window.controller.set_category_of_selected(REBAR)
    assert doc.editor.segments[part].category_id == REBAR
    doc.select([2])
    window.controller.set_category_of_selected(CONCRETE)  # thing -> stuff: joins concrete (1)
    assert 2 not in doc.editor.segments and doc.annotation.id_map[7, 10] == 1
    doc.select([part])
    key(qtbot, window, Qt.Key.Key_Delete)
    assert part not in doc.editor.segments and doc.annotation.id_map[25, 60] == 0
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # back: one thing stays
    assert doc.editor.segments[part].category_id == REBAR
    doc.editor.check()  # no id without pixels, no pixels without an id
    h, w = doc.editor.shape
    export_coco_panoptic([ExportRecord(1, window.photo.record.path, w, h, doc.annotation)],
                         window.session.categories, tmp_path / "export", images=False)
    json_path = tmp_path / "export" / "panoptic_all.json"
    png_dir = json_path.with_suffix("")
    with contextlib.redirect_stdout(io.StringIO()):
        result = pq_compute(str(json_path), str(json_path), str(png_dir), str(png_dir))
    assert result["All"]["pq"] == pytest.approx(1.0)
    for _ in range(doc.undo_stack.count()):
        window.actions.a["undo"].trigger()
    np.testing.assert_array_equal(doc.annotation.id_map, annotation_for(h, w).id_map)


def test_accepting_predicted_segments_is_one_undoable_step(qtbot, window, make_project):
    path = make_project(1, annotated=0)
    with Project.open(path) as p:
        rec = p.images.list()[0]
        mid = p.models.add("m", checkpoint=None, config={}, categories=p.categories.get())
        pred_map = np.zeros((rec.height, rec.width), np.int32)
        pred_map[10:20, 10:30] = 7
        pred_map[40:, :] = 8
        pred = PanopticAnnotation(pred_map, {7: Segment(7, CRACK, source="model", score=0.9),
                                             8: Segment(8, CONCRETE, source="model", score=0.8)})
        p.predictions.save(rec.id, mid, b"", {"threshold": 0.5}, pred)
    doc = open_project(qtbot, window, path)
    assert window.view.prediction_item is not None and window.segments_panel.pred_root.childCount() == 2
    panel = window.segments_panel
    panel.tree.clearSelection()
    panel.pred_root.child(0).setSelected(True)          # the most confident: the crack
    panel.buttons["accept"].click()
    assert [s.category_id for s in doc.editor.segments.values()] == [CRACK]
    window.actions.a["accept_all"].trigger()  # the photo has an annotation now: merge, replace or cancel?
    from PySide6.QtWidgets import QMessageBox
    box = window.findChild(QMessageBox, "acceptPredictionQuestion")
    next(b for b in box.buttons() if b.text() == "Replace").click()  # the crack again (replacing the first copy)
    assert sorted(s.category_id for s in doc.editor.segments.values()) == [CRACK, CONCRETE]
    np.testing.assert_array_equal(doc.annotation.id_map > 0, pred_map > 0)
    assert window.actions.a["undo"].text() == "Undo Accept prediction"
    window.actions.a["undo"].trigger()
    assert [s.category_id for s in doc.editor.segments.values()] == [CRACK]


def test_autosave_writes_edits_shortly_after_and_ctrl_s_forces_it(qtbot, window, editing):
    doc, view = editing, window.view
    project = window.session.project
    image_id = window.photo.record.id
    rev = project.annotations.revision(image_id)
    key(qtbot, window, Qt.Key.Key_1)
    drag(qtbot, view, [(70.3, 10.3), (90.3, 14.3)])
    assert window.autosaver.state in ("pending", "saving") and "unsaved" in window.windowTitle()
    qtbot.waitUntil(lambda: window.autosaver.state == "saved", timeout=5000)
    assert project.annotations.revision(image_id) == rev + 1
    np.testing.assert_array_equal(project.annotations.load(image_id).id_map, doc.annotation.id_map)
    assert "unsaved" not in window.windowTitle() and window.status.save.text() == "All changes saved"
    window.actions.a["undo"].trigger()
    key(qtbot, window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.autosaver.state == "saved", timeout=5000)
    np.testing.assert_array_equal(project.annotations.load(image_id).id_map, doc.annotation.id_map)


def test_a_failed_save_keeps_the_edits_says_so_and_retries(qtbot, window, editing, monkeypatch):
    doc, view = editing, window.view
    project = window.session.project
    real_save = project.annotations.save

    def full_disk(*a, **k):
        raise ProjectError("cannot save: the disk is full", project.path)

    monkeypatch.setattr(project.annotations, "save", full_disk)
    key(qtbot, window, Qt.Key.Key_1)
    drag(qtbot, view, [(70.3, 10.3)])
    qtbot.waitUntil(lambda: window.autosaver.state == "failed", timeout=5000)
    assert "disk is full" in window.reporter.history[-1].text and not window.reporter.history[-1].unexpected
    assert "Not saved" in window.status.save.text()
    monkeypatch.setattr(project.annotations, "save", real_save)
    window.actions.a["save"].trigger()
    qtbot.waitUntil(lambda: window.autosaver.state == "saved", timeout=5000)
    np.testing.assert_array_equal(project.annotations.load(window.photo.record.id).id_map, doc.annotation.id_map)


# --- hypothesis: random edit sequences through the tools ---------------------------------------------
point = st.tuples(st.floats(1, 95).map(lambda v: round(v, 1) + 0.3), st.floats(1, 63).map(lambda v: round(v, 1) + 0.3))
op = st.one_of(
    st.tuples(st.just("brush"), st.sampled_from([1, 2, 4, 5]), st.sampled_from([2, 5, 9]),
              st.lists(point, min_size=1, max_size=3), st.booleans()),
    st.tuples(st.just("erase"), st.sampled_from([3, 8]), st.lists(point, min_size=1, max_size=3)),
    st.tuples(st.just("polygon"), st.sampled_from([2, 3]), st.lists(point, min_size=3, max_size=4)),
    st.tuples(st.just("select_delete"), point),
    st.tuples(st.just("merge"), point, point),
)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(ops=st.lists(op, min_size=1, max_size=5))
def test_random_tool_sequences_undo_to_the_original_and_redo_to_the_final(qtbot, window, editing, ops):
    doc, view = editing, window.view
    stack = doc.undo_stack
    start = stack.index()
    original = (doc.annotation.id_map.copy(), dict(doc.editor.segments))
    keys = {1: Qt.Key.Key_1, 2: Qt.Key.Key_2, 3: Qt.Key.Key_3, 4: Qt.Key.Key_4, 5: Qt.Key.Key_5}
    for o in ops:
        if o[0] == "brush":
            key(qtbot, window, keys[o[1]])
            key(qtbot, window, Qt.Key.Key_B)
            window.tool_settings.set_brush_size(o[2])
            window.tool_settings.set_paint_behind(o[4])
            drag(qtbot, view, o[3])
        elif o[0] == "erase":
            key(qtbot, window, Qt.Key.Key_E)
            window.tool_settings.set_brush_size(o[1])
            drag(qtbot, view, o[2])
        elif o[0] == "polygon":
            key(qtbot, window, keys[o[1]])
            key(qtbot, window, Qt.Key.Key_P)
            for p in o[2]:
                click(qtbot, view, *p)
            key(qtbot, window, Qt.Key.Key_Return)
        elif o[0] == "select_delete":
            key(qtbot, window, Qt.Key.Key_V)
            click(qtbot, view, *o[1])
            key(qtbot, window, Qt.Key.Key_Delete)
        else:
            key(qtbot, window, Qt.Key.Key_V)
            click(qtbot, view, *o[1])
            click(qtbot, view, *o[2], Qt.KeyboardModifier.ControlModifier)
            key(qtbot, window, Qt.Key.Key_M)
        doc.editor.check()
    final = (doc.annotation.id_map.copy(), dict(doc.editor.segments))
    steps = stack.index() - start
    assert steps <= len(ops)  # at most one undo step per gesture
    for _ in range(steps):
        stack.undo()
    np.testing.assert_array_equal(doc.annotation.id_map, original[0])
    assert doc.editor.segments == original[1]
    for _ in range(steps):
        stack.redo()
    np.testing.assert_array_equal(doc.annotation.id_map, final[0])
    assert doc.editor.segments == final[1]
    while stack.index() > start:  # the next example starts from the original again
        stack.undo()
    window.tool_settings.set_paint_behind(False)


def test_a_fill_of_millions_of_pixels_runs_in_the_background_and_blocks_other_edits(qtbot, window, make_project):
    from gui.editing.editing_controller import BACKGROUND_PIXELS

    from tests.support.gui import LoopWatch

    doc = open_project(qtbot, window, make_project(1, annotated=0, w=2000, h=1500, name="big"))
    assert 2000 * 1500 > BACKGROUND_PIXELS
    window.tool_settings.set_category_id(CONCRETE)
    tool = window.controller.tools["PolygonTool"]
    window.controller.set_tool("PolygonTool")
    tool.points = [(0, 0), (2000, 0), (2000, 1500), (0, 1500)]
    with LoopWatch() as watch:
        qtbot.keyClick(window.view, Qt.Key.Key_Return)  # Enter fills the polygon
        assert doc.busy and window.undo_group.activeStack() is None  # undo waits too
        window.controller.delete_selected()                          # refused while busy
        qtbot.waitUntil(lambda: not doc.busy, timeout=20_000)
    assert watch.max_gap_ms < 200, watch.max_gap_ms
    assert (doc.annotation.id_map != 0).all() and doc.undo_stack.count() == 1
    assert window.undo_group.activeStack() is doc.undo_stack
    window.actions.a["undo"].trigger()
    assert not doc.annotation.id_map.any()


def test_opening_another_project_right_after_an_edit_saves_the_edit_first(qtbot, window, make_project):
    first = make_project(1, annotated=1, name="first")
    second = make_project(1, annotated=0, name="second")
    doc = open_project(qtbot, window, first)
    prepare(window, qtbot)
    key(qtbot, window, Qt.Key.Key_1)
    drag(qtbot, window.view, [(70.3, 10.3), (90.3, 14.3)])
    edited = doc.annotation.id_map.copy()
    assert window.autosaver.has_unsaved
    open_project(qtbot, window, second)  # at once, well within the autosave delay
    assert window.session.project.path == second
    with Project.open(first) as p:
        np.testing.assert_array_equal(p.annotations.load(p.images.list()[0].id).id_map, edited)
