"""Measuring in the window: the table shows the core's figures, calibration turns them into
millimetres and is kept in the project, tooltips, copy and CSV export, the table follows edits
and the canvas selection, and the report action writes the project's report."""
from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from core.measure import format_measurement, format_number, measure_annotation
from core.calibration import Calibration
from core.project import Project
from core.report import csv_columns
from gui.measure.calibration_dialogs import LineLengthDialog, ScaleDialog
from gui.measure.measurements_model import KEYS

from tests.support.dialogs import drag_line
from tests.support.gui import annotation_for, open_project

pytestmark = pytest.mark.timeout(60)

CRACK, SPALL, CONCRETE = 2, 3, 1  # segment ids of conftest.annotation_for


def measured(qtbot, window, rows: int = 3):
    """Wait for the measurements of the open photo; returns the MeasurementUI."""
    ui = window.measurement
    qtbot.waitUntil(lambda: ui.measurer.figures is not None and not ui.measurer.busy
                    and ui.panel.model.rowCount() == rows, timeout=10_000)
    return ui


def cell(ui, segment_id: int, key: str) -> str:
    model = ui.panel.model
    return model.index(model.row_of(segment_id), KEYS.index(key)).data()


def core_figures(window, calibration=None):
    rec = window.photo.record
    figures = measure_annotation(annotation_for(rec.height, rec.width), window.session.categories, calibration)
    return {m.segment_id: m for m in figures}


def test_table_shows_the_core_figures_in_pixels(qtbot, window, make_project):
    open_project(qtbot, window, make_project(2, annotated=1))
    ui = measured(qtbot, window)
    core = core_figures(window)
    assert "Not calibrated" in ui.panel.scale_label.text()
    titles = [ui.panel.model.headerData(c, Qt.Orientation.Horizontal) for c in range(len(KEYS))]
    assert "Length (px)" in titles and "Area (px²)" in titles
    crack = core[CRACK]
    assert crack.category_name == "crack" and crack.length_px == pytest.approx(35, abs=1.5)
    assert cell(ui, CRACK, "length") == format_number(crack.length)
    assert cell(ui, CRACK, "max_width") == format_number(crack.max_width)
    assert cell(ui, CRACK, "area") == format_number(crack.area) == "288"
    assert cell(ui, SPALL, "length") == ""  # no centreline figures for spalling
    assert cell(ui, SPALL, "area") == "200"
    assert cell(ui, CONCRETE, "label") == "" and cell(ui, CRACK, "label") == "1"
    assert "crack: 1, 35.0 px long" in ui.panel.totals_label.text()
    # Sorting by area, largest first: the concrete surface, then the crack, then the spall.
    ui.panel.table.sortByColumn(KEYS.index("area"), Qt.SortOrder.DescendingOrder)
    proxy = ui.panel.proxy
    order = [proxy.index(r, KEYS.index("segment_id")).data() for r in range(3)]
    assert order == ["#1", "#2", "#3"]
    # Sorting by length keeps the crack first and the rows without a length below, either way.
    for direction in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        ui.panel.table.sortByColumn(KEYS.index("length"), direction)
        assert proxy.index(0, KEYS.index("segment_id")).data() == "#2"


