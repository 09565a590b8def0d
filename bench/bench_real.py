"""Benchmark on real photos: UAV75 (75 drone photos of concrete, 512 px, thin cracks), the shipped
model zero-shot, and fine-tuned / trained on N of its training photos for a time budget each.

    python -m bench.bench_real --quick          # 3-minute budgets, 25 training photos (~15 min)
    python -m bench.bench_real                  # 10, 25 and 50 photos, 10 minutes each (~2 hours)

Data: ``--data`` (default ``../shared/datasets/uav75`` beside the repository; GPL-3.0, so it is
only ever read, never copied into the repository). Its three splits (50 train / 10 val / 15 test)
are imported with our own mask-folder importer into COCO panoptic folders in a temporary
directory outside the repository: grey value 255 (crack, labelled line-wise) becomes ``crack``
things (one per connected line, 8-connectivity); 0 (the concrete surface) and 204 (planking,
the imprints of formwork boards) both become the ``concrete`` stuff class. Planking is sound
concrete to an inspector, nothing to report; kept as ``concrete`` it stays the hard negative it is
meant to be (a crack predicted on it is a false positive), the category set stays the shipped
model's (so zero-shot and fine-tuning compare like with like; a new stuff class would score 0 for
the zero-shot model by construction), and area-wise planking labels do not turn into a stuff
class the model must learn to outline.

Rows, each evaluated on the test split (15 photos) as the app predicts (``Predictor``: the thin
head's second look at the photo's own 512 px, cracks refined at full resolution; ``--batch-eval``:
the trainer's one-pass batch evaluation instead, as rows measured before that look existed) with
the existing evaluation (PQ checked against panopticapi in the test suite; crack centreline
precision / recall / F1 at 2 px of the full-size photo, ``core.evaluation.thin``), at confidence
thresholds 0.5 and 0.7:

* ``shipped zero-shot``: ``resources/models/demo_cpu_fast.pt`` as it is;
* ``from shipped``: ``main.py train``'s recipe started from it (``cpu_fast``, its own config);
* ``random``: ``cpu_fast`` from random weights;
* ``imagenet``: ``cpu_lite0``, EfficientNet-Lite0 with the package's ImageNet weights.

Each training run is the ordinary ``Trainer`` with ``follow_budget`` (the schedule follows the
minutes), no periodic evaluation, in a child process of its own, on the first N photos of a seeded
shuffle of the training split. The machine is shared: images per second move with the other
processes' load (printed), so compare rows of the same run.
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

from bench.budget import CLOCKS, passive_waits, precision_words  # noqa: E402 (after the path set-up that lets the file run as a script)

DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "uav75"
SPLITS = ("train", "val", "test")
#: UAV75's grey values -> our categories (see the module docstring for planking).
CLASSES = "0=concrete,204=concrete,255=crack"
INITS = ("shipped", "random", "imagenet")
THRESHOLDS = (0.5, 0.7)


def import_uav75(data: Path, out: Path) -> dict[str, Path]:
    """COCO panoptic folders of the three splits under ``out`` (made once, reused)."""
    from core.formats import MaskFolderOptions, export_coco_panoptic, import_mask_folder, parse_class_option
    from core.formats import records_from_import

    folders = {}
    for split in SPLITS:
        dest = out / split
        folders[split] = dest
        if (dest / "panoptic_all.json").is_file():
            continue
        images, labels = data / f"{split}_img", data / f"{split}_lab"
        if not images.is_dir() or not labels.is_dir():
            raise SystemExit(f"UAV75 not found: {images} and {labels} are needed (--data)")
        run = import_mask_folder(images, labels, parse_class_option(CLASSES), MaskFolderOptions("index", 8, 0, None))
        export_coco_panoptic(records_from_import(run), run.categories, dest, images=True, overwrite=True)
        if run.report.skipped:
            raise SystemExit(f"UAV75 {split}: {len(run.report.skipped)} photos skipped: "
                             f"{run.report.skipped[0].message()}")
    return folders


def shipped_model() -> Path:
    from core.demo.sample_model import demo_model_path

    path = demo_model_path()
    if path is None:
        raise SystemExit("this build has no shipped model (resources/models/demo_cpu_fast.pt)")
    return path


def train_config(init: str, minutes: float, threads: int):
    """``(TrainConfig, ModelConfig or None)`` of one way to start."""
    from core.training.config import get_train_preset

    common = dict(max_minutes=minutes, follow_budget=True, eval_every=0, val_fraction=0.0, device="cpu", seed=0,
                  cpu_threads=threads)
    if init == "shipped":
        return get_train_preset("cpu_fast").replace(init_weights=str(shipped_model()), init_kind="checkpoint",
                                                    **common)
    if init == "random":
        return get_train_preset("cpu_fast").replace(init_kind="none", **common)
    if init == "imagenet":  # no file: the backbone reads the package's ImageNet weights ("auto")
        return get_train_preset("cpu_lite0").replace(init_kind="auto", **common)
    raise ValueError(f"unknown start {init!r}; known: {', '.join(INITS)}")


def evaluate(checkpoint: Path, test_dir: Path, size: int, threads: int,
             thresholds: tuple[float, ...] = THRESHOLDS, as_app: bool = True) -> dict:
    """Figures of a checkpoint on the COCO panoptic folder ``test_dir`` at each of ``thresholds``
    (keys: the thresholds as strings): PQ All / Things / Stuff, per class PQ, RQ, TP/FP/FN and
    for thin classes the centreline precision / recall / F1 at 2 px (percent).

    ``as_app``: each photo predicted as the app and ``main.py predict`` do (``Predictor`` at input
    ``size``: the thin head's second look at photos up to its native size, cracks refined at the
    photo's resolution); False: the trainer's batch evaluation at ``size`` (one pass, the model's
    masks as they are), what the rows measured before that look existed."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    if not as_app:
        return _evaluate_batch(checkpoint, test_dir, size, thresholds)
    from core.data import coco_panoptic_source
    from core.evaluation.pq import PQAccumulator
    from core.evaluation.thin import ThinAccumulator
    from core.imageio import load_image
    from core.inference.predictor import Predictor
    from core.inference.thin_refine import refined_result

    source = coco_panoptic_source(test_dir)
    predictor = Predictor.from_checkpoint(checkpoint, device="cpu", input_size=size)
    pq = {t: PQAccumulator(source.categories) for t in thresholds}
    thin = {t: ThinAccumulator(source.categories, tolerance=2.0) for t in thresholds}
    for i, sample in enumerate(source.samples):
        rgb, truth = load_image(sample.image_path), sample.load_annotation()
        pred = predictor.predict(rgb)
        for t in thresholds:
            ann = refined_result(pred, t, rgb)
            pq[t].process(truth, ann, image_id=i)
            thin[t].process(truth, ann, image_id=i)
    return {str(t): _row(pq[t].evaluate(), thin[t].evaluate()) for t in thresholds}


def _evaluate_batch(checkpoint: Path, test_dir: Path, size: int, thresholds: tuple[float, ...]) -> dict:
    """``evaluate`` with the trainer's batch evaluation (``core.training.evaluate.evaluate_pq``)."""
    import torch

    from core.data import PanopticDataset, coco_panoptic_source, collate
    from core.data.transforms import build_eval_transforms
    from core.model import load_model_from_checkpoint
    from core.training.evaluate import evaluate_pq

    loaded = load_model_from_checkpoint(checkpoint, "cpu")
    ds = PanopticDataset(coco_panoptic_source(test_dir), build_eval_transforms(size), base_size=size, keep_gt=True)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, collate_fn=collate)
    out = {}
    for t in thresholds:
        res = evaluate_pq(loaded.model, loaded.postprocessor, loader, loaded.categories, torch.device("cpu"),
                          threshold=t)
        out[str(t)] = _row(res, res.thin)
    return out


