"""The application window: opening a project, drops, thumbnails, navigation, zoom, layers,
categories, errors, preferences; long work never blocks the event loop."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from core.errors import BadImageError
from core.project import Project
from gui.dialogs.category_dialogs import PixelDecision
from gui.dialogs.import_dialog import ImportDialog
from core.formats.detect import COCO_INSTANCES, LABELME

from tests.support.dialogs import answer_add_category, press_dialog_button
from tests.support.gui import LoopWatch, open_project, write_photos

pytestmark = pytest.mark.timeout(60)


def drop_on(widget, paths: list[Path]) -> None:
    """A drop of files onto ``widget`` as the window system would deliver it."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(widget.rect().center())
    # The window system sends DragEnter first: it travels up to the first widget accepting drops,
    # which then receives the Drop.
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)


def scene_to_viewport(view, x: float, y: float) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def test_opening_a_project_shows_the_first_photo_its_segments_and_the_title(qtbot, window, make_project):
    path = make_project(3, annotated=1)
    doc = open_project(qtbot, window, path)
    assert window.photo.record.name == "photo_000.jpg"
    assert sorted(s.category_id for s in doc.editor.segments.values()) == [1, 2, 4]
    title = window.windowTitle()
    assert "photo_000.jpg" in title and "test" in title and "Panoptic Inspector" in title
    assert window.segments_panel.ann_root.childCount() == 3
    assert window.browser.model.rowCount() == 3
    assert window.status.save.text() == "All changes saved"


def test_dropped_folder_is_added_with_progress_thumbnails_arrive_and_the_loop_keeps_turning(
        qtbot, window, make_project, tmp_path):
    open_project(qtbot, window, make_project(1, annotated=0))
    files = write_photos(tmp_path / "drop", 30, 640, 480, start=100)
    note = tmp_path / "notes.txt"
    note.write_text("not a photo")
    with LoopWatch() as watch:
        drop_on(window.view.viewport(), [tmp_path / "drop", note])  # on the canvas: bubbles to the window
        qtbot.waitUntil(lambda: len(window.session.images) == 31, timeout=30_000)
        qtbot.waitUntil(lambda: all(window.browser.model.data(window.browser.model.index(r), 0x0102) is not None
                                    for r in range(31)), timeout=30_000)
    assert watch.ticks > 10 and watch.max_gap_ms < 200, watch.max_gap_ms
    assert {p.name for p in files} <= {r.name for r in window.session.images}
    box = window.findChild(QMessageBox, "unsupportedDropMessage")
    assert box is not None and "notes.txt" in box.text()
    box.close()
    assert window.project_actions.last_drop.unsupported == [note]


def test_a_dropped_dataset_opens_the_import_dialog(qtbot, window, make_project, tmp_path):
    open_project(qtbot, window, make_project(1, annotated=0))
    coco = tmp_path / "instances.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    labelme = tmp_path / "one.json"
    labelme.write_text(json.dumps({"shapes": [], "imagePath": "one.jpg", "imageData": None}))
    drop_on(window, [coco])
    qtbot.waitUntil(lambda: any(isinstance(d, ImportDialog) and d.isVisible()
                                for d in window.findChildren(ImportDialog)))
    dialog = next(d for d in window.findChildren(ImportDialog) if d.isVisible())
    assert dialog.kind.currentData() == COCO_INSTANCES and dialog.source.path() == coco
    dialog.reject()
    drop_on(window, [labelme])
    qtbot.waitUntil(lambda: any(d.isVisible() and d.kind.currentData() == LABELME
                                for d in window.findChildren(ImportDialog)))
    assert len(window.session.images) == 1  # nothing added without the user's go


def test_keyboard_moves_between_photos_and_the_filter_narrows_the_list(qtbot, window, make_project):
    open_project(qtbot, window, make_project(3, annotated=1))
    with qtbot.waitSignal(window.photo.documentReady):
        qtbot.keyClick(window.view, Qt.Key.Key_PageDown)
    assert window.photo.record.name == "photo_001.jpg"
    with qtbot.waitSignal(window.photo.documentReady):
        qtbot.keyClick(window.view, Qt.Key.Key_PageDown)
    with qtbot.waitSignal(window.photo.documentReady):
        qtbot.keyClick(window.view, Qt.Key.Key_PageUp)
    assert window.photo.record.name == "photo_001.jpg"
    b = window.browser
    b.status_filter.setCurrentIndex(b.status_filter.findData("in_progress"))
    assert b.proxy.rowCount() == 1
    b.status_filter.setCurrentIndex(b.status_filter.findData("unlabeled"))
    assert b.proxy.rowCount() == 2
    b.status_filter.setCurrentIndex(0)
    b.search.setText("002")
    assert b.proxy.rowCount() == 1
    assert "1 of 3" in b.count_label.text()


