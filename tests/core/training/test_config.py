"""Training configuration, records and metrics file, LR schedules, initial-weight handling."""
from __future__ import annotations

import json
import math

import pytest
import torch

from core.categories import CategorySet
from core.errors import CheckpointError, TrainingError
from core.model import build_model, save_checkpoint
from core.training import MetricsFile, StatusRecord, StepRecord, TrainConfig, record_from_dict, record_to_dict
from core.training.faults import translate
from core.training.optim import LRSchedule
from core.training.weights import compare_categories, load_our_checkpoint, plan_init
from tests.core.data.synth import CATEGORIES
from tests.core.training.helpers import TINY_MODEL


def test_config_names_every_problem_and_round_trips():
    with pytest.raises(ValueError) as err:
        TrainConfig(stage="everything", epochs=0, lr=-1.0, min_size=400, max_size=300)
    text = str(err.value)
    for word in ("stage", "epochs", "lr", "min_size"):
        assert word in text
    cfg = TrainConfig(stage="detection+masks", epochs=10, mask_epochs=3, max_minutes=2.5)
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="unknown training config keys"):
        TrainConfig.from_dict({"epochz": 3})
    assert [cfg.stage_of_epoch(e) for e in range(10)] == ["detection"] * 7 + ["masks"] * 3
    assert cfg.stage_span(8) == (7, 10)
    with pytest.raises(ValueError, match="needs an initial weights file"):
        TrainConfig(init_kind="detr")


def test_lr_schedules():
    step = LRSchedule("step", total_steps=100, drop_step=60, drop_factor=0.1)
    assert step(0) == 1.0 and step(59) == 1.0 and step(60) == pytest.approx(0.1)
    cos = LRSchedule("cosine", total_steps=100)
    assert cos(0) == pytest.approx(1.0) and cos(100) == pytest.approx(0.01) and 0.4 < cos(50) < 0.6
    warm = LRSchedule("constant", total_steps=100, warmup_steps=10)
    assert warm(0) == pytest.approx(0.1) and warm(9) == pytest.approx(1.0) and warm(50) == 1.0


def test_cosine_follows_a_time_budget_when_it_runs_ahead_of_the_steps():
    """A run of 1000 planned epochs with ``max_minutes``: the decay follows the clock, so the
    learning rate is low when the time is up; steps still win when they are further along."""
    cos = LRSchedule("cosine", total_steps=100_000)
    assert cos(10) == pytest.approx(1.0, abs=1e-4)
    cos.progress_floor = 0.5
    assert cos(10) == pytest.approx(0.505)
    cos.progress_floor = 1.0
    assert cos(10) == pytest.approx(0.01)
    short = LRSchedule("cosine", total_steps=100, progress_floor=0.1)
    assert short(100) == pytest.approx(0.01)
    # The floor is part of the scheduler's saved state (LambdaLR keeps callable objects' __dict__).
    import torch
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, LRSchedule("cosine", 1000, progress_floor=0.7))
    again = torch.optim.lr_scheduler.LambdaLR(opt, LRSchedule("cosine", 1000))
    again.load_state_dict(sched.state_dict())
    assert again.lr_lambdas[0].progress_floor == 0.7


def test_records_round_trip_through_the_metrics_file(tmp_path):
    step = StepRecord(1, 1, 4, 7, "joint", {"loss": 2.5, "loss_ce": float("nan")}, 1e-4, 1e-5, 0.3, 12.0, 3.0, 9.0)
    d = record_to_dict(step)
    assert d["kind"] == "step" and d["losses"]["loss_ce"] is None  # JSON has no NaN
    json.dumps(d, allow_nan=False)
    mf = MetricsFile(tmp_path / "metrics.jsonl")
    for s in (5, 6, 7, 8):
        mf.append(StepRecord(1, s, 8, s, "joint", {"loss": 1.0 / s}, 1e-4, 0.0, 0.1, 1.0, 1.0, 1.0))
    mf.append(StatusRecord("checkpoint", "saved"))
    mf.close()
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"kind": "step", "epo')  # a line cut by a crash
    assert [r.step for r in MetricsFile.read(tmp_path / "metrics.jsonl") if r.kind == "step"] == [5, 6, 7, 8]
    MetricsFile(tmp_path / "metrics.jsonl").truncate_after(6)
    kept = MetricsFile.read(tmp_path / "metrics.jsonl")
    assert [getattr(r, "step", None) for r in kept] == [5, 6, None]
    back = record_from_dict(record_to_dict(step))
    assert math.isnan(back.losses["loss_ce"]) and back.losses["loss"] == 2.5 and back.eta_s == 9.0


def test_category_comparison_ignores_names_but_not_ids_or_kind():
    renamed = CategorySet(tuple(c.__class__(c.id, c.name + "_x", c.isthing, c.color) for c in CATEGORIES))
    assert compare_categories(CATEGORIES, renamed) == ("same", None)
    rev = CategorySet(tuple(reversed(CATEGORIES.categories)))
    verdict, perm = compare_categories(CATEGORIES, rev)
    assert verdict == "reordered" and perm == [4, 3, 2, 1, 0]
    assert compare_categories(CATEGORIES, CATEGORIES.removed(2))[0] == "different"


def test_reordered_categories_permute_the_class_head(tmp_path):
    torch.manual_seed(0)
    model, _, _ = build_model(TINY_MODEL, CATEGORIES, backbone_weights=None)
    save_checkpoint(tmp_path / "m.pt", model, TINY_MODEL, CATEGORIES, {})
    from core.model.checkpoint import load_checkpoint

    rev = CategorySet(tuple(reversed(CATEGORIES.categories)))
    other, _, _ = build_model(TINY_MODEL, rev, backbone_weights=None)
    msg = load_our_checkpoint(other, load_checkpoint(tmp_path / "m.pt"), rev, new_class_head=False, path="m.pt")
    assert "reordered" in msg
    w_old = model.state_dict()["detr.class_embed.weight"]
    w_new = other.state_dict()["detr.class_embed.weight"]
    assert torch.equal(w_new[0], w_old[4]) and torch.equal(w_new[4], w_old[0])
    assert torch.equal(w_new[5], w_old[5])  # "no object" stays last


def test_initial_weight_files_are_recognised_or_refused(tmp_path):
    import torchvision

    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / "r18.pth")
    assert plan_init(str(tmp_path / "r18.pth"), "auto").kind == "imagenet"
    torch.save({"model": {"transformer.encoder.layers.0.linear1.weight": torch.zeros(2, 2)}}, tmp_path / "d.pth")
    assert plan_init(str(tmp_path / "d.pth"), "auto").kind == "detr"
    torch.save({"something": torch.zeros(1)}, tmp_path / "x.pth")
    with pytest.raises(CheckpointError, match="not a file of weights"):
        plan_init(str(tmp_path / "x.pth"), "auto")
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        plan_init(str(tmp_path / "bad.pth"), "auto")


def test_lost_gpu_and_oom_messages_name_the_checkpoint():
    err = translate(RuntimeError("CUDA error: an illegal memory access was encountered"), device="cuda:0",
                    batch_size=4, max_size=512, last_checkpoint="/runs/r1/last.pt")
    assert isinstance(err, TrainingError) and "/runs/r1/last.pt" in err.message() and "GPU" in err.message()
    err = translate(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 GB"),
                    device="cpu", batch_size=4, max_size=512, last_checkpoint=None)
    assert "--batch-size 2" in err.message() and "no checkpoint" in err.message()
    assert translate(ValueError("a bug"), device="cpu", batch_size=4, max_size=512, last_checkpoint=None) is None