def test_calibrating_with_a_reference_line_gives_millimetres_and_is_kept_in_the_project(
        qtbot, window, make_project):
    path = make_project(2, annotated=1)
    open_project(qtbot, window, path)
    ui = measured(qtbot, window)
    window.actions.a["tool:CalibrationTool"].trigger()
    assert window.controller.tool is ui.tool
    drag_line(window.view, (10.0, 50.0), (60.0, 50.0))
    dlg = ui.line_dialog
    assert isinstance(dlg, LineLengthDialog)
    px = ((dlg.p1[0] - dlg.p0[0]) ** 2 + (dlg.p1[1] - dlg.p0[1]) ** 2) ** 0.5
    assert px == pytest.approx(50.0, abs=0.5)  # within a screen pixel at this zoom
    dlg.length.setValue(0.0)  # bad input: no scale, OK refused, the reason shown
    assert not dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    assert "positive" in dlg.result_label.text()
    dlg.length.setValue(2.5)
    dlg.unit.setCurrentIndex(dlg.unit.findData("cm"))  # 25 mm
    assert "1 px = " in dlg.result_label.text()
    dlg.accept()
    mm = 25.0 / px
    assert ui.calibration.calibration.mm_per_pixel == pytest.approx(mm)
    assert window.controller.tool is not ui.tool  # back to the tool used before
    assert ui.tool.line is None
    core = core_figures(window, Calibration(mm))
    assert ui.panel.model.headerData(KEYS.index("length"), Qt.Orientation.Horizontal) == "Length (mm)"
    assert ui.panel.model.headerData(KEYS.index("area"), Qt.Orientation.Horizontal) == "Area (mm²)"
    assert cell(ui, CRACK, "length") == format_number(core[CRACK].length)
    assert cell(ui, CRACK, "length") == format_number(core[CRACK].length_px * mm)
    assert cell(ui, SPALL, "area") == format_number(200 * mm * mm)
    assert "reference line" in ui.panel.scale_label.text() and "mm" in ui.panel.totals_label.text()
    # Stored per photo in the project: another photo has none, coming back finds it again.
    image_id = window.photo.record.id
    with qtbot.waitSignal(window.photo.documentReady):
        window.browser.next_photo()
    assert ui.calibration.calibration is None and "Not calibrated" in ui.panel.scale_label.text()
    with qtbot.waitSignal(window.photo.documentReady):
        window.browser.previous_photo()
    assert ui.calibration.calibration.mm_per_pixel == pytest.approx(mm)
    stored = window.session.project.calibration.get(image_id)
    assert stored.mm_per_pixel == pytest.approx(mm) and stored.detail["unit"] == "cm"
    # Taking the tool again shows the saved reference line, dashed, with its length.
    window.actions.a["tool:CalibrationTool"].trigger()
    line, label = ui.tool._ref_items
    assert label.text() == "reference: 2.5 cm" and line.line().length() == pytest.approx(px)
    window.controller.set_tool("SelectTool")  # another tool: the reference goes away
    assert ui.tool._ref_items == [] and line.scene() is None


def test_typed_scale_and_removing_it(qtbot, window, make_project):
    open_project(qtbot, window, make_project(1, annotated=1))
    ui = measured(qtbot, window)
    window.actions.a["set_scale"].trigger()
    dlg = window.findChild(ScaleDialog)
    dlg.value.setValue(0.05)
    dlg.unit.setCurrentIndex(dlg.unit.findData("cm"))  # 0.5 mm per pixel
    dlg.accept()
    assert ui.calibration.calibration.mm_per_pixel == pytest.approx(0.5)
    assert cell(ui, SPALL, "area") == format_number(200 * 0.25)
    qtbot.waitUntil(lambda: window.findChild(ScaleDialog) is None)
    window.actions.a["set_scale"].trigger()
    dlg = window.findChild(ScaleDialog)
    dlg.findChild(QDialogButtonBox).findChild(object, "removeScale").click()
    assert ui.calibration.calibration is None
    assert window.session.project.calibration.get(window.photo.record.id) is None
    assert cell(ui, SPALL, "area") == "200" and "Not calibrated" in ui.panel.scale_label.text()


def test_a_read_only_project_refuses_the_scale_with_a_reason(qtbot, window, make_project, monkeypatch):
    path = make_project(1, annotated=1)
    monkeypatch.setattr("gui.shell.main_window.QMessageBox.information", lambda *a, **k: None)
    with qtbot.waitSignal(window.photo.documentReady, timeout=10_000):
        window.session.adopt(Project.open(path, read_only=True))
    ui = measured(qtbot, window)
    assert not ui.apply(Calibration(0.5))
    assert "read-only" in window.reporter.history[-1].text
    assert ui.calibration.calibration is None and "Not calibrated" in ui.panel.scale_label.text()


def test_tooltips_give_the_segment_figures_in_the_photo_units(qtbot, window, make_project):
    open_project(qtbot, window, make_project(1, annotated=1))
    ui = measured(qtbot, window)
    core = core_figures(window)
    text = ui.tips.text_at(10, 8)  # on the crack
    assert text == format_measurement(core[CRACK])
    assert text.startswith("#1 crack") and "length 35.0 px" in text and "not calibrated" in text
    assert ui.tips.text_at(50, 2) == ""  # void
    assert ui.tips.text_at(60, 25).startswith("#2 spalling")
    ui.apply(Calibration(0.5))
    text = ui.tips.text_at(10, 8)
    assert "mm" in text and "not calibrated" not in text
    assert f"length {format_number(core[CRACK].length_px * 0.5)} mm" in text
    # Resting the mouse on the crack shows it as a tooltip.
    ui.tips.hovered(10, 8)
    qtbot.waitUntil(lambda: ui.tips.last_text != "", timeout=3000)
    assert ui.tips.last_text.startswith("#1 crack")
    ui.tips.hovered(50, 2)
    assert ui.tips.last_text == ""
    window.actions.a["measure_tips"].trigger()  # off
    ui.tips.hovered(10, 8)
    qtbot.wait(ui.tips._timer.interval() + 100)
    assert ui.tips.last_text == "" and window.prefs.get_bool("measure/tooltips", True) is False