def test_wheel_zooms_about_the_cursor_and_fit_and_100_percent_work(qtbot, window, make_project):
    open_project(qtbot, window, make_project(1, w=400, h=300))
    view = window.view
    fitted = view.zoom
    anchor = scene_to_viewport(view, 100, 80)
    wheel = QWheelEvent(QPointF(anchor), QPointF(view.viewport().mapToGlobal(anchor)), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom == pytest.approx(fitted * 2 ** 0.5, rel=1e-3)
    back = view.mapToScene(anchor)
    assert abs(back.x() - 100) < 1.5 and abs(back.y() - 80) < 1.5  # the point under the cursor stays
    window.actions.a["actual"].trigger()
    assert view.zoom == pytest.approx(1.0)
    window.actions.a["fit"].trigger()
    assert view.zoom == pytest.approx(fitted, rel=1e-3)
    shift_wheel = QWheelEvent(QPointF(anchor), QPointF(anchor), QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
                              Qt.KeyboardModifier.ShiftModifier, Qt.ScrollPhase.NoScrollPhase, False)
    size = window.tool_settings.brush_size
    QApplication.sendEvent(view.viewport(), shift_wheel)
    assert window.tool_settings.brush_size > size and view.zoom == pytest.approx(fitted, rel=1e-3)


def _pixel(view, x: float, y: float):
    img = view.viewport().grab().toImage()
    p = scene_to_viewport(view, x, y)
    c = img.pixelColor(p)
    return c.red(), c.green(), c.blue()


def test_layer_toggles_and_opacity_change_what_is_drawn(qtbot, window, make_project):
    open_project(qtbot, window, make_project(1, w=96, h=64))
    view = window.view
    window.actions.a["actual"].trigger()
    view.set_zoom(6.0)
    view.centerOn(60, 25)
    qtbot.wait(50)
    with_overlay = _pixel(view, 60.5, 25.5)            # inside the spall (orange)
    window.actions.a["show_annotation"].trigger()      # off
    assert not view.annotation_item.isVisible()
    qtbot.wait(50)
    photo_only = _pixel(view, 60.5, 25.5)
    assert with_overlay[0] - with_overlay[2] > photo_only[0] - photo_only[2] + 30  # orange tint gone
    window.actions.a["show_annotation"].trigger()      # on again
    window.actions.opacity.setValue(100)
    qtbot.wait(50)
    spall = window.session.categories.by_id(2).color
    assert np.allclose(_pixel(view, 60.5, 25.5), spall, atol=4)  # opaque overlay: the category colour


def test_status_bar_names_the_pixel_category_and_segment_under_the_cursor(qtbot, window, make_project):
    open_project(qtbot, window, make_project(1))
    view = window.view
    qtbot.mouseMove(view.viewport(), scene_to_viewport(view, 10.5, 7.5))
    qtbot.waitUntil(lambda: "crack" in window.status.hover.text())
    text = window.status.hover.text()
    assert "x 10, y 7" in text and "#2" in text
    qtbot.mouseMove(view.viewport(), scene_to_viewport(view, 80.5, 5.5))
    qtbot.waitUntil(lambda: "unlabelled" in window.status.hover.text())


def test_categories_add_rename_recolour_and_delete_with_the_pixel_decision(qtbot, window, make_project, monkeypatch):
    path = make_project(2, annotated=2)
    open_project(qtbot, window, path)
    panel = window.categories_panel
    # add: the dialog answers as a user would
    answer_add_category(monkeypatch, "efflorescence", False, (250, 250, 240))
    panel.buttons["add"].click()
    assert panel.list.count() == 6 and panel.current().name == "efflorescence"
    # number keys choose categories
    qtbot.keyClick(window.view, Qt.Key.Key_2)
    assert window.tool_settings.category_id == 2
    # rename and recolour through the panel's buttons
    monkeypatch.setattr("gui.views.category_panel.QInputDialog.getText", lambda *a, **k: ("spall", True))
    panel.buttons["rename"].click()
    assert window.session.categories.by_id(2).name == "spall"
    from PySide6.QtGui import QColor
    monkeypatch.setattr("gui.views.category_panel.QColorDialog.getColor", lambda *a, **k: QColor(0, 200, 0))
    panel.buttons["recolour"].click()
    assert window.session.categories.by_id(2).color == (0, 200, 0)
    # delete "crack" (used in both photos): its pixels go to "spall"
    qtbot.keyClick(window.view, Qt.Key.Key_1)
    asked = []

    class Answer:
        def __init__(self, cat, cats, usage):
            asked.append((cat.name, usage))

        def exec(self):
            return 1

        def decision(self):
            return PixelDecision(2)

    monkeypatch.setattr(panel, "make_delete_dialog", Answer)
    with qtbot.waitSignal(window.photo.documentReady, timeout=10_000):
        panel.buttons["delete"].click()
    assert asked == [("crack", (2, 2, 2 * 8 * 36))]
    doc = window.photo.document
    assert 1 not in window.session.categories
    assert sorted(s.category_id for s in doc.editor.segments.values()) == [2, 2, 4]
    assert doc.annotation.id_map[5, 5] != 0  # the crack's pixels were kept, as spall
    with Project.open(path, read_only=True) as p:
        for rec in p.images.list():
            assert sorted(s.category_id for s in p.annotations.load(rec.id).segments.values()) == [2, 2, 4]


def test_deleting_a_category_to_void_clears_its_pixels(qtbot, window, make_project, monkeypatch):
    open_project(qtbot, window, make_project(1, annotated=1))
    panel = window.categories_panel
    panel.select_by_key(2)  # spalling

    class Void:
        def __init__(self, *a):
            pass

        def exec(self):
            return 1

        def decision(self):
            return PixelDecision(None)

    monkeypatch.setattr(panel, "make_delete_dialog", Void)
    with qtbot.waitSignal(window.photo.documentReady, timeout=10_000):
        panel.buttons["delete"].click()
    doc = window.photo.document
    assert doc.annotation.id_map[25, 60] == 0 and len(doc.editor.segments) == 2


def test_a_missing_photo_is_a_message_and_the_window_goes_on(qtbot, window, make_project, tmp_path):
    path = make_project(2)
    (tmp_path / "test_photos" / "photo_001.jpg").unlink()
    open_project(qtbot, window, path)
    with qtbot.waitSignal(window.photo.loadFailed, timeout=5000):
        window.browser.next_photo()
    from PySide6.QtWidgets import QMessageBox

    box = window.findChild(QMessageBox, "missingPhotoMessage")  # its own message, with Locate…
    assert box is not None and "photo_001.jpg" in box.text() and "moved" in box.informativeText()
    box.close()
    with qtbot.waitSignal(window.photo.documentReady):
        window.browser.previous_photo()  # still works


def test_an_exception_in_a_slot_becomes_a_report_not_a_crash(qtbot, window):
    import sys

    from gui.shell.error_reporter import install_excepthook

    previous = sys.excepthook
    install_excepthook(window.reporter)
    try:
        sys.excepthook(ValueError, ValueError("boom"), None)
        typed = BadImageError("cannot decode the image", "x.jpg")
        window.reporter.report(typed, "show the photo")
    finally:
        sys.excepthook = previous
    assert window.reporter.history[0].unexpected and "boom" in window.reporter.history[0].text
    assert window.reporter.history[1].text.startswith("Cannot decode") and "x.jpg" in window.reporter.history[1].text
    window.reporter.history.clear()  # expected here; the fixture fails on unexpected reports


def test_preferences_and_window_geometry_are_restored(qtbot, prefs, make_project):
    from gui.shell.main_window import MainWindow

    first = MainWindow(prefs, show_error_dialogs=False)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    # within the offscreen screen (800 x 800), above the window minimum (~510 px high with every panel)
    first.resize(720, 560)
    qtbot.wait(20)
    first.tool_settings.set_brush_size(42)
    first.actions.opacity.setValue(70)
    first.controller.set_tool("EraserTool")
    first.close()
    second = MainWindow(prefs, show_error_dialogs=False)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    assert (second.size().width(), second.size().height()) == (720, 560)
    assert second.tool_settings.brush_size == 42
    assert second.view.overlay_style.opacity == pytest.approx(0.7)
    assert type(second.controller.tool).__name__ == "EraserTool"
    second.close()


def test_a_large_photo_loads_in_the_background_preview_first(qtbot, window, tmp_path):
    import cv2

    from core.imageio import encode_jpeg

    big = cv2.resize(np.random.default_rng(0).integers(0, 255, (300, 400, 3), np.uint8), (4000, 3000))
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "big.jpg").write_bytes(encode_jpeg(big))
    with Project.create(tmp_path / "big.pinspect") as p:
        p.images.add_files([tmp_path / "big" / "big.jpg"])
    paints = []
    window.photo.firstPaint.connect(lambda i, s: paints.append(s))
    with LoopWatch() as watch:
        with qtbot.waitSignal(window.photo.fullResolution, timeout=30_000):
            window.project_actions.open_path(tmp_path / "big.pinspect")
    assert watch.max_gap_ms < 200, watch.max_gap_ms
    assert paints and window.view.photo_item.full_resolution


