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


def _started(qtbot, window, make_project, monkeypatch, config):
    """Register a run of ``config`` whose process is the test: ``send(rec)`` delivers a record as
    the child would and draws it."""
    open_project(qtbot, window, make_project(4, annotated=4))
    c = window.training.controller
    monkeypatch.setattr(c.process, "start", lambda spec: None)
    c.start(ctl.TrainRequest(config, "tiny"))
    window.docks["training"].show()
    window.docks["training"].raise_()
    panel = window.training.panel

    def send(rec) -> None:
        c.process.record.emit(rec)
        panel.flush()

    return panel, send


@pytest.fixture
def running(qtbot, window, make_project, monkeypatch):
    """A registered run of 10 epochs evaluated every 4 (epochs 4, 8 and 10)."""
    panel, send = _started(qtbot, window, make_project, monkeypatch, PRESETS["tiny"].replace(epochs=10, eval_every=4))
    yield window, panel, send
    monkeypatch.undo()
    window.training.controller._on_ended("cancelled")  # nothing runs: the controller goes back to idle


@pytest.fixture
def budgeted(qtbot, window, make_project, monkeypatch):
    """A run that lasts a 10-minute time budget (the preset's 10 epochs no longer count),
    evaluated every 2 epochs and when the budget is spent."""
    config = PRESETS["tiny"].replace(epochs=10, eval_every=2, max_minutes=10.0, follow_budget=True)
    panel, send = _started(qtbot, window, make_project, monkeypatch, config)
    yield window, panel, send
    monkeypatch.undo()
    window.training.controller._on_ended("cancelled")


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


def test_a_budgeted_run_shows_the_budget_left_not_the_presets_epochs(budgeted):
    window, panel, send = budgeted
    now = [1000.0]
    panel.clock = lambda: now[0]  # the panel's clock, for the countdown between records
    # Two minutes into the budget, in epoch 3 (4 steps an epoch, 1 s each: the preset's 10 epochs
    # would end in 30 s, the budget in 8 minutes).
    for k in range(1, 5):
        send(step(3, k, 4, 117.0 + k, 480.0 - k))
    assert panel.eta.text().startswith(hms(600 - 121) + " left")
    assert panel.progress.maximum() == 600 and panel.progress.value() == 121
    assert "of the time budget" in panel.progress.format() and "/10" not in panel.progress.format()
    assert "epoch 3" in panel.headline.text() and "of 10" not in panel.headline.text()
    assert "10 min time budget" in panel.headline.text()
    # An epoch that ended and an evaluation (20 s) that took its time: the closing evaluation counts.
    send(EpochRecord(3, 12, "joint", {"loss": 1.0}, images=8, seconds=4.0))
    send(EvalRecord(4, 16, 0.1, 0.5, 0.2, 0.1, 0.1, {}, images=1, seconds=20.0))
    send(step(4, 1, 4, 142.0, 458.0))
    assert panel.eta.text().startswith(hms(600 - 142 + 20) + " left")
    assert "closing evaluation (20 s)" in panel.eta.toolTip()
    # No record for 30 s (the child is busy): the budget still runs down.
    now[0] += 30.0
    panel.flush()
    assert panel.eta.text().startswith(hms(600 - 172 + 20) + " left")
    # Spent: only the closing evaluation is left, the bar is full.
    send(step(9, 2, 4, 601.0, 0.0))
    assert panel.progress.value() == panel.progress.maximum()
    assert panel.eta.text().startswith(hms(20) + " left")
    if os.environ.get("SHOTS_DIR"):
        window.grab().save(os.path.join(os.environ["SHOTS_DIR"], "training_budget.png"))


def test_a_time_limit_caps_the_time_left_of_a_run_counted_in_epochs(qtbot, window, make_project, monkeypatch):
    # 10 epochs of 4 one-second steps would take 40 s; the run stops at its 0.5-minute limit.
    config = PRESETS["tiny"].replace(epochs=10, eval_every=0, max_minutes=0.5)
    panel, send = _started(qtbot, window, make_project, monkeypatch, config)
    try:
        for k in range(1, 5):
            send(step(1, k, 4, float(k), 36.0 - k))
        assert panel.progress.maximum() == 40 and "epoch 1/10" in panel.progress.format()
        assert panel.eta.text().startswith(hms(30 - 4) + " left")
    finally:
        monkeypatch.undo()
        window.training.controller._on_ended("cancelled")


def test_a_resumed_run_keeps_itsstored_budget():
    stored = PRESETS["tiny"].replace(max_minutes=20.0, follow_budget=True).to_dict()
    assert ctl.stored_budget(stored) == (1200.0, True)
    assert ctl.stored_budget({"max_minutes": 5}) == (300.0, False)
    assert ctl.stored_budget({"max_minutes": "junk", "follow_budget": True}) == (0.0, False)


def test_the_dialogs_time_budget_makes_a_run_that_lasts_it(qtbot, window, make_project, monkeypatch):
    open_project(qtbot, window, make_project(4, annotated=4))
    dialog = window.training.open_train_dialog(measure=False)
    assert dialog.budget.value() == 0 and dialog.epochs.isEnabled()  # the presets count epochs
    dialog.budget.setValue(15)
    assert not dialog.epochs.isEnabled()
    cfg = dialog.request().config
    assert (cfg.max_minutes, cfg.follow_budget) == (15.0, True)
    both = dialog.stage.findData("detection+masks")  # its stage change is counted in epochs: a limit only
    dialog.stage.setCurrentIndex(both)
    cfg = dialog.request().config
    assert (cfg.max_minutes, cfg.follow_budget) == (15.0, False) and dialog.epochs.isEnabled()
    assert dialog.start_button.isEnabled()
    dialog.stage.setCurrentIndex(dialog.stage.findData("joint"))
    request = dialog.request()
    dialog.reject()
    c = window.training.controller
    monkeypatch.setattr(c.process, "start", lambda spec: None)
    try:
        c.start(request)
        assert c.run_time_budget() == (900.0, True)
        c.process.record.emit(step(1, 1, 4, 3.0, 897.0))
        window.training.panel.flush()
        assert window.training.panel.eta.text().startswith(hms(897) + " left")
    finally:
        monkeypatch.undo()
        c._on_ended("cancelled")
