"""Training runs as project models (core.training.project_models) and the child-process plumbing
(core.training.background) without training anything: registration, following records, a run
the program lost (interrupted / settled from its summary), typed errors across the process
boundary, and which photos train."""
from __future__ import annotations

import json
import math
import os
import time

import pytest

from core.errors import CheckpointError, TrainingError
from core.project import Project
from core.training import project_models as pm
from core.training.background import UnexpectedTrainingError, error_from_dict, error_to_dict
from core.training.config import PRESETS
from core.training.records import EpochRecord, EvalRecord, StatusRecord, SummaryRecord


@pytest.fixture
def project(tmp_path):
    with Project.create(tmp_path / "p.pinspect") as p:
        yield p


def _summary(out, status="cancelled", best_pq=0.25):
    return SummaryRecord(status, 3, 30, 12.0, str(out / "last.pt"),
                         str(out / "best.pt") if (out / "best.pt").exists() else "", best_pq, 2, {"loss": 1.0},
                         str(out), "the CPU")


def test_a_run_is_registered_and_follows_its_records(project, tmp_path):
    out = pm.new_run_dir(project)
    assert out.parent == tmp_path / "p_models"
    mid = pm.register_run(project, out, PRESETS["cpu_small"], "cpu_small")
    info = pm.run_info(project, project.models.get(mid))
    assert (info.status, info.preset, info.epochs, info.epochs_done) == ("running", "cpu_small", 50, 0)
    assert info.output_dir == out and not info.resumable and math.isnan(info.pq)

    out.mkdir(parents=True)
    (out / "run.json").write_text(json.dumps({"model_config": {"backbone": "resnet18", "hidden_dim": 128}}))
    (out / "last.pt").write_bytes(b"x")
    pm.follow_record(project, mid, StatusRecord("prepare", "training on the CPU (1 thread)"))
    pm.follow_record(project, mid, EpochRecord(1, 10, "joint", {"loss": 3.0, "loss_ce": 1.0, "loss_ce_0": 1.2}, 40,
                                               5.0, str(out / "last.pt")))
    (out / "best.pt").write_bytes(b"x")
    pm.follow_record(project, mid, EvalRecord(1, 10, 0.25, 0.5, 0.5, 0.1, 0.4, {}, 4, 1.0, True))
    m = project.models.get(mid)
    assert m.checkpoint == out / "last.pt" and m.config["backbone"] == "resnet18"  # run.json's exact config
    curves = project.models.metrics(mid)
    assert curves["train/loss"] == [(1, 3.0)] and "train/loss_ce_0" not in curves
    assert curves["val/PQ"] == [(1, 25.0)]
    info = pm.run_info(project, m)
    assert info.epochs_done == 1 and info.pq == 0.25 and info.device == "the CPU (1 thread)"

    pm.follow_record(project, mid, _summary(out))
    m = project.models.get(mid)
    info = pm.run_info(project, m)
    assert info.status == "cancelled" and info.resumable and m.checkpoint == out / "best.pt"
    pm.mark_running(project, mid)
    pm.mark_failed(project, mid, "the loss became NaN")
    info = pm.run_info(project, project.models.get(mid))
    assert info.status == "failed" and info.error == "the loss became NaN" and info.resumable


def test_a_run_the_program_lost_is_interrupted_or_settled_from_its_summary(project):
    lost = pm.new_run_dir(project)
    lost.mkdir(parents=True)
    (lost / "last.pt").write_bytes(b"x")
    a = pm.register_run(project, lost, PRESETS["tiny"], "tiny")
    done = lost.with_name(lost.name + "-done")
    done.mkdir()
    (done / "last.pt").write_bytes(b"x")
    time.sleep(0.01)
    (done / "summary.json").write_text(json.dumps({"status": "finished", "epochs_done": 2, "best_pq": 0.5,
                                                   "best_epoch": 2, "last_checkpoint": str(done / "last.pt"),
                                                   "output_dir": str(done)}))
    os.utime(done / "summary.json", (time.time() + 5, time.time() + 5))
    b = pm.register_run(project, done, PRESETS["tiny"], "tiny")
    live = pm.register_run(project, lost.with_name("live"), PRESETS["tiny"], "tiny")
    assert sorted(pm.reconcile(project, {live})) == sorted([a, b])
    ia, ib, il = (pm.run_info(project, project.models.get(i)) for i in (a, b, live))
    assert ia.status == "interrupted" and ia.resumable and project.models.get(a).checkpoint == lost / "last.pt"
    assert ib.status == "finished" and ib.pq == 0.5 and not ib.resumable
    assert il.status == "running"
    assert pm.reconcile(project, {live}) == []  # settled once


