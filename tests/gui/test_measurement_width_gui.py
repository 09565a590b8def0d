"""The Measurements panel and its tooltips show crack widths read from the photo, with their
spread and how they were read, once the full photo is on the canvas."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from core.panoptic import PanopticAnnotation, Segment
from core.project import Project
from core.synthetic.thin_crack import render_crack
from gui.measure.measurements_model import KEYS

pytestmark = pytest.mark.timeout(60)


def test_panel_shows_the_photo_width_with_spread_and_method(qtbot, window, tmp_path):
    a = render_crack(1.5, blur_sigma=0.6, noise_sigma=2.0, contrast=50.0, seed=4)
    b = render_crack(6.0, blur_sigma=0.6, noise_sigma=2.0, contrast=50.0, angle_deg=-60, seed=5)
    gray = np.hstack([a.image, b.image])
    path = tmp_path / "wall.png"
    Image.fromarray(np.repeat(gray[..., None], 3, 2)).save(path)
    ids = np.full(gray.shape, 1, np.int32)
    ids[np.hstack([a.mask(1.0), np.zeros_like(b.mask())])] = 2  # masks 1 px too wide on each side
    ids[np.hstack([np.zeros_like(a.mask()), b.mask(1.0)])] = 3
    with Project.create(tmp_path / "w.pinspect") as project:
        project.images.add_files([path])
        project.annotations.save(project.images.list()[0].id,
                                 PanopticAnnotation(ids, {1: Segment(1, 4), 2: Segment(2, 1), 3: Segment(3, 1)}))
    with qtbot.waitSignal(window.photo.documentReady, timeout=10_000):
        window.project_actions.open_path(tmp_path / "w.pinspect")
    ui = window.measurement
    model = ui.panel.model

    def cell(segment_id, key):
        return model.index(model.row_of(segment_id), KEYS.index(key)).data()

    # The full photo arrives after the annotation: the widths are read from it then.
    qtbot.waitUntil(lambda: ui.measurer.figures is not None and not ui.measurer.busy and model.rowCount() == 3
                    and cell(2, "width_method") == "photo (ref.)", timeout=15_000)
    thin = next(m for m in model.rows if m.segment_id == 2)
    assert thin.width_px == pytest.approx(1.5, abs=0.15) and thin.mask_width_px > 3
    assert float(cell(2, "width")) == pytest.approx(1.5, abs=0.15)
    assert cell(3, "width_method") == "photo" and float(cell(3, "width")) == pytest.approx(6.0, abs=0.25)
    assert float(cell(2, "width_spread")) < 0.5
    titles = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(len(KEYS))]
    assert "Width (px)" in titles and "Width IQR (px)" in titles and "Width from" in titles
    tip = model.index(model.row_of(2), KEYS.index("width")).data(Qt.ItemDataRole.ToolTipRole)
    assert "read from the photo, interior contrast from its wider cracks" in tip
    window.grab().save(str(tmp_path.parent / "measure_width_window.png"))


def test_width_limit_is_chosen_kept_in_the_project_and_shown_per_crack(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QDialog

    from core.calibration import calibration_from_gsd
    from core.measure.exposure import project_width_limit
    from gui.measure.width_limit_dialog import WidthLimitDialog

    a = render_crack(3.0, blur_sigma=0.5, noise_sigma=2.0, contrast=60.0, seed=7)  # 0.30 mm at 0.1 mm/px
    path = tmp_path / "slab.png"
    Image.fromarray(np.repeat(a.image[..., None], 3, 2)).save(path)
    ids = np.where(a.mask(), 2, 1).astype(np.int32)
    with Project.create(tmp_path / "s.pinspect") as project:
        project.images.add_files([path])
        image_id = project.images.list()[0].id
        project.annotations.save(image_id, PanopticAnnotation(ids, {1: Segment(1, 4), 2: Segment(2, 1)}))
        project.calibration.set(image_id, calibration_from_gsd(0.1))
    with qtbot.waitSignal(window.photo.documentReady, timeout=10_000):
        window.project_actions.open_path(tmp_path / "s.pinspect")
    ui = window.measurement
    model = ui.panel.model
    qtbot.waitUntil(lambda: model.rowCount() == 2 and not ui.measurer.busy
                    and next(m for m in model.rows if m.segment_id == 2).width_method == "profile", timeout=15_000)
    col = KEYS.index("width_limit")
    assert model.index(model.row_of(2), col).data() == ""  # no limit yet

    ui.edit_width_limit()
    dlg = window.findChild(WidthLimitDialog)
    assert dlg is not None and not dlg.value.isEnabled()
    dlg.choice.setCurrentIndex(dlg.choice.findData("aci-deicing"))
    dlg.done(QDialog.DialogCode.Accepted)
    qtbot.waitUntil(lambda: model.index(model.row_of(2), col).data() == "above 0.18 mm", timeout=5000)
    assert "1 above" in ui.panel.totals_label.text() and "guidance, not an acceptance limit" in \
        ui.panel.totals_label.text()
    assert project_width_limit(window.session.project).key == "aci-deicing"

    ui.edit_width_limit()
    dlg = window.findChild(WidthLimitDialog)
    dlg.choice.setCurrentIndex(dlg.choice.findData("custom"))
    assert dlg.value.isEnabled()
    dlg.value.setValue(0.5)
    dlg.source.setText("client spec 4.2")
    dlg.done(QDialog.DialogCode.Accepted)
    qtbot.waitUntil(lambda: model.index(model.row_of(2), col).data() == "below 0.50 mm", timeout=5000)
    assert project_width_limit(window.session.project).source == "client spec 4.2"
    window.grab().save(str(tmp_path.parent / "measure_limit_window.png"))


def test_report_dialog_writes_the_pdf_with_the_notes(qtbot, window, tmp_path):
    import pypdfium2 as pdfium

    from gui.measure.report_dialog import ReportDialog

    a = render_crack(3.0, blur_sigma=0.5, noise_sigma=2.0, contrast=60.0, seed=7)
    path = tmp_path / "slab.png"
    Image.fromarray(np.repeat(a.image[..., None], 3, 2)).save(path)
    with Project.create(tmp_path / "s.pinspect") as project:
        project.images.add_files([path])
        project.annotations.save(project.images.list()[0].id,
                                 PanopticAnnotation(np.where(a.mask(), 2, 1).astype(np.int32),
                                                    {1: Segment(1, 4), 2: Segment(2, 1)}))
    with qtbot.waitSignal(window.photo.documentReady, timeout=10_000):
        window.project_actions.open_path(tmp_path / "s.pinspect")
    dlg = ReportDialog(tmp_path / "out", has_predictions=False, parent=window)
    assert not dlg.page_size.isEnabled()
    dlg.pdf.setChecked(True)
    assert dlg.page_size.isEnabled()
    dlg.page_size.setCurrentIndex(dlg.page_size.findData("Letter"))
    dlg.structure.setText("Culvert 7")
    dlg.element.setText("Wing wall")
    dlg.open_after.setChecked(False)
    options = dlg.options()
    assert (options.pdf, options.page_size, options.details()) == (True, "Letter", (("Structure", "Culvert 7"),
                                                                                    ("Element", "Wing wall")))
    with qtbot.waitSignal(window.measurement.report.written, timeout=20_000) as blocker:
        window.measurement.report.write(options)
    result = blocker.args[0]
    assert result.pdf is not None and result.pdf.pages == 2
    pdf = pdfium.PdfDocument(str(tmp_path / "out" / "report.pdf"))
    first = " ".join(pdf[0].get_textpage().get_text_range().split())
    assert "Culvert 7" in first and "Wing wall" in first and pdf[0].get_size() == pytest.approx((612, 792), abs=1)
    assert "Culvert 7" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
