"""Benchmark: full-resolution refinement of thin segments (``core.inference.thin_refine``).

    python -m bench.bench_thin_refine [--threads 1] [--generated 8] [--uav75 DIR] [--json out.json]

* Time: ``refine_thin`` on a 4000 x 3000 photo with five drawn cracks (2-4 px wide, 40-px
  ribbons as the model's coarse masks; touching ones form one network), median wall and CPU
  time (``process_time``: the figure an idle machine approaches) of 5 runs, against the coarse
  re-threshold
  (``PanopticPrediction.panoptic``) of the shipped demo model on the same photo measured in the
  same run (the ratio is what the slider pays once per level).
* Quality, before vs after refinement, with the shipped model (``resources/models/demo_cpu_fast.pt``)
  at threshold 0.5: crack centreline precision / recall / F1 / clIoU at 2 px
  (``core.evaluation.thin``), crack mask IoU and mean width (px) of the crack pixels,
  - on ``--generated`` photos of ``core.synthetic`` (1600 x 1200, seeds 9000+), truth = the
    generator's crack segments; also PQ All and crack PQ at thresholds 0.5 and 0.7;
  - on the UAV75 test split (``--uav75``, white label pixels = crack; skipped when absent);
  - "oracle ribbons" on UAV75: the truth cracks widened to a ribbon one model grid cell wide on
    each side (what a model that finds every crack would draw), then refined: the refinement's
    own ceiling, independent of the model's recall.

Figures are medians / micro averages; the machine's load average is printed because timings are
only comparable at similar load.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODEL = ROOT / "resources" / "models" / "demo_cpu_fast.pt"
UAV75 = ROOT.parent / "shared" / "datasets" / "uav75"
THRESHOLD = 0.5


def drawn_cracks(shape=(3000, 4000), n=5, seed=0):
    """``(rgb [H, W, 3] uint8, truth [H, W] bool, coarse ribbons [H, W] bool)``: a concrete-like
    grey surface with ``n`` random polyline cracks 2-4 px wide and 20-45 grey levels dark."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grey = 150 + 25 * np.sin(xx / 700) * np.cos(yy / 500)
    grey += cv2.GaussianBlur(rng.normal(0, 6, shape).astype(np.float32), (0, 0), 1.0)
    truth = np.zeros(shape, np.uint8)
    dark = np.zeros(shape, np.float32)
    for _ in range(n):
        pts = np.cumsum(rng.normal(0, 350, (6, 2)), axis=0) + rng.uniform((500, 500), (w - 500, h - 500))
        pts = np.clip(pts, 0, (w - 1, h - 1)).astype(np.int32)
        one = np.zeros(shape, np.uint8)
        cv2.polylines(one, [pts], False, 1, int(rng.integers(2, 5)))
        truth |= one
        dark = np.maximum(dark, one * float(rng.uniform(20, 45)))
    grey -= cv2.GaussianBlur(dark, (0, 0), 0.6)
    rgb = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    ribbons = cv2.dilate(truth, np.ones((41, 41), np.uint8)) > 0
    return rgb, truth.astype(bool), ribbons


