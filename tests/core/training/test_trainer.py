"""The trainer on generated photos with a tiny model: it learns, stages freeze what they should,
cancel is prompt, faults stop cleanly with the last good checkpoint kept."""
from __future__ import annotations

import json
import threading
import time

import pytest
import torch

from core.data import coco_panoptic_source
from core.errors import CheckpointError, TrainingError
from core.model.checkpoint import load_checkpoint
from core.training import MetricsFile, Trainer
from core.training.checkpointing import state_from, training_part
from tests.core.data.synth import make_coco_dataset
from tests.core.training.helpers import TINY_MODEL, steps, tiny_config

TERMS = ("loss_ce", "loss_bbox", "loss_giou", "loss_mask", "loss_dice")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    # Square photos keep tensor shapes constant (fast on the CPU); an empty and a stuff-only one included.
    return coco_panoptic_source(make_coco_dataset(root, n=4, sizes=((64, 64),),
                                                  kinds=("mixed", "stuff_only", "mixed", "empty")))


class Faulty:
    """Wraps the criterion: from call ``at`` on, ``make(losses)`` changes its result."""

    def __init__(self, inner, at: int, make):
        self.inner, self.at, self.make, self.calls = inner, at, make, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __call__(self, outputs, targets):
        self.calls += 1
        losses = self.inner(outputs, targets)
        return self.make(losses) if self.calls >= self.at else losses


def test_every_loss_term_goes_down(source, tmp_path):
    # One fixed batch of all four photos, no augmentation: each step sees the same data, so the
    # losses fall only if the optimisation works.
    cfg = tiny_config(epochs=6, batch_size=4, hflip=False, crop_prob=0.0, jitter=0.0, lr_schedule="constant")
    records = list(Trainer(cfg, source, tmp_path / "run", model_config=TINY_MODEL).run())
    st = steps(records)
    assert [r.step for r in st] == list(range(1, 7))
    first, last = st[0].losses, st[-1].losses
    for term in TERMS:
        assert last[term] < first[term], f"{term} did not go down: {first[term]} -> {last[term]}"
    assert all(r.images_per_s > 0 and r.lr == pytest.approx(1e-3) for r in st)
    summary = records[-1]
    assert summary.kind == "summary" and summary.status == "finished" and summary.epochs_done == 6
    # the metrics file holds the same step records, for the GUI's plots
    logged = [r for r in MetricsFile.read(tmp_path / "run" / "metrics.jsonl") if r.kind == "step"]
    assert [r.losses for r in logged] == [r.losses for r in st]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "finished"


def test_detection_then_masks_freezes_the_right_parts(source, tmp_path):
    cfg = tiny_config(stage="detection+masks", epochs=2, mask_epochs=1, keep_every=1)
    tr = Trainer(cfg, source, tmp_path / "run", model_config=TINY_MODEL)
    list(tr.prepare())
    start = {k: v.clone() for k, v in tr.model.state_dict().items()}
    records = list(tr.run())
    assert [r.stage for r in steps(records)] == ["detection"] * 2 + ["masks"] * 2
    after_detection = load_checkpoint(tmp_path / "run" / "epoch_001.pt")["model"]
    final = tr.model.state_dict()

    def is_mask_head(k):
        return k.startswith(("bbox_attention.", "mask_head."))

    # detection stage: the mask head is untouched, the detector learned
    assert all(torch.equal(after_detection[k], start[k]) for k in start if is_mask_head(k))
    assert not torch.equal(after_detection["detr.class_embed.weight"], start["detr.class_embed.weight"])
    # masks stage: every detector tensor (batch-norm statistics too) is bit-identical
    changed = [k for k in final if not is_mask_head(k) and not torch.equal(final[k], after_detection[k])]
    assert changed == []
    assert not torch.equal(final["mask_head.out_lay.weight"], after_detection["mask_head.out_lay.weight"])


