"""Benchmark: how much panoptic quality training from random weights reaches on this CPU in a
fixed time, for the published DETR recipe and for each change that leads to ``cpu_fast``.

    python -m bench.bench_convergence                       # every variant, 4 minutes each
    python -m bench.bench_convergence --minutes 20 --variants published,cpu_fast   # the 20-minute target

Data: ``--train`` (300) generated 384-px photos, seed 1, and ``--held-out`` (60) more, seed 2
(``core.synthetic``; the same files every run). Every variant trains for the same wall-clock
budget (``max_minutes``: reading photos, training and its periodic evaluation all count), in a
child process of its own, with the ordinary ``Trainer``; its last checkpoint is then evaluated on
the held-out photos at confidence 0.3, 0.5 and 0.85, and the best threshold's PQ (All / Things /
Stuff) is printed with the steps and images it trained on.

The variants form a ladder from the published recipe to ``cpu_fast`` (each adds one change to the
one before), plus three side-steps that take one change back out of ``cpu_fast``:

=================  ===========================================================================
published          ``cpu_small`` DETR (ResNet-18 random init, hidden 128, 2+2 layers, 20 queries),
                   AdamW 1e-4 (backbone 1e-5), clip 0.1; boxes for 70 % of the time, then masks
joint              the same, boxes and masks trained together from the first step
mask_detr          architecture ``mask_detr``: masks from an FPN at every decoder layer, masked
                   attention, narrow ResNet-18; DETR's optimisation and box-only matching
mask_matching      + mask costs (cross-entropy, dice) in the Hungarian matching
grid_loss          + mask losses on the stride-4 grid (16x fewer pixels), BCE instead of focal
cpu_fast           + learning rate 5e-4 everywhere, warm-up, cosine decay by time, clip 1.0
no_masked_attn     cpu_fast without masked attention
full_width         cpu_fast with the full-width ResNet-18 (64 channels) instead of 32
size_384           cpu_fast trained at 384 px instead of 256-320
=================  ===========================================================================

On a shared machine the other processes' load changes the images per second (printed with the
load average); compare variants of the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LADDER = ("published", "joint", "mask_detr", "mask_matching", "grid_loss", "cpu_fast")
SIDE_STEPS = ("no_masked_attn", "full_width", "size_384")
VARIANTS = LADDER + SIDE_STEPS
THRESHOLDS = (0.3, 0.5, 0.85)


def variant(name: str):
    """``(ModelConfig, TrainConfig, stages)`` of a variant; ``stages`` is a list of
    ``(stage, share of the time budget)``."""
    from core.model.config import get_preset
    from core.training.config import get_train_preset

    fast_model, fast_train = get_preset("cpu_fast"), get_train_preset("cpu_fast")
    detr_model, detr_train = get_preset("cpu_small"), get_train_preset("cpu_small")
    # Options of cpu_fast's model that mask_detr starts without (DETR's losses and matching).
    detr_losses = dict(class_loss_coef=1.0, mask_loss="focal", mask_loss_coef=1.0, dice_loss_coef=1.0,
                       mask_loss_stride=1, cost_class=1.0, cost_mask=0.0, cost_dice=0.0)
    # DETR's optimisation, one learning rate for a backbone that is random too.
    detr_optim = dict(lr=1e-4, lr_backbone=1e-4, weight_decay=1e-4, clip_grad_norm=0.1, lr_schedule="step",
                      warmup_steps=0)
    if name == "published":
        return detr_model, detr_train, [("detection", 0.7), ("masks", 0.3)]
    if name == "joint":
        return detr_model, detr_train, [("joint", 1.0)]
    if name == "mask_detr":
        return fast_model.replace(**detr_losses), fast_train.replace(**detr_optim), [("joint", 1.0)]
    if name == "mask_matching":
        losses = dict(detr_losses, cost_mask=5.0, cost_dice=5.0, mask_loss_coef=5.0, dice_loss_coef=5.0,
                      class_loss_coef=2.0, cost_class=2.0)
        return fast_model.replace(**losses), fast_train.replace(**detr_optim), [("joint", 1.0)]
    if name == "grid_loss":
        return fast_model, fast_train.replace(**detr_optim), [("joint", 1.0)]
    if name == "cpu_fast":
        return fast_model, fast_train, [("joint", 1.0)]
    if name == "no_masked_attn":
        return fast_model.replace(masked_attention=False), fast_train, [("joint", 1.0)]
    if name == "full_width":
        return fast_model.replace(backbone_width=64), fast_train, [("joint", 1.0)]
    if name == "size_384":
        return fast_model, fast_train.replace(min_size=384, max_size=384), [("joint", 1.0)]
    raise ValueError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")


def make_data(folder: Path, n_train: int, n_val: int) -> tuple[Path, Path]:
    from core.synthetic import write_coco_dataset

    train, val = folder / f"train_{n_train}", folder / f"held_out_{n_val}"
    for path, n, seed in ((train, n_train, 1), (val, n_val, 2)):
        if not (path / "panoptic.json").is_file():
            write_coco_dataset(path, n, seed=seed, size=384, workers=min(4, os.cpu_count() or 1), overwrite=True)
    return train, val


def child(name: str, minutes: float, train_dir: Path, val_dir: Path, out: Path, threads: int) -> dict:
    """Train one variant for ``minutes`` and evaluate its last checkpoint; returns the figures."""
    import torch

    from core.data.sources import coco_panoptic_source
    from core.training import Trainer

    if threads:
        torch.set_num_threads(threads)
    model_cfg, train_cfg, stages = variant(name)
    train_src, val_src = coco_panoptic_source(train_dir), coco_panoptic_source(val_dir)
    start = time.monotonic()
    steps = images = 0
    init = ""
    for i, (stage, share) in enumerate(stages):
        cfg = train_cfg.replace(stage=stage, epochs=1000, max_minutes=minutes * share, eval_every=0,
                                init_weights=init, init_kind="checkpoint" if init else "none",
                                device="cpu", seed=0)
        run_dir = out / f"{name}_{i}_{stage}"
        trainer = Trainer(cfg, train_src, run_dir, model_config=model_cfg, overwrite=True)
        summary = None
        for rec in trainer.run():
            if rec.kind == "summary":
                summary = rec
        steps += summary.steps
        images += summary.steps * cfg.batch_size
        init = str(summary.last_checkpoint)
    train_s = time.monotonic() - start
    figures = {"variant": name, "minutes": minutes, "train_s": round(train_s, 1), "steps": steps, "images": images,
               "images_per_s": round(images / train_s, 2), "load": round(os.getloadavg()[0], 2)}
    figures.update(evaluate(Path(init), val_src, train_cfg.eval_side))
    return figures


def evaluate(checkpoint: Path, val_src, size: int) -> dict:
    """PQ of the checkpoint on the held-out photos at each of ``THRESHOLDS``; the best is kept."""
    import torch

    from core.data import PanopticDataset, collate
    from core.data.transforms import build_eval_transforms
    from core.model import load_model_from_checkpoint
    from core.training.evaluate import evaluate_pq

    loaded = load_model_from_checkpoint(checkpoint, "cpu")
    ds = PanopticDataset(val_src, build_eval_transforms(size), base_size=size, keep_gt=True)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, collate_fn=collate)
    best: dict = {}
    for t in THRESHOLDS:
        res = evaluate_pq(loaded.model, loaded.postprocessor, loader, loaded.categories, torch.device("cpu"),
                          threshold=t)
        row = {"threshold": t, "pq": 100 * res.all.pq, "pq_things": 100 * res.things.pq,
               "pq_stuff": 100 * res.stuff.pq, "sq": 100 * res.all.sq, "rq": 100 * res.all.rq}
        if not best or row["pq"] > best["pq"]:
            best = row
    return {k: (round(v, 1) if isinstance(v, float) and k != "threshold" else v) for k, v in best.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=4.0, help="training budget per variant (default 4)")
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of: {', '.join(VARIANTS)}")
    p.add_argument("--train", type=int, default=300, help="generated training photos (default 300)")
    p.add_argument("--held-out", type=int, default=60, help="generated held-out photos (default 60)")
    p.add_argument("--data", help="folder for the generated data (kept; default: a temporary folder)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: one per core)")
    p.add_argument("--json", help="write the rows as JSON here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    for n in names:
        variant(n)  # unknown names fail before any work
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else Path(tmp) / "data"
        train_dir, val_dir = make_data(data, args.train, args.held_out)
        if args.child:
            row = child(args.child, args.minutes, train_dir, val_dir, Path(args.out), args.threads)
            print("ROW " + json.dumps(row), flush=True)
            return 0
        rows = []
        print(f"{len(names)} variants x {args.minutes:g} min on {args.train} photos, held-out {args.held_out}; "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
        for name in names:
            cmd = [sys.executable, "-m", "bench.bench_convergence", "--child", name, "--minutes", str(args.minutes),
                   "--train", str(args.train), "--held-out", str(args.held_out), "--data", str(data),
                   "--threads", str(args.threads), "--out", str(Path(tmp) / "runs")]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("ROW ")), None)
            if proc.returncode or line is None:
                print(f"{name}: failed\n{proc.stderr[-3000:]}", flush=True)
                continue
            rows.append(json.loads(line[4:]))
            print(_format(rows[-1], rows[0]), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
        print("\n| variant | steps | img/s | PQ | PQ things | PQ stuff | threshold |\n|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['variant']} | {r['steps']} | {r['images_per_s']} | {r['pq']} | {r['pq_things']} | "
                  f"{r['pq_stuff']} | {r['threshold']} |")
    return 0


def _format(row: dict, base: dict) -> str:
    gain = f", {row['pq'] - base['pq']:+.1f} vs {base['variant']}" if row is not base else ""
    return (f"{row['variant']:>15}: PQ {row['pq']:5.1f} (things {row['pq_things']:5.1f}, stuff {row['pq_stuff']:5.1f}) "
            f"at {row['threshold']}{gain}; {row['steps']} steps, {row['images_per_s']} img/s, "
            f"{row['train_s']:.0f} s, load {row['load']}")


if __name__ == "__main__":
    sys.exit(main())