def timing(predictor, repeat: int = 5) -> dict:
    from core.categories import default_categories
    from core.inference.thin_refine import refine_thin
    from core.panoptic import PanopticAnnotation, Segment

    cats = default_categories()
    rgb, truth, ribbons = drawn_cracks()
    import cv2

    n, comp = cv2.connectedComponents(ribbons.astype(np.uint8))
    ids = np.where(comp > 0, comp + 1, 1).astype(np.int32)
    segs = {1: Segment(1, cats.by_name("concrete").id)}
    segs.update({k + 1: Segment(k + 1, cats.by_name("crack").id) for k in range(1, n)})
    ann = PanopticAnnotation(ids, segs)
    times, cpu, report = [], [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = refine_thin(ann, rgb, cats, cell=42.0, report=report)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    crack = np.isin(out.id_map, list(range(2, n + 1)))
    # Baseline in the same run: the shipped model's coarse re-threshold of a 12 MP photo.
    pred = predictor.predict(rgb)
    pred.panoptic(THRESHOLD)
    base = []
    for t in np.linspace(0.3, 0.9, 10):
        t0 = time.perf_counter()
        pred.panoptic(float(t))
        base.append(time.perf_counter() - t0)
    refine_s, base_s = statistics.median(times), statistics.median(base)
    return {"photo": "4000x3000", "cracks": n - 1, "refine_median_s": refine_s, "refine_cpu_median_s":
            statistics.median(cpu), "rethreshold_median_s": base_s,
            "ratio": refine_s / base_s, "mask_iou": float((crack & truth).sum() / (crack | truth).sum()),
            "ribbon_px": int(ribbons.sum()), "refined_px": int(crack.sum()), "truth_px": int(truth.sum())}


class Scores:
    """Before / after accumulators: centreline measures plus crack mask IoU and width."""

    def __init__(self, categories):
        from core.evaluation.thin import ThinAccumulator

        self.cats = categories
        self.crack = categories.by_name("crack").id
        self.thin = {k: ThinAccumulator(categories, tolerance=2.0, keep_per_image=False) for k in ("before", "after")}
        self.inter = {"before": 0, "after": 0}
        self.union = {"before": 0, "after": 0}
        self.width = {"before": [], "after": []}

    def add(self, which: str, gt, pred) -> None:
        from core.evaluation.thin import centreline

        self.thin[which].process(gt, pred)
        g = gt.semantic() == self.crack
        p = pred.semantic() == self.crack
        self.inter[which] += int((g & p).sum())
        self.union[which] += int((g | p).sum())
        if p.any():
            self.width[which].append(float(p.sum() / max(1, centreline(p).sum())))

    def result(self) -> dict:
        out = {}
        for k in ("before", "after"):
            row = next(r for r in self.thin[k].evaluate().per_class if r.category_id == self.crack)
            out[k] = {"precision": row.precision, "recall": row.recall, "f1": row.f1, "cliou": row.cliou,
                      "pred_length": row.pred_length, "gt_length": row.gt_length,
                      "mask_iou": self.inter[k] / self.union[k] if self.union[k] else float("nan"),
                      "median_width_px": statistics.median(self.width[k]) if self.width[k] else float("nan")}
        return out


def generated(predictor, n: int) -> dict:
    from core.inference.thin_refine import ThinRefiner
    from core.synthetic.generator import generate_sample

    from core.evaluation.pq import PQAccumulator

    scores = Scores(predictor.categories)
    pq = {(t, k): PQAccumulator(predictor.categories, keep_per_image=False)
          for t in (0.5, 0.7) for k in ("before", "after")}
    for i in range(n):
        rgb, gt = generate_sample(9000 + i, (1600, 1200))
        pred = predictor.predict(rgb)
        refiner = ThinRefiner(pred, rgb)
        scores.add("before", gt, pred.panoptic(THRESHOLD))
        scores.add("after", gt, refiner.panoptic(THRESHOLD))
        for t in (0.5, 0.7):
            pq[t, "before"].process(gt, pred.panoptic(t))
            pq[t, "after"].process(gt, refiner.panoptic(t))
    panoptic = {}
    for (t, k), acc in pq.items():
        r = acc.evaluate()
        crack = next(row for row in r.per_class if row.name == "crack")
        panoptic[f"{t}/{k}"] = {"pq_all": r.all.pq, "pq_crack": crack.pq, "crack_tp": crack.tp,
                                "crack_fp": crack.fp, "crack_fn": crack.fn}
    return dict(scores.result(), photos=n, panoptic=panoptic)


def uav75(predictor, folder: Path) -> dict:
    import cv2

    from core.imageio import load_image
    from core.inference.thin_refine import ThinRefiner, refine_thin
    from core.panoptic import PanopticAnnotation, Segment

    cats = predictor.categories
    crack, concrete = cats.by_name("crack").id, cats.by_name("concrete").id
    model, oracle = Scores(cats), Scores(cats)
    photos = sorted((folder / "test_img").glob("*.jpg"))
    for path in photos:
        rgb = load_image(path)
        lab = cv2.imread(str(folder / "test_lab" / (path.stem + ".png")), cv2.IMREAD_GRAYSCALE)
        white = lab >= 250
        ids = np.where(white, 2, 1).astype(np.int32)
        gt = PanopticAnnotation(ids, {1: Segment(1, concrete), 2: Segment(2, crack)} if white.any()
                                else {1: Segment(1, concrete)})
        pred = predictor.predict(rgb)
        model.add("before", gt, pred.panoptic(THRESHOLD))
        refiner = ThinRefiner(pred, rgb)
        model.add("after", gt, refiner.panoptic(THRESHOLD))
        # Oracle ribbons: the truth widened by one model grid cell on each side.
        r = max(1, round(refiner.cell))
        ribbon = cv2.dilate(white.astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0
        coarse = PanopticAnnotation(np.where(ribbon, 2, 1).astype(np.int32), dict(gt.segments))
        oracle.add("before", gt, coarse)
        oracle.add("after", gt, refine_thin(coarse, rgb, cats, cell=refiner.cell))
    return {"photos": len(photos), "model": model.result(), "oracle_ribbons": oracle.result(),
            "cell_px": refiner.cell if photos else None}


def _row(name: str, r: dict) -> str:
    def pct(x):
        return "   -" if x != x else f"{100 * x:5.1f}"
    return (f"  {name:7s} P {pct(r['precision'])}  R {pct(r['recall'])}  F1 {pct(r['f1'])}  clIoU {pct(r['cliou'])}"
            f"  mask IoU {pct(r['mask_iou'])}  width {r['median_width_px']:5.1f} px")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--generated", type=int, default=8, help="generated photos (0: skip)")
    ap.add_argument("--uav75", type=Path, default=UAV75, help="UAV75 folder (skipped when absent)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch

    from core.inference import Predictor

    torch.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()[0]:.1f}; torch threads {args.threads}", flush=True)
    predictor = Predictor.from_checkpoint(MODEL, device="cpu")
    out = {"timing": timing(predictor)}
    t = out["timing"]
    print(f"refine {t['cracks']} crack networks of a {t['photo']} photo: {t['refine_median_s'] * 1000:.0f} ms median "
          f"wall, {t['refine_cpu_median_s'] * 1000:.0f} ms CPU "
          f"({t['ratio']:.1f}x the coarse re-threshold, {t['rethreshold_median_s'] * 1000:.0f} ms); mask IoU with the "
          f"drawn cracks {100 * t['mask_iou']:.1f} (ribbons {t['ribbon_px']:,} px -> {t['refined_px']:,} px, "
          f"truth {t['truth_px']:,} px)", flush=True)
    if args.generated:
        out["generated"] = generated(predictor, args.generated)
        print(f"generated photos ({args.generated}, 1600x1200), shipped model at {THRESHOLD}, crack centrelines "
              f"at 2 px:", flush=True)
        for k in ("before", "after"):
            print(_row(k, out["generated"][k]), flush=True)
        for key, r in out["generated"]["panoptic"].items():
            t, k = key.split("/")
            print(f"  PQ at {t} {k:6s}: All {100 * r['pq_all']:5.1f}, crack {100 * r['pq_crack']:5.1f} "
                  f"(TP {r['crack_tp']}, FP {r['crack_fp']}, FN {r['crack_fn']})", flush=True)
    if (args.uav75 / "test_img").is_dir():
        out["uav75"] = u = uav75(predictor, args.uav75)
        print(f"UAV75 test split ({u['photos']} photos, 512x512), shipped model at {THRESHOLD}:", flush=True)
        for k in ("before", "after"):
            print(_row(k, u["model"][k]), flush=True)
        print(f"UAV75, oracle ribbons ({u['cell_px']:.1f} px each side of the truth), refined:", flush=True)
        for k in ("before", "after"):
            print(_row(k, u["oracle_ribbons"][k]), flush=True)
    else:
        print(f"UAV75 not found at {args.uav75}: skipped")
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
