"""The training panel's time left is counted in the run's measured epochs once the first one has
ended (its training time for each epoch left, its evaluation time for each evaluation left), so a
wrong first guess corrects itself. Records are fed to the controller as the training process
sends them."""
from __future__ import annotations

import os

import pytest

from core.training.config import PRESETS
from core.training.records import EpochRecord, EvalRecord, StepRecord
from gui.training import controller as ctl
from gui.training.training_panel import hms
from tests.support.gui import open_project


@pytest.fixture
def running(qtbot, window, make_project, monkeypatch):
    """A registered run of 10 epochs evaluated every 4 (epochs 4, 8 and 10), whose process is
    the test: ``send(rec)`` delivers a record as the child would."""
    open_project(qtbot, window, make_project(4, annotated=4))
    c = window.training.controller
    monkeypatch.setattr(c.process, "start", lambda spec: None)
    c.start(ctl.TrainRequest(PRESETS["tiny"].replace(epochs=10, eval_every=4), "tiny"))
    window.docks["training"].show()
    window.docks["training"].raise_()
    panel = window.training.panel

    def send(rec) -> None:
        c.process.record.emit(rec)
        panel.flush()

    yield window, panel, send
    monkeypatch.undo()
    c._on_ended("cancelled")  # nothing runs: the controller goes back to idle


def step(epoch: int, k: int, steps: int, elapsed: float, eta: float) -> StepRecord:
    return StepRecord(epoch, k, steps, (epoch - 1) * steps + k, "joint", {"loss": 1.0}, 1e-4, 1e-5, 1.0, 2.0,
                      elapsed, eta)


def test_the_time_left_follows_the_measured_epochs(running):
    window, panel, send = running
    # The first epoch: a guess from the pace of its steps (0.2 s each, 36 steps left: 7 s).
    for k in range(1, 5):
        send(step(1, k, 4, 0.2 * k, 7.0))
    assert panel.eta.text().startswith(hms(36 * 0.2))
    # The first epoch really took 58 s: 9 epochs left, evaluations after epochs 4, 8 and 10 not
    # timed yet.
    send(EpochRecord(1, 4, "joint", {"loss": 1.0}, images=8, seconds=58.0))
    assert panel.remaining_seconds() == pytest.approx(9 * 58.0)
    assert panel.eta.text().startswith(hms(9 * 58.0) + " left")
    assert "58 s per epoch" in panel.eta.toolTip()
    # Half-way through the second epoch.
    send(step(2, 2, 4, 60.0, 9.0))
    assert panel.remaining_seconds(panel.controller.records[-1]) == pytest.approx(8.5 * 58.0)
    assert panel.eta.text().startswith(hms(8.5 * 58.0))
    for epoch in (2, 3):
        send(EpochRecord(epoch, 4 * epoch, "joint", {"loss": 1.0}, images=8, seconds=62.0))
    send(EpochRecord(4, 16, "joint", {"loss": 1.0}, images=8, seconds=60.0))
    # epochs 58, 62, 62, 60: median 61; epoch 4's evaluation is running, then 8 and 10
    assert panel.remaining_seconds() == pytest.approx(6 * 61.0)
    send(EvalRecord(4, 16, 0.1, 0.5, 0.2, 0.1, 0.1, {}, images=1, seconds=30.0))
    assert panel.remaining_seconds() == pytest.approx(6 * 61.0 + 2 * 30.0)
    assert panel.eta.text().startswith(hms(6 * 61.0 + 2 * 30.0))
    assert "30 s per evaluation" in panel.eta.toolTip()
    if os.environ.get("SHOTS_DIR"):
        window.grab().save(os.path.join(os.environ["SHOTS_DIR"], "training_eta.png"))


def test_an_epoch_of_one_step_still_moves_the_progress(running):
    _window, panel, send = running
    c = panel.controller
    # One step per epoch: its step and its epoch record arrive in the same burst.
    c.process.record.emit(step(1, 1, 1, 5.0, 45.0))
    c.process.record.emit(EpochRecord(1, 1, "joint", {"loss": 1.0}, images=2, seconds=5.0))
    panel.flush()
    assert panel.progress.maximum() == 10 and panel.progress.value() == 1
    assert panel.eta.text().startswith(hms(9 * 5.0) + " left")
