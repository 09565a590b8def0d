"""Benchmark: how much panoptic quality training from random weights reaches on this CPU in a
fixed time, for the published DETR recipe and for each change that leads to ``cpu_fast``.

    python -m bench.bench_convergence                       # every variant, 4 minutes each
    python -m bench.bench_convergence --minutes 20 --variants published,cpu_fast   # the 20-minute target

Data: ``--train`` (300) generated 384-px photos, seed 1, and ``--held-out`` (60) more, seed 2
(``core.synthetic``; the same files every run). Every variant trains for the same wall-clock
budget (``max_minutes``: reading photos, training and its periodic evaluation all count), in a
child process of its own, with the ordinary ``Trainer``; its last checkpoint is then evaluated on
the held-out photos at confidence 0.3, 0.5 and 0.85 as the app predicts them (``bench.bench_real
.evaluate``: the thin head's second look, cracks refined; rows measured before 2026-12-07's last
session used the trainer's one-pass batch evaluation), and the best threshold's PQ (All / Things /
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
cpu_fast           + learning rate 5e-4 everywhere, warm-up, cosine decay by time, clip 1.0, and
                   soft-clDice on crack masks
no_masked_attn     cpu_fast without masked attention
full_width         cpu_fast with the full-width ResNet-18 (64 channels) instead of 32
size_384           cpu_fast trained at 384 px instead of 256-320
no_cldice          cpu_fast without soft-clDice on crack masks (``ModelConfig.cldice_loss_coef`` 0)
points             cpu_fast with mask and dice losses on 1,536 importance-sampled points per mask,
                   targets read at the input resolution (``ModelConfig.mask_loss_points``)
lite0              ``cpu_lite0``: cpu_fast's decoder on EfficientNet-Lite0 ImageNet features
thin_head          cpu_fast with the dense thin head (``ModelConfig.thin_head``): cracks drawn
                   per pixel at the input resolution, one segment per connected crack network
lite0_thin         ``cpu_lite0`` with the dense thin head
shipped_ft         cpu_fast fine-tuned from the shipped demo model
shipped_ft_thin    the same with the dense thin head (the shipped model's own; a fresh one for a
                   shipped model without)
default            what ``main.py train DATA --max-minutes M`` does on data with the shipped
                   model's categories: ``cpu_fast``'s recipe fine-tuning the shipped model as it is
                   (``core.training.start``; its own model config, thin head included)
default_context    default with two dilated context blocks added to the thin head
                   (``ModelConfig.thin_head_context`` 2; they start as the identity)
default_native_1   default with every sample a window at the photo's own resolution (since
                   2026-12-07 what default does on these 384-px photos; kept for larger ones)
shipped_ft_384     shipped_ft trained at 384 px, the photos' own size (no downscaling)
shipped_ft_thin_384  shipped_ft_thin at 384 px: a 1-2 px crack downscaled to 256-320 px is
                   too faint for the head to learn where it runs
native_1           cpu_fast with every sample a window at the photo's own resolution
                   (``TrainConfig.native_crop_prob`` 1.0 instead of 0.5)
thin_head_native_1 thin_head with every sample such a window
=================  ===========================================================================

Thin cracks: each row also has the crack class's PQ and its centreline F1 at 2 px
(``core.evaluation.thin``), at the threshold with the best PQ.

``--dataset uav75`` trains every variant on UAV75's 50 real training photos instead (imported as
``bench.bench_real`` does, outside the repository) and evaluates on its 15 test photos.
``--clock cpu`` counts the budget in CPU seconds per torch thread (``bench.budget``): on a
shared machine every variant then gets the same computation whatever else runs.

On a shared machine the other processes' load changes the images per second (printed with the
load average); compare variants of the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.budget import CLOCKS, passive_waits, precision_words  # noqa: E402 (after the path set-up that lets the file run as a script)

LADDER = ("published", "joint", "mask_detr", "mask_matching", "grid_loss", "cpu_fast")
SIDE_STEPS = ("no_masked_attn", "full_width", "size_384", "no_cldice", "points", "lite0", "thin_head", "lite0_thin",
              "shipped_ft", "shipped_ft_thin", "shipped_ft_384", "shipped_ft_thin_384", "native_1",
              "thin_head_native_1", "default", "default_context",
              "default_native_1")
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
                       cldice_loss_coef=0.0, mask_loss_stride=1, cost_class=1.0, cost_mask=0.0, cost_dice=0.0)
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
        return fast_model.replace(cldice_loss_coef=0.0), fast_train.replace(**detr_optim), [("joint", 1.0)]
    if name == "cpu_fast":
        return fast_model, fast_train, [("joint", 1.0)]
    if name == "no_masked_attn":
        return fast_model.replace(masked_attention=False), fast_train, [("joint", 1.0)]
    if name == "full_width":
        return fast_model.replace(backbone_width=64), fast_train, [("joint", 1.0)]
    if name == "size_384":
        return fast_model, fast_train.replace(min_size=384, max_size=384), [("joint", 1.0)]
    if name in ("native_1", "thin_head_native_1"):  # every sample a window at the photo's own size
        return (fast_model.replace(thin_head=name.startswith("thin_head")), fast_train.replace(native_crop_prob=1.0),
                [("joint", 1.0)])
    thin = {"points": dict(mask_loss_points=1536), "no_cldice": dict(cldice_loss_coef=0.0),
            "thin_head": dict(thin_head=True)}
    if name in thin:
        return fast_model.replace(**thin[name]), fast_train, [("joint", 1.0)]
    if name in ("lite0", "lite0_thin"):
        lite0 = get_preset("cpu_lite0").replace(thin_head=name == "lite0_thin")
        return lite0, get_train_preset("cpu_lite0").replace(init_kind="auto"), [("joint", 1.0)]
    if name in ("default", "default_context", "default_native_1"):
        from core.categories import CategorySet
        from core.demo.sample_model import demo_model_path
        from core.model.config import ModelConfig
        from core.training.start import apply_start, checkpoint_header, default_start

        shipped = demo_model_path()
        categories, stored = checkpoint_header(shipped) if shipped else (CategorySet([]), {})
        start = default_start("generated photos", categories, shipped)
        if start.kind != "shipped":
            raise ValueError(f"the default start is not the shipped model: {start.words}")
        model = ModelConfig.from_dict(stored)
        if name == "default_context":
            model = model.replace(thin_head_context=2)
        train = fast_train.replace(native_crop_prob=1.0) if name == "default_native_1" else fast_train
        return model, apply_start(train, start), [("joint", 1.0)]
    if name.startswith("shipped_ft"):
        from core.demo.sample_model import demo_model_path

        shipped = demo_model_path()
        if shipped is None:
            raise ValueError("the shipped demo model is missing")
        sizes = dict(min_size=384, max_size=384) if name.endswith("_384") else {}
        return (fast_model.replace(thin_head="_thin" in name),
                fast_train.replace(init_weights=str(shipped), init_kind="checkpoint", **sizes), [("joint", 1.0)])
    raise ValueError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")


def make_data(folder: Path, n_train: int, n_val: int) -> tuple[Path, Path]:
    from core.synthetic import write_coco_dataset

    train, val = folder / f"train_{n_train}", folder / f"held_out_{n_val}"
    for path, n, seed in ((train, n_train, 1), (val, n_val, 2)):
        if not (path / "panoptic.json").is_file():
            write_coco_dataset(path, n, seed=seed, size=384, workers=min(4, os.cpu_count() or 1), overwrite=True)
    return train, val


def child(name: str, minutes: float, train_dir: Path, val_dir: Path, out: Path, threads: int,
          clock: str = "wall") -> dict:
    """Train one variant for ``minutes`` of ``clock`` and evaluate its last checkpoint; returns the figures."""
    import torch

    from bench.budget import budget_clock
    from core.data.sources import coco_panoptic_source
    from core.training import Trainer

    if threads:
        torch.set_num_threads(threads)
    model_cfg, train_cfg, stages = variant(name)
    train_src = coco_panoptic_source(train_dir)
    start = time.monotonic()
    steps = images = 0
    init = train_cfg.init_weights  # a variant may start from a checkpoint (shipped_ft)
    for i, (stage, share) in enumerate(stages):
        start_from = dict(init_weights=init, init_kind="checkpoint") if init else dict(
            init_kind=train_cfg.init_kind if train_cfg.init_kind == "auto" else "none")
        cfg = train_cfg.replace(stage=stage, epochs=1000, max_minutes=minutes * share, eval_every=0,
                                follow_budget=True, val_fraction=0.0, device="cpu", seed=0, **start_from)
        run_dir = out / f"{name}_{i}_{stage}"
        trainer = Trainer(cfg, train_src, run_dir, model_config=model_cfg, overwrite=True,
                          clock=budget_clock(clock, torch.get_num_threads()))
        summary = None
        for rec in trainer.run():
            if rec.kind == "summary":
                summary = rec
        steps += summary.steps
        images += summary.steps * cfg.batch_size
        init = str(summary.last_checkpoint)
    train_s = time.monotonic() - start
    figures = {"variant": name, "minutes": minutes, "clock": clock, "train_s": round(train_s, 1), "steps": steps,
               "images": images, "images_per_s": round(images / train_s, 2), "load": round(os.getloadavg()[0], 2)}
    figures.update(evaluate(Path(init), val_dir, train_cfg.eval_side, threads))
    figures["checkpoint"] = init  # in the parent's temporary folder, until it ends
    return figures


def evaluate(checkpoint: Path, val_dir: Path, size: int, threads: int) -> dict:
    """PQ (All / Things / Stuff, crack) and the crack centreline F1 of the checkpoint on the
    held-out photos at the one of ``THRESHOLDS`` with the best PQ."""
    from bench.bench_real import evaluate as evaluate_thresholds

    best: dict = {}
    for t, f in evaluate_thresholds(checkpoint, val_dir, size, threads, THRESHOLDS).items():
        crack = f["classes"].get("crack", {})
        row = {"threshold": float(t), "pq": f["pq"], "pq_things": f["things"], "pq_stuff": f["stuff"],
               "crack_pq": crack.get("pq", 0.0), "crack_f1": crack.get("cl_f1", 0.0),
               "crack_tp_fp_fn": f"{crack.get('tp', 0)}/{crack.get('fp', 0)}/{crack.get('fn', 0)}"}
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
    p.add_argument("--dataset", choices=("generated", "uav75"), default="generated",
                   help="generated photos (default) or UAV75's real photos (../shared/datasets/uav75)")
    p.add_argument("--clock", choices=CLOCKS, default="wall",
                   help="budget in wall-clock seconds (default) or CPU seconds per torch thread (a shared machine)")
    p.add_argument("--json", help="write the rows as JSON here")
    p.add_argument("--keep", help="copy each variant's last checkpoint here as VARIANT.pt (for bench_spall_split "
                                  "--model, which scores it with the official panopticapi and refinement)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.clock == "cpu":
        passive_waits()  # before torch is imported here or in a child: spinning threads would count as work
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    for n in names:
        variant(n)  # unknown names fail before any work
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else Path(tmp) / "data"
        if args.dataset == "uav75":
            from bench.bench_real import DEFAULT_DATA, import_uav75

            if data.resolve().is_relative_to(ROOT):
                p.error("--data must be outside the repository (UAV75 is GPL-3.0 and never goes into it)")
            folders = import_uav75(DEFAULT_DATA, data / "uav75")
            train_dir, val_dir = folders["train"], folders["test"]
        else:
            train_dir, val_dir = make_data(data, args.train, args.held_out)
        if args.child:
            row = child(args.child, args.minutes, train_dir, val_dir, Path(args.out), args.threads, args.clock)
            print("ROW " + json.dumps(row), flush=True)
            return 0
        rows = []
        print(f"{len(names)} variants x {args.minutes:g} min ({args.clock} clock) on {args.dataset} photos "
              f"({train_dir.name} / {val_dir.name}); {precision_words()}; load average {os.getloadavg()[0]:.2f}",
              flush=True)
        for name in names:
            cmd = [sys.executable, "-m", "bench.bench_convergence", "--child", name, "--minutes", str(args.minutes),
                   "--train", str(args.train), "--held-out", str(args.held_out), "--data", str(data),
                   "--threads", str(args.threads), "--out", str(Path(tmp) / "runs"), "--dataset", args.dataset,
                   "--clock", args.clock]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("ROW ")), None)
            if proc.returncode or line is None:
                print(f"{name}: failed\n{proc.stderr[-3000:]}", flush=True)
                continue
            rows.append(json.loads(line[4:]))
            checkpoint = rows[-1].pop("checkpoint")
            if args.keep:
                Path(args.keep).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(checkpoint, Path(args.keep) / f"{name}.pt")
            print(_format(rows[-1], rows[0]), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
        print("\n| variant | steps | img/s | PQ | PQ things | PQ stuff | crack PQ (TP/FP/FN) | crack F1 | threshold |"
              "\n|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['variant']} | {r['steps']} | {r['images_per_s']} | {r['pq']} | {r['pq_things']} | "
                  f"{r['pq_stuff']} | {r['crack_pq']} ({r['crack_tp_fp_fn']}) | {r['crack_f1']} | {r['threshold']} |")
    return 0


def _format(row: dict, base: dict) -> str:
    gain = f", {row['pq'] - base['pq']:+.1f} vs {base['variant']}" if row is not base else ""
    return (f"{row['variant']:>15}: PQ {row['pq']:5.1f} (things {row['pq_things']:5.1f}, stuff {row['pq_stuff']:5.1f}) "
            f"at {row['threshold']}{gain}; crack PQ {row['crack_pq']:4.1f} ({row['crack_tp_fp_fn']}), "
            f"F1 {row['crack_f1']:4.1f}; {row['steps']} steps, {row['images_per_s']} img/s, "
            f"{row['train_s']:.0f} s, load {row['load']}")


if __name__ == "__main__":
    sys.exit(main())
