"""A time budget is the budget: with ``follow_budget`` the run lasts its minutes, as many epochs as
fit, and the learning-rate schedule follows the share of the budget spent (a fake clock makes the
minutes exact); without it the epochs still end the run."""
from __future__ import annotations

import argparse
import math

import pytest

from core.data import coco_panoptic_source
from core.training import Trainer
from core.training.config import UNLIMITED_EPOCHS, TrainConfig
from core.training.optim import LRSchedule
from tests.core.data.synth import make_coco_dataset
from tests.core.training.helpers import TINY_MODEL, steps, tiny_config

STEP_SECONDS = 5.0


class StepClock:
    """A monotonic clock that moves only when told: the test advances it once per training step,
    so a step 'lasts' ``STEP_SECONDS`` whatever the machine's speed."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run_with_clock(trainer: Trainer, clock: StepClock) -> list:
    records = []
    for rec in trainer.run():
        records.append(rec)
        if rec.kind == "step":
            clock.now += STEP_SECONDS
    return records


def cosine(base: float, t: float) -> float:
    return base * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * t)))


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return coco_panoptic_source(make_coco_dataset(root, n=4, sizes=((64, 64),)))


def test_schedule_by_time_follows_the_budget_not_the_steps():
    cos = LRSchedule("cosine", total_steps=10, by_time=True)
    assert cos(0) == pytest.approx(1.0)
    assert cos(500) == pytest.approx(1.0)  # steps beyond total_steps do not decay a by-time schedule
    cos.progress_floor = 0.5
    assert cos(3) == pytest.approx(0.01 + 0.99 * 0.5)
    cos.progress_floor = 1.0
    assert cos(3) == pytest.approx(0.01)
    step = LRSchedule("step", total_steps=10, drop_step=2, drop_factor=0.1, by_time=True)
    step.progress_floor = 0.6
    assert step(9) == 1.0  # the step count (past drop_step) does not drop it: two thirds of the time do
    step.progress_floor = 0.7
    assert step(0) == pytest.approx(0.1)
    warm = LRSchedule("cosine", total_steps=0, warmup_steps=4, by_time=True)
    assert warm(1) == pytest.approx(0.5)


def test_follow_budget_needs_a_budget_and_one_stage():
    with pytest.raises(ValueError, match="max_minutes"):
        TrainConfig(follow_budget=True)
    with pytest.raises(ValueError, match="detection\\+masks"):
        TrainConfig(follow_budget=True, max_minutes=5, stage="detection+masks", epochs=4, mask_epochs=1)
    assert TrainConfig(follow_budget=True, max_minutes=5, epochs=3).epoch_limit == UNLIMITED_EPOCHS
    assert TrainConfig(max_minutes=5, epochs=3).epoch_limit == 3
    # stored configs of older runs (no such key) still load, as runs that count epochs
    old = {k: v for k, v in TrainConfig().to_dict().items() if k != "follow_budget"}
    assert TrainConfig.from_dict(old).follow_budget is False


@pytest.mark.slow
def test_a_run_that_follows_its_budget_lasts_the_minutes(source, tmp_path):
    # 4 photos, batch 2: 2 steps per epoch. The budget of 1 minute holds 12 steps of 5 s: 6 epochs,
    # although the config says 2. A budget run saves and evaluates at save points a minute apart
    # (core.training.save_points): here the first epoch and the last; evaluation every 5 epochs is
    # not due at the first, and the end of the budget evaluates anyway.
    clock = StepClock()
    cfg = tiny_config(epochs=2, max_minutes=1.0, follow_budget=True, lr_schedule="cosine", warmup_steps=0,
                      eval_every=5, hflip=False, crop_prob=0.0, jitter=0.0)
    records = run_with_clock(Trainer(cfg, source, tmp_path / "run", val_source=source, model_config=TINY_MODEL,
                                     clock=clock), clock)
    st = steps(records)
    summary = records[-1]
    assert summary.kind == "summary" and summary.status == "finished"
    assert len(st) == 12 and summary.epochs_done == 6
    # The learning rate at step k was set by the share of the budget spent when the step began.
    for k, rec in enumerate(st, start=1):
        assert rec.lr == pytest.approx(cosine(cfg.lr, (k - 1) / 12), rel=1e-6), k
    assert st[-1].lr < 0.05 * cfg.lr  # decayed to the end of the cosine, not cut off at its top
    evals = [r for r in records if r.kind == "eval"]
    assert [r.epoch for r in evals] == [6]
    assert (tmp_path / "run" / "best.pt").is_file() and (tmp_path / "run" / "last.pt").is_file()


def test_a_budget_run_saves_and_evaluates_once_a_minute_not_every_epoch(source, tmp_path):
    # 3 minutes, 2 steps of 15 s per epoch: 6 epochs of 30 s. Save points: the first epoch, then one
    # minute of the budget later (epochs 3 and 5), and the last; evaluation (every epoch asked) at
    # save points only. Counted in epochs, the same run would have saved 6 times and evaluated 6.
    clock = StepClock()
    cfg = tiny_config(epochs=2, max_minutes=3.0, follow_budget=True, eval_every=1, hflip=False, crop_prob=0.0,
                      jitter=0.0)
    trainer = Trainer(cfg, source, tmp_path / "run", val_source=source, model_config=TINY_MODEL, clock=clock)
    records = []
    for rec in trainer.run():
        records.append(rec)
        if rec.kind == "step":
            clock.now += 3 * STEP_SECONDS
    assert records[-1].status == "finished" and records[-1].epochs_done == 6
    epochs = [r for r in records if r.kind == "epoch"]
    assert [r.epoch for r in epochs if r.checkpoint] == [1, 3, 5, 6]
    assert [r.epoch for r in records if r.kind == "eval"] == [1, 3, 5, 6]
    assert (tmp_path / "run" / "last.pt").is_file() and (tmp_path / "run" / "best.pt").is_file()


def test_save_points_of_a_long_budget_are_a_twentieth_apart_and_evaluations_take_a_twentieth():
    from core.training.save_points import SavePoints

    hours = SavePoints(2 * 3600, True, eval_every=1, keep_every=0, start_epoch=0)
    assert hours.is_save_point(1, False, 0.001)                   # the first epoch of a session
    assert not hours.is_save_point(2, False, 0.049)
    assert hours.is_save_point(3, False, 0.0511)                  # 6 of 120 minutes later
    kept = SavePoints(600, True, eval_every=4, keep_every=5, start_epoch=0)
    assert kept.is_save_point(1, False, 0.01) and not kept.is_save_point(4, False, 0.02)
    assert kept.is_save_point(5, False, 0.03)                     # its copy is kept: always saved
    assert not kept.evaluates(4, False, save_point=False)         # not a save point
    assert kept.evaluates(5, False, save_point=True)              # 5 epochs since the start >= 4
    assert not kept.evaluates(7, False, save_point=True)          # only 2 epochs later
    assert kept.evaluates(8, True, save_point=True)               # the last always
    # Evaluations of a budget run take at most 5 % of its time: a 10-s evaluation at the first
    # minute's save point, the next one not before 400 s (10 + 10 s <= 5 % of 400 s).
    slow = SavePoints(1200, True, eval_every=1, keep_every=0, start_epoch=0)
    assert slow.evaluates(1, False, save_point=True, elapsed_s=60)
    slow.evaluated(10.0)
    assert not slow.evaluates(2, False, save_point=True, elapsed_s=120)
    assert not slow.evaluates(3, False, save_point=True, elapsed_s=390)
    assert slow.evaluates(4, False, save_point=True, elapsed_s=400)
    slow.evaluated(10.0)
    assert slow.evaluates(5, True, save_point=True, elapsed_s=401)  # the closing one whatever it costs
    epochs = SavePoints(0, False, eval_every=3, keep_every=0, start_epoch=0)
    assert all(epochs.is_save_point(e, False, 0.0) for e in range(1, 5))
    assert [e for e in range(1, 8) if epochs.evaluates(e, e == 7, True)] == [3, 6, 7]


def test_without_follow_budget_the_epochs_end_the_run_first(source, tmp_path):
    clock = StepClock()
    cfg = tiny_config(epochs=2, max_minutes=1.0, lr_schedule="cosine", warmup_steps=0)
    records = run_with_clock(Trainer(cfg, source, tmp_path / "run", model_config=TINY_MODEL, clock=clock), clock)
    st = steps(records)
    assert records[-1].status == "finished" and len(st) == 4  # 2 epochs, 20 of the 60 s
    # the cosine runs by whichever is further, steps (k / 4) or time ((k - 1) / 12): here the steps
    for k, rec in enumerate(st, start=1):
        assert rec.lr == pytest.approx(cosine(cfg.lr, max(k / 4, (k - 1) / 12)), rel=1e-6), k


def test_the_budget_ending_between_epochs_still_evaluates_the_last_one(source, tmp_path):
    # 2 steps of 5 s per epoch, budget 0.5 min = 30 s = exactly 3 epochs: the budget is found spent
    # at the end of epoch 3 (which is then evaluated, though eval_every=10 is not due) and the run ends.
    clock = StepClock()
    cfg = tiny_config(epochs=2, max_minutes=0.5, follow_budget=True, eval_every=10, hflip=False, crop_prob=0.0,
                      jitter=0.0)
    records = run_with_clock(Trainer(cfg, source, tmp_path / "run", val_source=source, model_config=TINY_MODEL,
                                     clock=clock), clock)
    assert records[-1].status == "finished" and records[-1].epochs_done == 3 and len(steps(records)) == 6
    assert [r.epoch for r in records if r.kind == "eval"] == [3]


def _args(**given):
    """The namespace ``main.py train`` parses, with the options given."""
    from core.commands import train_cmd

    parser = argparse.ArgumentParser()
    train_cmd.register(parser.add_subparsers())
    argv = ["train", "data.json"]
    for k, v in given.items():
        argv += [f"--{k.replace('_', '-')}", str(v)]
    return parser.parse_args(argv)


def test_cli_max_minutes_without_epochs_follows_the_budget(tmp_path):
    from core.commands.train_cmd import build_config

    assert build_config(_args(max_minutes=20), None).follow_budget is True
    cfg = build_config(_args(max_minutes=20, epochs=30), None)
    assert cfg.follow_budget is False and cfg.epochs == 30  # both given: whichever ends first
    assert build_config(_args(), None).follow_budget is False
    two_stage = build_config(_args(max_minutes=20, preset="detr_r50"), None)
    assert two_stage.follow_budget is False and two_stage.stage == "detection+masks"


def test_cli_help_says_the_budget_drives_the_schedule(capsys):
    from core.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Without --epochs the run lasts the budget" in text and "follows the minutes" in text


def test_the_budget_spent_by_an_evaluation_ends_the_run_without_a_second_one(source, tmp_path):
    # Epoch 1 trains 10 s of a 60 s budget; its evaluation takes 100 s. The next epoch finds the
    # budget spent before its first step: the run ends there, finished, with epoch 1 evaluated once.
    from core.training.evaluate import evaluate_pq

    clock = StepClock()

    def slow_evaluation(*args, **kwargs):
        clock.now += 100.0
        return evaluate_pq(*args, **kwargs)

    cfg = tiny_config(epochs=2, max_minutes=1.0, follow_budget=True, eval_every=1)
    records = run_with_clock(Trainer(cfg, source, tmp_path / "run", val_source=source, model_config=TINY_MODEL,
                                     clock=clock, evaluate_fn=slow_evaluation), clock)
    assert records[-1].status == "finished" and records[-1].epochs_done == 1 and len(steps(records)) == 2
    assert [r.epoch for r in records if r.kind == "eval"] == [1]
    assert [r.epoch for r in records if r.kind == "epoch"] == [1]


def test_a_budget_run_in_a_project_counts_epochs_done_without_a_total(tmp_path):
    from core.project import Project
    from core.training import project_models as pm

    with Project.create(tmp_path / "p.pinspect") as project:
        budget = pm.register_run(project, pm.new_run_dir(project),
                                 TrainConfig(epochs=12, max_minutes=20, follow_budget=True), "cpu_fast")
        counted = pm.register_run(project, pm.new_run_dir(project), TrainConfig(epochs=12), "cpu_fast")
        assert pm.run_info(project, project.models.get(budget)).epochs == 0  # the panel shows epochs done alone
        assert pm.run_info(project, project.models.get(counted)).epochs == 12