@pytest.mark.slow
def test_first_start_opens_the_sample_project_and_later_starts_the_last_one(qtbot, window, tmp_path, monkeypatch,
                                                                           make_project):
    from gui.shell.app import open_start_project

    sample = tmp_path / "appdata" / "sample" / "Sample.pinspect"
    monkeypatch.setattr("gui.shell.startup.sample_project_path", lambda: sample)
    with qtbot.waitSignal(window.photo.documentReady, timeout=30_000):
        open_start_project(window, [])
    assert sample.exists() and window.session.project.path == sample
    assert len(window.session.images) == 12
    assert sum(r.status == "done" for r in window.session.images) == 7
    # next start: the most recent project, here one opened after the sample
    other = make_project(1)
    open_project(qtbot, window, other)
    from gui.shell.startup import choose_start_project

    assert choose_start_project([], window.prefs) == (other, False)
    assert choose_start_project([str(sample)], window.prefs) == (sample, False)


def test_import_and_export_dialogs_run_in_the_background(qtbot, window, make_project, tmp_path):
    from core.synthetic.writer import write_coco_dataset
    from gui.dialogs.export_dialog import ExportDialog

    open_project(qtbot, window, make_project(1, annotated=1))
    write_coco_dataset(tmp_path / "synth", 3, size=64)
    dialog = ImportDialog(window.session, None, window)
    dialog.kind.setCurrentIndex(dialog.kind.findData("coco-panoptic"))
    dialog.source.set_path(tmp_path / "synth" / "panoptic.json")
    with qtbot.waitSignal(dialog.checked, timeout=20_000):
        qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)  # what will be created, nothing written
    assert "3 photos will be added" in dialog.summary.toPlainText() and len(window.session.images) == 1
    with qtbot.waitSignal(window.session.imagesChanged, timeout=20_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert len(window.session.images) == 4
    assert sum(r.status == "done" for r in window.session.images) == 3
    export = ExportDialog(window.session, window)
    export.dest.set_path(tmp_path / "out")
    export.val.setValue(0)
    started = []
    export.started.connect(started.append)
    press_dialog_button(export, "Export")
    qtbot.waitUntil(lambda: (tmp_path / "out" / "panoptic_all.json").exists(), timeout=20_000)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=10_000)
    data = json.loads((tmp_path / "out" / "panoptic_all.json").read_text())
    assert len(data["annotations"]) == 4 and started


