"""The train dialog's estimate line: a run counted in epochs pays a checkpoint and its share of the
evaluations every epoch; a run that lasts its budget saves and evaluates about once a minute, so
its epoch is the training alone."""
from __future__ import annotations

from core.training.config import get_train_preset
from core.training.estimate import DeviceInfo, RunEstimate
from gui.training.speed_estimate import estimate_words

EST = RunEstimate(DeviceInfo("cpu", "CPU", 0.0, 2), 3, decode_s=0.05, step_s=0.1, eval_s=1.0, checkpoint_s=20.0,
                  cached=True)


def test_an_epoch_counted_run_pays_checkpoint_and_evaluation_every_epoch():
    cfg = get_train_preset("cpu_fast")                     # eval every 4 epochs
    words = estimate_words(EST, cfg, 600.0, n_train=24, n_val=8)
    # 24 photos x 0.1 s + a 20 s checkpoint + 8 x 1 s / 4 = 24.4 s
    assert "about 24 s per epoch with evaluation and checkpoints" in words


def test_a_budget_run_s_epoch_is_its_training_alone():
    cfg = get_train_preset("cpu_fast").replace(max_minutes=10, follow_budget=True)
    words = estimate_words(EST, cfg, 600.0, n_train=24, n_val=8)
    assert "about 10 min</b> on the CPU (the time budget), about 2 s per epoch." in words
