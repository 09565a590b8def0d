"""A training run that was cancelled, failed or never finished does not become the project's
active model by itself: the window keeps predicting with the last finished model, and the user
can still choose the stopped run in the Models panel."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from core.categories import default_categories
from core.project import Project

from tests.support.gui import open_project

pytestmark = pytest.mark.timeout(60)


def _add_run(project, tmp_path, name: str, status: str | None) -> int:
    """A registered model with a checkpoint file on disk and, for a run, its status."""
    ckpt = tmp_path / f"{name}.pt"
    ckpt.write_bytes(b"weights")
    training = {} if status is None else {"status": status, "epochs_done": 1}
    return project.models.add(name, checkpoint=ckpt, config={}, categories=default_categories(), training=training)


@pytest.mark.parametrize("status", ["cancelled", "failed", "interrupted", "running"])
def test_a_stopped_run_does_not_replace_the_finished_model(qtbot, window, make_project, tmp_path, status):
    path = make_project(2, annotated=1)
    with Project.open(path) as project:
        _add_run(project, tmp_path, "finished run", "finished")
        _add_run(project, tmp_path, f"{status} run", status)
    open_project(qtbot, window, path)
    assert "finished run" in window.prediction.panel.model_label.text()


def test_a_project_with_only_a_cancelled_run_has_no_model_until_the_user_chooses_it(
        qtbot, window, make_project, tmp_path):
    path = make_project(2, annotated=1)
    with Project.open(path) as project:
        model_id = _add_run(project, tmp_path, "40-second run", "cancelled")
    open_project(qtbot, window, path)
    assert "none yet" in window.prediction.panel.model_label.text()
    panel = window.training.models_panel
    window.docks["models"].show()
    window.docks["models"].raise_()
    row = next(r for r, (m, _info) in enumerate(panel.rows) if m.id == model_id)
    rect = panel.table.visualItemRect(panel.table.item(row, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.active_button.isEnabled()
    qtbot.mouseClick(panel.active_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "40-second run" in window.prediction.panel.model_label.text(), timeout=5000)
