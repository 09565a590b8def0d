"""DistributedDataParallel on the CPU: two gloo processes train one epoch together; only rank 0
writes the checkpoint and the metrics, and both end with identical weights."""
from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp

import core.training  # noqa: F401 - imported before the fork, so the children start warm
from tests.core.data.synth import make_coco_dataset


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, json_path: str, out: str, report_dir: str) -> None:
    """One torchrun-like process: the variables torchrun would set, then the ordinary trainer."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from core.data import coco_panoptic_source
    from core.training import Trainer
    from core.training.distributed import DistContext, shutdown
    from tests.core.training.helpers import TINY_MODEL, tiny_config

    ctx = DistContext.from_env("cpu")
    try:
        trainer = Trainer(tiny_config(epochs=1, device="cpu"), coco_panoptic_source(json_path), out,
                          model_config=TINY_MODEL, dist=ctx)
        records = list(trainer.run())
    finally:
        shutdown()
    digest = hashlib.sha256()  # of the parameters (batch-norm running statistics are per process)
    for _, p in sorted(trainer.model.named_parameters()):
        digest.update(p.detach().numpy().tobytes())
    steps = [r for r in records if r.kind == "step"]
    Path(report_dir, f"rank{rank}.json").write_text(json.dumps({
        "steps": [s.step for s in steps], "loss": [s.losses["loss"] for s in steps],
        "status": records[-1].status, "weights": digest.hexdigest()}))


def test_two_gloo_processes_train_an_epoch_and_write_one_checkpoint(tmp_path):
    json_path = make_coco_dataset(tmp_path / "data", n=8, sizes=((64, 64),))
    out = tmp_path / "run"
    # fork: the children start with the modules already imported (spawn re-imports torch: 20+ s here)
    mp.start_processes(_worker, args=(2, _free_port(), str(json_path), str(out), str(tmp_path)), nprocs=2,
                       join=True, start_method="fork")
    got = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    # 8 photos over 2 processes in batches of 2: 2 steps each; the logged loss is the average of both
    assert [g["steps"] for g in got] == [[1, 2], [1, 2]]
    assert got[0]["loss"] == got[1]["loss"]
    assert [g["status"] for g in got] == ["finished", "finished"]
    assert got[0]["weights"] == got[1]["weights"]  # gradients were averaged: the replicas agree
    assert sorted(p.name for p in out.iterdir() if ".pt" in p.name) == ["last.pt"]  # no temp files either
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if x["kind"] == "step"] == [1, 2]  # written once, by rank 0
    assert json.loads((out / "run.json").read_text())["processes"] == 2
