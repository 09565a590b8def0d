"""The train dialog's estimate is measured on the project's own photos, says so, covers the whole
run (epochs, evaluation, checkpoints), and follows the epochs without measuring again."""
from __future__ import annotations

import os

import pytest

from core.training.estimate import duration_words, run_seconds
from gui.training import weights_choice as td
from tests.support.gui import open_project


@pytest.fixture
def in_process(monkeypatch):
    """The measurement runs in the test's process (a spawned child costs seconds of start-up)."""
    import core.training.background as background

    monkeypatch.setattr(background, "call_in_child", lambda fn, args=(), cancel=None, **_kw: fn(*args))


def test_the_estimate_is_measured_on_the_photos_and_covers_the_run(qtbot, window, make_project, in_process,
                                                                   one_torch_thread):
    open_project(qtbot, window, make_project(5, annotated=5, w=160, h=120))
    dialog = window.training.open_train_dialog(measure=True)
    dialog.preset.setCurrentIndex(dialog.preset.findData("tiny"))
    dialog.init.setCurrentIndex(dialog.init.findData(td.INIT_NONE))
    qtbot.waitUntil(lambda: "refined" in dialog.estimate_label.text(), timeout=30_000)
    text = dialog.estimate_label.text()
    assert "Measured on 3 of your photos at 96 px" in text
    assert "once training starts" in text
    est = dialog.estimate
    assert est is not None and est.photos == 3 and est.decode_s > 0 and est.step_s > 0 and est.eval_s > 0
    cfg = dialog.config()
    n_train, n_val, _ = dialog.split()
    total = run_seconds(est, n_train, n_val, epochs=cfg.epochs, batch_size=cfg.batch_size,
                        eval_every=cfg.eval_every)
    assert duration_words(total) in text
    assert dialog.device_label.text().startswith(("CUDA GPU", "No CUDA GPU"))

    # More epochs: the same measurement, a longer run, at once.
    dialog.epochs.setValue(cfg.epochs * 50)
    assert dialog.estimate is est and not dialog.speed.measuring
    longer = dialog.run_seconds()
    assert longer > 20 * total
    assert duration_words(longer) in dialog.estimate_label.text()
    if os.environ.get("SHOTS_DIR"):
        dialog.adjustSize()
        dialog.grab().save(os.path.join(os.environ["SHOTS_DIR"], "train_dialog_estimate.png"))

    # A larger size or batch asks for a new measurement; the old figure is not shown meanwhile.
    dialog.image_size.setValue(320)
    assert dialog.estimate is None and dialog.run_seconds() != dialog.run_seconds()  # NaN
    assert dialog.estimate_label.text() == "Measuring the speed on your photos…"
    dialog.reject()  # closing ends the measurement