def test_a_read_only_project_is_shown_but_not_edited(qtbot, window, make_project, monkeypatch):
    path = make_project(1, annotated=1)
    monkeypatch.setattr("gui.shell.main_window.QMessageBox.information", lambda *a, **k: None)
    with Project.open(path):  # another instance holds it: the window gets it read-only
        doc = open_project(qtbot, window, path)
        assert window.session.read_only and doc.read_only
        before = doc.annotation.id_map.copy()
        window.controller.set_tool("BrushTool")
        qtbot.keyClick(window.view, Qt.Key.Key_1)
        view = window.view
        qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         scene_to_viewport(view, 50, 50))
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           scene_to_viewport(view, 50, 50))
        np.testing.assert_array_equal(doc.annotation.id_map, before)
        assert doc.undo_stack.count() == 0 and window.autosaver.state == "saved"
        assert "read-only" in window.windowTitle() and window.status.save.text() == "Read-only"
        window.session.close()


def test_the_panels_added_by_the_model_and_measure_parts_keep_their_layout(qtbot, prefs):
    """The saved layout is restored after every panel exists: a closed Models panel stays closed."""
    from gui.shell.main_window import MainWindow

    first = MainWindow(prefs, show_error_dialogs=False)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    assert not first.docks["models"].isHidden()
    first.docks["models"].close()
    first.docks["measurements"].close()
    first.close()
    second = MainWindow(prefs, show_error_dialogs=False)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    assert second.docks["models"].isHidden() and second.docks["measurements"].isHidden()
    assert not second.docks["training"].isHidden()
    second.close()


def test_a_multi_photo_selection_survives_a_reload_of_the_photo_list(qtbot, window, make_project):
    """Predictions stored or photos added reload the list; the photos the user selected stay selected."""
    from PySide6.QtCore import QItemSelectionModel

    open_project(qtbot, window, make_project(3, annotated=1))
    browser = window.browser
    current = browser.current_id()
    other = browser.proxy.index(2, 0)
    browser.list.selectionModel().select(other, QItemSelectionModel.SelectionFlag.Select)
    chosen = browser.selected_ids()
    assert len(chosen) == 2 and current in chosen
    window.session.refresh_images()
    assert browser.selected_ids() == chosen and browser.current_id() == current
