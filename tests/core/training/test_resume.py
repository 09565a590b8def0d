"""Resume: an interrupted run continued from its checkpoint gives exactly the losses of a run
that was never interrupted (same seed), and its metrics file holds every step once."""
from __future__ import annotations

import threading

import pytest

from core.data import coco_panoptic_source
from core.errors import CheckpointError
from core.training import MetricsFile, Trainer
from tests.core.data.synth import make_coco_dataset
from tests.core.training.helpers import TINY_MODEL, steps, tiny_config

#: Dropout on, so that the restored random state matters too.
MODEL = TINY_MODEL.replace(dropout=0.1)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return coco_panoptic_source(make_coco_dataset(root, n=6, sizes=((64, 64),), kinds=("mixed", "stuff_only")))


def _losses(records):
    return {r.step: r.losses for r in steps(records)}


@pytest.mark.slow
@pytest.mark.parametrize("stop_after", [3, 4], ids=["mid-epoch", "epoch-boundary"])
def test_resumed_run_continues_the_same_loss_curve(source, tmp_path, stop_after):
    # Augmentation on, step LR drop inside the run, evaluation (hence best.pt) every epoch:
    # everything that carries state across the interruption is exercised.
    cfg = tiny_config(epochs=3, min_size=48, max_size=64, lr_schedule="step", lr_drop_epoch=2,
                      val_fraction=0.34, eval_every=1)
    full = _losses(Trainer(cfg, source, tmp_path / "full", model_config=MODEL).run())
    assert len(full) == 6  # 4 training photos, batches of 2, 3 epochs

    cancel = threading.Event()
    first = []
    for rec in Trainer(cfg, source, tmp_path / "cut", model_config=MODEL, cancel=cancel).run():
        first.append(rec)
        if rec.kind == "step" and rec.step == stop_after:
            cancel.set()
    assert first[-1].status == "cancelled" and max(_losses(first)) == stop_after

    rest = list(Trainer(cfg, source, tmp_path / "cut", model_config=MODEL,
                        resume=tmp_path / "cut" / "last.pt").run())
    assert rest[-1].status == "finished"
    resumed = {**_losses(first), **_losses(rest)}
    assert min(_losses(rest)) == stop_after + 1
    assert resumed == full  # bit-for-bit the same loss values, every term, every step

    logged = [r.step for r in MetricsFile.read(tmp_path / "cut" / "metrics.jsonl") if r.kind == "step"]
    assert logged == list(range(1, 7))


def test_resume_refuses_data_with_other_categories(source, tmp_path):
    list(Trainer(tiny_config(epochs=1), source, tmp_path / "run", model_config=MODEL).run())
    other = source.__class__(source.categories.removed(3), source.samples, "other")
    with pytest.raises(CheckpointError, match="cannot resume"):
        list(Trainer(tiny_config(epochs=2), other, tmp_path / "run", model_config=MODEL,
                     resume=tmp_path / "run" / "last.pt").prepare())