def _row(pq, thin) -> dict:
    """One threshold's figures (percent) from a PQ result and a thin-structure result (or None)."""
    row = {"pq": 100 * pq.all.pq, "things": 100 * pq.things.pq, "stuff": 100 * pq.stuff.pq,
           "classes": {r.name: {"pq": 100 * r.pq, "rq": 100 * r.rq, "tp": r.tp, "fp": r.fp, "fn": r.fn}
                       for r in pq.per_class if r.n or r.fp}}
    if thin is not None:
        for r in thin.per_class:
            if r.counted and r.name in row["classes"]:
                row["classes"][r.name].update(cl_p=100 * r.precision, cl_r=100 * r.recall, cl_f1=100 * r.f1)
    return row


def child(init: str, n_train: int, minutes: float, folders: dict[str, Path], out: Path, threads: int,
          eval_size: int, clock: str = "wall", train_size: int = 0, thin_head: bool = False,
          native_crops: float | None = None, thin_context: int = 0, as_app: bool = True) -> dict:
    """Train one start on ``n_train`` photos for ``minutes`` of ``clock``; returns its figures.

    ``train_size``: train at this one longer side (0: the preset's range); ``thin_head``: with the
    dense thin head (``ModelConfig.thin_head``; added fresh to a checkpoint without one);
    ``native_crops``: ``TrainConfig.native_crop_prob`` (None: the preset's); ``thin_context``: the
    thin head's dilated context blocks (``ModelConfig.thin_head_context``; implies the head)."""
    import random

    import torch

    from bench.budget import budget_clock
    from core.data import coco_panoptic_source
    from core.training import Trainer

    if threads:
        torch.set_num_threads(threads)
    source = coco_panoptic_source(folders["train"])
    order = list(range(len(source)))
    random.Random(0).shuffle(order)
    train = source.subset(sorted(order[:n_train]), name=f"UAV75 train, {n_train} photos")
    from core.model.config import get_preset

    cfg = train_config(init, minutes, threads)
    if train_size:
        cfg = cfg.replace(min_size=train_size, max_size=train_size)
    if native_crops is not None:
        cfg = cfg.replace(native_crop_prob=native_crops)
    thin_head = thin_head or thin_context > 0
    model_config = get_preset(cfg.model_preset).replace(thin_head=True, thin_head_context=thin_context) \
        if thin_head else None
    start = time.monotonic()
    summary = None
    for rec in Trainer(cfg, train, out / f"{init}_{n_train}", overwrite=True, model_config=model_config,
                       clock=budget_clock(clock, torch.get_num_threads())).run():
        if rec.kind == "summary":
            summary = rec
    seconds = time.monotonic() - start
    row = {"start": init, "photos": n_train, "minutes": minutes, "steps": summary.steps,
           "epochs": summary.epochs_done, "images_per_s": round(summary.steps * cfg.batch_size / seconds, 2),
           "load": round(os.getloadavg()[0], 1), "preset": cfg.model_preset,
           "train_size": train_size, "thin_head": thin_head, "thin_context": thin_context,
           "native_crop_prob": cfg.native_crop_prob}
    row["test"] = evaluate(Path(summary.last_checkpoint), folders["test"], eval_size, threads, as_app=as_app)
    return row


