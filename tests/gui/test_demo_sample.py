"""The first start: the sample project is made with the demo model active and every photo
predicted, and the window opens it with the open photo's prediction on the canvas and the
confidence slider working at once (no model run needed).

The shipped model is stood in for by the tiny random DETR of the inference tests, exported as the
real one is (float16 weights); ``resources/models/`` is never touched.
"""
from __future__ import annotations

import pytest

from core.demo import sample_model
from tests.support.models import INPUT, TINY, tiny_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def stand_in(tmp_path):
    from core.model import save_checkpoint
    from core.model.checkpoint import export_model

    model, categories = tiny_model()
    full = tmp_path / "trained.pt"
    save_checkpoint(full, model, TINY, categories, {"training": {"train_config": {"eval_size": INPUT}}})
    return export_model(full, tmp_path / "demo_cpu_fast.pt")


@pytest.mark.slow
def test_first_start_opens_the_sample_with_the_demo_model_and_its_predictions(qtbot, window, tmp_path, stand_in,
                                                                                monkeypatch):
    import gui.shell.startup
    from gui.shell.app import open_start_project

    sample = tmp_path / "data" / "Sample bridge inspection.pinspect"
    monkeypatch.setattr(gui.shell.startup, "sample_project_path", lambda: sample)
    monkeypatch.setattr(sample_model, "demo_model_path", lambda: stand_in)
    with qtbot.waitSignal(window.photo.documentReady, timeout=120_000):
        open_start_project(window, [])  # what the application does when it has no last project
    project = window.session.project
    assert project.path == sample
    [model] = project.models.list()
    assert model.checkpoint.parent == tmp_path / "data" / "Sample bridge inspection_models" / "demo"
    ui = window.prediction
    assert ui.models.model_id == model.id and sample_model.DEMO_MODEL_NAME in ui.panel.model_label.text()
    assert len(project.predictions.list(model_id=model.id)) == len(project.images.list()) == 12
    # The open photo's stored prediction is on the canvas without running the model.
    qtbot.waitUntil(lambda: ui.live.prediction is not None and ui.slider.segments_shown() is not None,
                    timeout=20_000)
    assert not ui.controller.busy
    image_id = window.photo.record.id
    stored = project.predictions.load_annotation(image_id, model.id)
    shown = window.view.prediction_item.annotation
    assert shown is not None and shown.shape == stored.shape
    before = ui.slider.segments_shown()
    assert before == len(shown.segments) > 0
    # The slider re-thresholds it live; raising it never adds a segment.
    with qtbot.waitSignal(ui.live.rethresholded, timeout=10_000) as sig:
        ui.slider.slider.setValue(95)
    threshold, n = sig.args
    assert threshold == pytest.approx(0.95) and n <= before
    assert n == len(ui.live.prediction.panoptic(threshold).segments)
    qtbot.waitUntil(lambda: not ui.live.busy, timeout=10_000)