@pytest.mark.parametrize("workers", [0, 1])
def test_cancel_stops_within_seconds_and_leaves_a_resumable_checkpoint(source, tmp_path, workers):
    cancel = threading.Event()
    cfg = tiny_config(epochs=50, num_workers=workers)
    set_at = None
    records = []
    for rec in Trainer(cfg, source, tmp_path / "run", model_config=TINY_MODEL, cancel=cancel).run():
        records.append(rec)
        if rec.kind == "step" and set_at is None:
            cancel.set()
            set_at = time.monotonic()
    assert time.monotonic() - set_at < 5.0
    assert records[-1].kind == "summary" and records[-1].status == "cancelled"
    assert len(steps(records)) == 1
    state = state_from(training_part(load_checkpoint(tmp_path / "run" / "last.pt"), "last.pt"))
    assert (state.epoch, state.epoch_step, state.step) == (0, 1, 1)


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(source, tmp_path):
    cfg = tiny_config(epochs=3)
    tr = Trainer(cfg, source, tmp_path / "run", model_config=TINY_MODEL)
    list(tr.prepare())

    def poison(losses):
        return {**losses, "loss": losses["loss"] * float("nan")}

    tr.criterion = Faulty(tr.criterion, at=3, make=poison)  # epoch 1 has 2 steps and a checkpoint
    seen = []
    with pytest.raises(TrainingError, match="NaN") as err:
        for rec in tr.run():
            seen.append(rec)
    assert "last.pt" in str(err.value)
    assert [r.step for r in steps(seen)] == [1, 2]
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")  # still loads, from before the fault
    assert state_from(training_part(ckpt, "last.pt")).step == 2
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())
    logged = MetricsFile.read(tmp_path / "run" / "metrics.jsonl")
    assert logged[-1].kind == "status" and logged[-1].phase == "error"


def test_out_of_memory_is_a_clear_error_with_a_suggestion(source, tmp_path):
    tr = Trainer(tiny_config(epochs=1), source, tmp_path / "run", model_config=TINY_MODEL)
    list(tr.prepare())

    def oom(losses):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    tr.criterion = Faulty(tr.criterion, at=1, make=oom)
    with pytest.raises(TrainingError, match="out of .*memory") as err:
        list(tr.run())
    assert "--batch-size 1" in err.value.message()


def test_checkpoint_with_other_categories_is_refused_or_gets_a_new_class_head(source, tmp_path):
    list(Trainer(tiny_config(epochs=1), source, tmp_path / "a", model_config=TINY_MODEL).run())
    ckpt_path = tmp_path / "a" / "last.pt"
    more = coco_panoptic_source(make_coco_dataset(tmp_path / "b", n=2, sizes=((64, 64),)))
    more = more.__class__(more.categories.added("efflorescence", False), more.samples, "b")
    cfg = tiny_config(epochs=1, init_weights=str(ckpt_path), init_kind="auto")
    with pytest.raises(CheckpointError, match="categories differ") as err:
        list(Trainer(cfg, more, tmp_path / "c", model_config=TINY_MODEL).prepare())
    assert "new class head" in err.value.message() and "efflorescence" in err.value.message()

    tr = Trainer(cfg.replace(new_class_head=True), more, tmp_path / "d", model_config=TINY_MODEL)
    statuses = [r for r in tr.prepare() if r.phase == "init"]
    assert statuses and "new class head" in statuses[0].message
    stored = load_checkpoint(ckpt_path)["model"]
    state = tr.model.state_dict()
    assert state["detr.class_embed.weight"].shape[0] == len(more.categories) + 1
    assert all(torch.equal(state[k], v) for k, v in stored.items() if "class_embed" not in k)


def test_a_fresh_run_never_overwrites_an_earlier_one(source, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.pt").write_bytes(b"an earlier run's model")
    with pytest.raises(TrainingError, match="already holds"):
        list(Trainer(tiny_config(epochs=1), source, tmp_path / "run", model_config=TINY_MODEL).run())
    assert (tmp_path / "run" / "last.pt").read_bytes() == b"an earlier run's model"


def test_time_budgets_end_epochs_early_and_stop_the_run_with_a_checkpoint(source, tmp_path):
    # A budget far below one step's duration: every epoch ends after its first step ...
    cfg = tiny_config(epochs=2, epoch_max_minutes=1e-6)
    records = list(Trainer(cfg, source, tmp_path / "a", model_config=TINY_MODEL).run())
    epochs = [r for r in records if r.kind == "epoch"]
    assert [(e.epoch, e.truncated) for e in epochs] == [(1, True), (2, True)]
    assert len(steps(records)) == 2 and records[-1].status == "finished"
    # ... and the whole run stops after its first step, resumable.
    records = list(Trainer(tiny_config(epochs=5, max_minutes=1e-6), source, tmp_path / "b",
                           model_config=TINY_MODEL).run())
    assert records[-1].status == "time_limit" and len(steps(records)) == 1
    assert state_from(training_part(load_checkpoint(tmp_path / "b" / "last.pt"), "last.pt")).step == 1