def _fmt(v) -> str:
    return "-" if v is None or v != v else f"{v:.1f}"


def table(rows: list[dict]) -> str:
    """Markdown: one line per row and threshold."""
    lines = ["| start | photos | steps | img/s | thr | PQ | Things | Stuff | crack PQ (TP/FP/FN) | "
             "crack centreline P / R / F1 | concrete PQ |", "|" + "---|" * 11]
    for r in rows:
        for t, f in r["test"].items():
            crack, concrete = f["classes"].get("crack", {}), f["classes"].get("concrete", {})
            counts = f"{crack.get('tp', 0)}/{crack.get('fp', 0)}/{crack.get('fn', 0)}"
            cl = " / ".join(_fmt(crack.get(k)) for k in ("cl_p", "cl_r", "cl_f1"))
            lines.append(f"| {r['start']} | {r.get('photos', 0)} | {r.get('steps', 0)} | {r.get('images_per_s', '-')} "
                         f"| {t} | {_fmt(f['pq'])} | {_fmt(f['things'])} | {_fmt(f['stuff'])} | "
                         f"{_fmt(crack.get('pq'))} ({counts}) | {cl} | {_fmt(concrete.get('pq'))} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="3-minute budgets, 25 training photos")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"UAV75 folder (default {DEFAULT_DATA})")
    p.add_argument("--sizes", default=None, help="training photos per run, comma-separated (default 10,25,50)")
    p.add_argument("--minutes", type=float, default=None, help="training budget per run (default 10)")
    p.add_argument("--starts", default=",".join(INITS), help=f"comma-separated, of: {', '.join(INITS)}")
    p.add_argument("--eval-size", type=int, default=384, help="longer side at evaluation (default 384, as the "
                   "presets evaluate)")
    p.add_argument("--train-size", type=int, default=0,
                   help="train at this one longer side in px (default: the preset's 256-320; 512 is UAV75's own, "
                        "where its 1-px crack lines are not blurred away)")
    p.add_argument("--thin-head", action="store_true", help="train with the dense thin head (cracks drawn per pixel)")
    p.add_argument("--thin-context", type=int, default=0,
                   help="dilated context blocks in the thin head (ModelConfig.thin_head_context; implies --thin-head)")
    p.add_argument("--native-crops", type=float, default=None,
                   help="share of training samples that are windows at the photo's own resolution (default: the "
                        "preset's)")
    p.add_argument("--batch-eval", action="store_true",
                   help="score with the trainer's one-pass batch evaluation, not as the app predicts")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per run (default 1: a shared machine)")
    p.add_argument("--work", type=Path, help="folder for the imported data and runs (kept; default: temporary, "
                   "outside the repository)")
    p.add_argument("--clock", choices=CLOCKS, default="wall",
                   help="budget in wall-clock seconds (default) or CPU seconds per torch thread (a shared machine)")
    p.add_argument("--json", type=Path, help="write the rows as JSON here")
    p.add_argument("--checkpoints", help="comma-separated checkpoints to score on the test split (no training)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.clock == "cpu":
        passive_waits()  # before torch is imported here or in a child: spinning threads would count as work
    minutes = args.minutes or (3.0 if args.quick else 10.0)
    sizes = [int(s) for s in (args.sizes or ("25" if args.quick else "10,25,50")).split(",") if s.strip()]
    starts = [s.strip() for s in args.starts.split(",") if s.strip()]
    for s in starts:
        if s not in INITS:
            p.error(f"unknown start {s!r}; known: {', '.join(INITS)}")
    with tempfile.TemporaryDirectory(prefix="bench_real_") as tmp:
        work = args.work or Path(tmp)
        if work.resolve().is_relative_to(ROOT):
            p.error("--work must be outside the repository (UAV75 is GPL-3.0 and never goes into it)")
        folders = import_uav75(args.data, work / "uav75")
        if args.child:
            init, n = args.child.split(":")
            row = child(init, int(n), minutes, folders, work / "runs", args.threads, args.eval_size, args.clock,
                        args.train_size, args.thin_head, args.native_crops, args.thin_context, not args.batch_eval)
            print("ROW " + json.dumps(row), flush=True)
            return 0
        if args.checkpoints:
            for ckpt in args.checkpoints.split(","):
                row = {"start": Path(ckpt).as_posix(), "test": evaluate(Path(ckpt), folders["test"], args.eval_size,
                                                                        args.threads, as_app=not args.batch_eval)}
                print(table([row]), flush=True)
            return 0
        print(f"UAV75 test split ({len(list((folders['test'] / 'all').glob('*')))} photos), eval at "
              f"{args.eval_size} px; runs of {minutes:g} min on {sizes} training photos, {args.threads} thread(s); "
              f"{precision_words()}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
        rows = [{"start": "shipped zero-shot", "photos": 0, "steps": 0, "images_per_s": "-",
                 "test": evaluate(shipped_model(), folders["test"], args.eval_size, args.threads,
                                  as_app=not args.batch_eval)}]
        print(table(rows[-1:]), flush=True)
        for n in sizes:
            for init in starts:
                cmd = [sys.executable, "-m", "bench.bench_real", "--child", f"{init}:{n}", "--minutes", str(minutes),
                       "--data", str(args.data), "--work", str(work), "--threads", str(args.threads),
                       "--eval-size", str(args.eval_size), "--clock", args.clock,
                       "--train-size", str(args.train_size)] + (["--thin-head"] if args.thin_head else []) + (
                           ["--native-crops", str(args.native_crops)] if args.native_crops is not None else []) + (
                           ["--thin-context", str(args.thin_context)]) + (["--batch-eval"] if args.batch_eval else [])
                proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
                line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("ROW ")), None)
                if proc.returncode or line is None:
                    print(f"{init} on {n} photos: failed\n{proc.stderr[-3000:]}", flush=True)
                    continue
                rows.append(json.loads(line[4:]))
                print(table(rows[-1:]).splitlines()[-2], flush=True)
                print(table(rows[-1:]).splitlines()[-1], flush=True)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
        print("\n" + table(rows))
        print(f"\nload average at the end {os.getloadavg()[0]:.2f}; hardware: {os.cpu_count()} cores, shared")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
