"""The window names the model behind the figures it shows and that model's evaluation on the
project, and never reads "No defects" off a model that has not proved itself there."""
from __future__ import annotations

import numpy as np
import pytest

from core.categories import default_categories
from core.panoptic import PanopticAnnotation, Segment
from core.project import Project
from core.project.active_model import set_active_model

from tests.support.gui import open_project

pytestmark = pytest.mark.timeout(60)


def _with_model(path, pq: float | None = None, images: int = 0) -> int:
    """Register an active model; with ``pq``, as if training had validated it on ``images`` photos."""
    with Project.open(path) as project:
        model_id = project.models.add("quick run", checkpoint=None, config={}, categories=default_categories())
        if pq is not None:
            project.models.log_metrics(model_id, 1, {"val/PQ": pq, "val/images": images})
        set_active_model(project, model_id)
    return model_id


def _show_empty_prediction(qtbot, window):
    """The model's result on the open photo: concrete everywhere, no defect; measured."""
    ui = window.measurement
    qtbot.waitUntil(lambda: ui.measurer.figures is not None and not ui.measurer.busy, timeout=10_000)
    rec = window.photo.record
    pred = PanopticAnnotation(np.ones((rec.height, rec.width), np.int32), {1: Segment(1, 4, False, "model", 0.9)})
    window.photo.set_prediction(pred)
    ui = window.measurement
    ui.panel.source_box.setCurrentIndex(ui.panel.source_box.findData("prediction"))
    qtbot.waitUntil(lambda: ui.measurer.figures is not None and ui.measurer.figures.source == "prediction"
                    and not ui.measurer.busy, timeout=10_000)
    return ui.panel


def test_an_unevaluated_model_is_named_as_such_and_its_empty_result_is_not_no_defects(qtbot, window, make_project):
    path = make_project(3, annotated=1)
    _with_model(path)
    open_project(qtbot, window, path)
    label = window.prediction.panel.model_label
    assert "quick run" in label.text() and "not evaluated" in label.text()
    panel = _show_empty_prediction(qtbot, window)
    text = panel.totals_label.text()
    assert "No defects on this photo" not in text and "never evaluated" in text


def test_a_model_that_passed_its_validation_may_say_no_defects(qtbot, window, make_project):
    path = make_project(3, annotated=1)
    _with_model(path, pq=41.5, images=9)
    open_project(qtbot, window, path)
    assert "PQ 41.5 on 9 validation photos" in window.prediction.panel.model_label.text()
    tip = window.prediction.panel.model_label.toolTip()
    assert "SQ" in tip and "RQ" in tip and "0-100" in tip  # what the figure means, where it is shown
    assert _show_empty_prediction(qtbot, window).totals_label.text() == "No defects on this photo."


def test_the_report_from_the_window_lists_every_photo(qtbot, window, make_project, tmp_path):
    path = make_project(3, annotated=1)
    open_project(qtbot, window, path)
    ui = window.measurement
    window.actions.a["write_report"].trigger()
    dlg = ui.report.dialog
    dlg.folder.setText(str(tmp_path / "report"))
    dlg.open_after.setChecked(False)
    with qtbot.waitSignal(ui.report.written, timeout=30_000):
        dlg.accept()
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    for name in ("photo_000.jpg", "photo_001.jpg", "photo_002.jpg"):
        assert f". {name}</h2>" in html
    assert html.count("Not annotated") == 2
    assert "3 photos" in window.status.currentMessage() and "2 without figures" in window.status.currentMessage()
