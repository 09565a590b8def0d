"""Benchmark: training throughput and peak memory of the trainer on this machine.

    python -m bench.bench_training [--runs cpu_fast@320,cpu_small@384,detr_r50@512] [--steps 6] [--warmup 2]
                                   [--threads N] [--device auto] [--json out.json]
    python -m bench.bench_training --runs cpu_fast@320:fp32,cpu_fast@320 --steps 30 --threads 1   # precision

For each ``preset@size`` a child process (so that its peak memory is its own) generates
synthetic 640 x 480 photos (``core.synthetic``) and runs the ordinary ``Trainer`` for one epoch
of ``--steps`` steps at that size (longer side, no multi-scale: ``min_size = max_size``), joint
stage, random initial weights, evaluation off, mixed precision as the trainer chooses it
(``core.device.amp_dtype_for``) or, with the suffix ``:fp32``, off. Runs of one ``preset@size`` at
both precisions get a line with the ratio of their step times. Reported:

* ``train_images_per_s``: images per second over the steps after ``--warmup`` (step records'
  arrival times: data loading, forward, loss, backward and optimizer step included; the
  checkpoint written at the end of the epoch is not);
* ``loader_images_per_s``: the data pipeline alone (cached decode + augmentation + collate),
  to show it is not the bottleneck;
* ``peak_rss_mb``: the child's peak resident memory (``ru_maxrss``; beside it the peak before the
  trainer started: imports and data generation), and on CUDA
  ``peak_cuda_mb`` (``torch.cuda.max_memory_allocated``).

The machine's load average is printed beside the numbers: on a shared 2-core machine other
processes change them a lot (and two OpenMP threads that wait for each other can be slower
than one: try ``--threads 1``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BATCH = {"cpu_fast": 4, "cpu_lite0": 4, "cpu_small": 4, "detr_r50": 2}


def _one(preset: str, size: int, steps: int, warmup: int, threads: int | None, device: str, amp: bool) -> dict:
    import torch

    if threads:
        torch.set_num_threads(threads)
    from core.data import PanopticDataset, build_train_transforms, coco_panoptic_source, collate
    from core.data.sampler import EpochBatchSampler
    from core.synthetic import write_coco_dataset
    from core.training import Trainer, TrainConfig, get_train_preset

    batch = BATCH.get(preset, 2)
    with tempfile.TemporaryDirectory() as tmp:
        write_coco_dataset(Path(tmp) / "data", batch * steps, seed=0, size=(640, 480))
        source = coco_panoptic_source(Path(tmp) / "data")

        ds = PanopticDataset(source, build_train_transforms(size, size), base_size=size)
        ds.preload()
        t0 = time.perf_counter()
        n = 0
        for keys in EpochBatchSampler(len(ds), batch, seed=1):
            n += len(collate([ds[k] for k in keys]))
        loader_rate = n / (time.perf_counter() - t0)

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # data generation, imports
        base = get_train_preset(preset) if preset in ("cpu_small", "detr_r50") else TrainConfig()
        cfg = base.replace(model_preset=preset, stage="joint", epochs=1, batch_size=batch, min_size=size,
                           max_size=size, eval_every=0, val_fraction=0.0, init_kind="none", device=device,
                           num_workers=-1, amp=amp)
        times, rate_records = [], []
        trainer = Trainer(cfg, source, Path(tmp) / "run")
        for rec in trainer.run():
            if rec.kind == "step":
                times.append(time.perf_counter())
                rate_records.append(rec.images_per_s)
        timed = len(times) - 1 - warmup
        rate = timed * batch / (times[-1] - times[warmup]) if timed > 0 else float("nan")
        out = {"preset": preset, "size": size, "batch": batch, "steps": len(times), "warmup": warmup,
               "train_images_per_s": round(rate, 3), "seconds_per_step": round(batch / rate, 3),
               "loader_images_per_s": round(loader_rate, 1), "torch_threads": torch.get_num_threads(),
               "device": device, "precision": str(trainer.amp_dtype or torch.float32)[6:],
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
               "peak_rss_before_training_mb": round(rss_before, 1)}
        if torch.cuda.is_available() and device != "cpu":
            out["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        return out


def _print_precision_ratios(results: list[dict]) -> None:
    """For each preset@size run at float32 and at a lower precision: the median step-time ratio."""
    import statistics

    by_run: dict[tuple, dict[bool, list[float]]] = {}
    for r in results:
        by_run.setdefault((r["preset"], r["size"]), {}).setdefault(r["precision"] == "float32", []).append(
            r["seconds_per_step"])
    for (preset, size), got in by_run.items():
        if True in got and False in got:
            full, mixed = statistics.median(got[True]), statistics.median(got[False])
            print(f"{preset} @ {size} px: mixed precision {mixed:.2f} s/step against float32 {full:.2f} "
                  f"(x{full / mixed:.2f} faster; medians of {len(got[False])} and {len(got[True])} runs)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default="cpu_fast@320,cpu_small@384,detr_r50@512",
                    help="comma-separated preset@size, each with :fp32 for float32 throughout")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", help="write the results here too")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:  # the child process
        spec, _, precision = args.one.partition(":")
        preset, size = spec.split("@")
        print(json.dumps(_one(preset, int(size), args.steps, args.warmup, args.threads or None, args.device,
                              amp=precision != "fp32")))
        return 0
    results = []
    for run in args.runs.split(","):
        cmd = [sys.executable, "-m", "bench.bench_training", "--one", run, "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--threads", str(args.threads), "--device", args.device]
        load_before = os.getloadavg()[0]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["load_average"] = round((load_before + os.getloadavg()[0]) / 2, 1)
        results.append(res)
        print(f"{res['preset']:>10} @ {res['size']} px, batch {res['batch']}, {res['torch_threads']} thread(s), "
              f"{res['precision']}: "
              f"{res['train_images_per_s']:.2f} images/s ({res['seconds_per_step']:.2f} s/step), "
              f"data pipeline {res['loader_images_per_s']:.0f} images/s, peak RSS {res['peak_rss_mb']:.0f} MB "
              f"({res['peak_rss_before_training_mb']:.0f} MB before training)"
              + (f", peak CUDA {res['peak_cuda_mb']:.0f} MB" if "peak_cuda_mb" in res else "")
              + f"  (load average {res['load_average']})")
    _print_precision_ratios(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