def test_errors_cross_the_process_boundary_typed():
    e = error_from_dict(error_to_dict(CheckpointError("not a checkpoint", "/x/w.pth", hint="use another")))
    assert isinstance(e, CheckpointError) and e.path == "/x/w.pth" and e.hint == "use another"
    e = error_from_dict(error_to_dict(MemoryError()))
    assert isinstance(e, TrainingError) and "memory" in e.reason
    try:
        raise KeyError("boom")
    except KeyError as k:
        e = error_from_dict(error_to_dict(k))
    assert isinstance(e, UnexpectedTrainingError) and "KeyError" in str(e) and "Traceback" in e.details


def test_the_training_photos_rule_is_the_data_sources(tmp_path):
    from core.data.project_source import project_sources
    from core.project.training_set import held_out, training_images
    from tests.support.gui import annotation_for, write_photos

    files = write_photos(tmp_path / "photos", 5)
    with Project.create(tmp_path / "q.pinspect") as p:
        p.images.add_files(files)
        recs = p.images.list()
        for r in recs[:4]:
            p.annotations.save(r.id, annotation_for(r.height, r.width))
        p.images.set_split([recs[0].id], "val")
        p.images.set_split([recs[1].id], "test")
        chosen = training_images(p)
    train, val = project_sources(tmp_path / "q.pinspect")
    assert [r.id for r in chosen.train] == [int(s.key.split(":")[0]) for s in train.samples] == \
        [recs[2].id, recs[3].id]
    assert [r.id for r in chosen.val] == [int(s.key.split(":")[0]) for s in val.samples] == [recs[0].id]
    assert [held_out(n, 0.2) for n in (0, 1, 2, 5, 7, 10)] == [0, 0, 1, 1, 1, 2]


def test_held_out_counts_what_split_source_holds_out():
    from core.categories import default_categories
    from core.data.sources import DataSource, TrainSample, split_source
    from core.project.training_set import held_out

    for n in range(2, 30):
        src = DataSource(default_categories(), tuple(TrainSample(f"k{i}", None, None) for i in range(n)))
        for frac in (0.1, 0.2, 0.33):
            assert len(split_source(src, frac)[1]) == held_out(n, frac), (n, frac)


def test_the_dataset_reaches_spawned_data_loader_workers(tmp_path):
    """Windows, macOS and the application's training process start data-loader workers with
    ``spawn``: the dataset travels pickled (it holds a lock, which each copy makes anew)."""
    import pickle

    from core.data import PanopticDataset, build_train_transforms
    from core.data.project_source import project_sources
    from tests.support.gui import annotation_for, write_photos

    files = write_photos(tmp_path / "photos", 2)
    with Project.create(tmp_path / "d.pinspect") as p:
        p.images.add_files(files)
        for r in p.images.list():
            p.annotations.save(r.id, annotation_for(r.height, r.width))
    train, _ = project_sources(tmp_path / "d.pinspect")
    ds = PanopticDataset(train, build_train_transforms(64, 96), base_size=96)
    copy = pickle.loads(pickle.dumps(ds))
    assert len(copy) == 2 and copy[0] is not None and copy[1].image.shape[0] == 3


def test_device_and_duration_words():
    from core.training.estimate import DeviceInfo, duration_words, epoch_seconds

    assert DeviceInfo("cuda", "NVIDIA H100 80GB HBM3", 79.2, 16).words() == "CUDA GPU: NVIDIA H100 80GB HBM3, 79.2 GiB"
    assert DeviceInfo("cpu", "CPU", 0.0, 2).words().startswith("No CUDA GPU: training will run on the CPU (2 threads)")
    assert DeviceInfo("cpu", "CPU", 0.0, 2, "bfloat16").words().startswith(
        "No CUDA GPU: training will run on the CPU (2 threads, bfloat16 mixed precision)")
    assert epoch_seconds(0.5, 100, 30) == 55.0
    assert [duration_words(s) for s in (0.2, 40, 600, 12_600)] == ["about 1 s", "about 40 s", "about 10 min",
                                                                  "about 3.5 h"]