def test_csv_export_and_copy(qtbot, window, make_project, tmp_path, monkeypatch):
    open_project(qtbot, window, make_project(1, annotated=1))
    ui = measured(qtbot, window)
    ui.apply(Calibration(0.5))
    out = tmp_path / "out" / "crack figures.csv"
    out.parent.mkdir()
    monkeypatch.setattr("gui.measure.install.QFileDialog.getSaveFileName", lambda *a, **k: (str(out)[:-4], ""))
    window.actions.a["export_measurements"].trigger()
    rows = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert rows[0] == csv_columns()
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert len(body) == 3 and {r["photo"] for r in body} == {"photo_000.jpg"}
    crack = next(r for r in body if r["category"] == "crack")
    core = core_figures(window)[CRACK]
    assert crack["unit"] == "mm" and crack["area_unit"] == "mm²"
    assert float(crack["length"]) == pytest.approx(core.length_px * 0.5, rel=1e-5)
    assert float(crack["area"]) == pytest.approx(288 * 0.25)
    assert int(crack["area_px"]) == 288 and crack["label"] == "1"
    # A place that cannot be written (its "folder" is a file): a clear message, nothing written.
    (tmp_path / "not a folder").write_text("x")
    monkeypatch.setattr("gui.measure.install.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "not a folder" / "x.csv"), ""))
    window.actions.a["export_measurements"].trigger()
    assert window.reporter.history[-1].title == "Could not export the measurements"
    assert (tmp_path / "not a folder").read_text() == "x"
    window.reporter.history.clear()
    # Copy: the selected rows with the header, tab-separated (all rows when none is selected).
    ui.panel.select_segments([SPALL])
    lines = ui.panel.copy_text().splitlines()
    assert lines[0].split("\t")[:3] == ["#", "Category", "Length (mm)"] and len(lines) == 2
    assert lines[1].split("\t")[1] == "spalling"
    ui.panel.select_segments([])
    ui.panel.table.setFocus()
    QTest.keyClick(ui.panel.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert len(QApplication.clipboard().text().splitlines()) == 4


def test_table_follows_edits_and_selection_both_ways(qtbot, window, make_project):
    open_project(qtbot, window, make_project(1, annotated=1))
    ui = measured(qtbot, window)
    doc = window.controller.document
    # A row chosen in the table selects the segment on the canvas, and the other way round.
    panel = ui.panel
    panel.table.selectRow(next(r for r in range(3) if panel.proxy.index(r, KEYS.index("segment_id")).data() == "#3"))
    assert doc.selected == (SPALL,)
    doc.select([CRACK])
    assert panel.selected_segments() == [CRACK]
    # Deleting a segment: the table follows once the edit settles, off the GUI thread; undo restores it.
    window.controller.delete_selected()
    ui = measured(qtbot, window, rows=2)
    assert {m.segment_id for m in panel.model.rows} == {SPALL, CONCRETE}
    window.undo_group.undo()
    measured(qtbot, window, rows=3)


def test_report_action_writes_the_project_report(qtbot, window, make_project, tmp_path):
    open_project(qtbot, window, make_project(2, annotated=1))
    ui = measured(qtbot, window)
    ui.apply(Calibration(0.5))
    window.actions.a["write_report"].trigger()
    dlg = ui.report.dialog
    assert dlg is not None and not dlg.source.isEnabled()  # no predictions in this project
    dlg.folder.setText(str(tmp_path / "report"))
    assert "will be created" in dlg.note.text()
    dlg.title.setText("Bridge A, north abutment")
    dlg.open_after.setChecked(False)
    with qtbot.waitSignal(ui.report.written, timeout=30_000) as blocker:
        dlg.accept()
    result = blocker.args[0]
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "Bridge A, north abutment" in html and "photo_000.jpg" in html and "data:image/jpeg;base64," in html
    rows = list(csv.DictReader((tmp_path / "report" / "segments.csv").open(encoding="utf-8-sig")))
    assert len(rows) == 3 and {r["unit"] for r in rows} == {"mm"}
    assert len(result.photos) == 2 and "2 photos" in window.status.currentMessage()  # one without figures
    assert "1 without figures" in window.status.currentMessage()
    # Asked again for the same folder, the dialog says the report there will be replaced.
    window.actions.a["write_report"].trigger()
    ui.report.dialog.folder.setText(str(tmp_path / "report"))
    assert "will be replaced" in ui.report.dialog.note.text()
    ui.report.dialog.reject()


def test_a_project_with_nothing_to_report_says_so(qtbot, window, make_project, tmp_path):
    open_project(qtbot, window, make_project(1, annotated=0))
    ui = window.measurement
    ui.report.write(tmp_path / "report")
    qtbot.waitUntil(lambda: ui.report.task is None and bool(window.reporter.history), timeout=10_000)
    assert "nothing to report" in window.reporter.history[-1].text.lower()
    assert "Annotate a photo" in window.reporter.history[-1].hint
    assert not (tmp_path / "report" / "report.html").exists()
    window.reporter.history.clear()  # expected, not a failure of the window


def test_the_prediction_on_the_canvas_can_be_measured_instead(qtbot, window, make_project):
    from core.panoptic import PanopticAnnotation, Segment

    open_project(qtbot, window, make_project(1, annotated=1))
    ui = measured(qtbot, window)
    assert not ui.panel.source_box.isEnabled()  # no prediction yet
    rec = window.photo.record
    truth = annotation_for(rec.height, rec.width)
    pred = PanopticAnnotation(truth.id_map.copy(), {1: Segment(1, 4, False, "model", 0.9),
                                                    2: Segment(2, 1, False, "model", 0.8),
                                                    3: Segment(3, 2, False, "model", 0.45)})
    window.photo.set_prediction(pred)
    assert ui.panel.source_box.isEnabled()
    ui.panel.source_box.setCurrentIndex(ui.panel.source_box.findData("prediction"))
    qtbot.waitUntil(lambda: ui.measurer.figures is not None and ui.measurer.figures.source == "prediction"
                    and not ui.measurer.busy, timeout=10_000)
    assert cell(ui, SPALL, "score") == "0.45" and not ui.panel.table.isColumnHidden(KEYS.index("score"))
    assert "(score 0.80)" in ui.tips.text_at(10, 8)
    ui.panel.select_segments([])
    ui.panel.table.selectRow(next(r for r in range(3) if ui.panel.proxy.index(r, KEYS.index("segment_id")).data()
                                  == "#2"))
    assert window.view.prediction_item._selected == {CRACK}
    assert window.controller.document.selected == ()  # the annotation's selection is not touched
    window.photo.set_prediction(None)  # gone: back to the annotation
    assert ui.panel.source == "annotation" and not ui.panel.source_box.isEnabled()
    qtbot.waitUntil(lambda: ui.measurer.figures is not None and ui.measurer.figures.source == "annotation"
                    and not ui.measurer.busy, timeout=10_000)
    assert ui.panel.table.isColumnHidden(KEYS.index("score"))


@pytest.mark.slow
def test_measuring_a_long_crack_never_stalls_the_window_and_stops_when_nobody_looks(qtbot, window, tmp_path):
    import numpy as np

    from core.panoptic import PanopticAnnotation, Segment

    from tests.support.gui import LoopWatch, write_photos

    files = write_photos(tmp_path / "big", 1, 2400, 1600)
    ids = np.zeros((1600, 2400), np.int32)
    for k in range(8):  # eight cracks across the photo, 3 px wide, slightly slanted
        rows = (np.arange(2400) * 0.1 + 150 + 170 * k).astype(int)
        for d in range(3):
            ids[rows + d, np.arange(2400)] = 2 + k
    ids[ids == 0] = 1
    segments = {1: Segment(1, 4), **{2 + k: Segment(2 + k, 1) for k in range(8)}}
    with Project.create(tmp_path / "big.pinspect") as project:
        project.images.add_files(files)
        project.annotations.save(project.images.list()[0].id, PanopticAnnotation(ids, segments))
    open_project(qtbot, window, tmp_path / "big.pinspect")
    ui = measured(qtbot, window, rows=9)
    with LoopWatch() as watch:
        ui.measurer.request(immediately=True)
        qtbot.waitUntil(lambda: ui.measurer.busy, timeout=2000)
        qtbot.waitUntil(lambda: not ui.measurer.busy, timeout=20_000)
    assert watch.max_gap_ms < 200, watch.max_gap_ms
    crack = next(m for m in ui.panel.model.rows if m.segment_id == 2)
    assert crack.length_px == pytest.approx(np.hypot(2400, 240), rel=0.02) and crack.max_width_px < 4
    # Panel closed and tooltips off: edits are not measured; shown again, the photo is measured at once.
    window.actions.a["measure_tips"].trigger()
    ui.dock.hide()
    qtbot.waitUntil(lambda: not ui.measurer.enabled, timeout=2000)
    assert ui.measurer.figures is None
    ui.dock.show()
    measured(qtbot, window, rows=9)
