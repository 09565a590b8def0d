"""Benchmark: crack width read from the photo's grey profile against the mask-count width.

    python -m bench.bench_crack_width [--n 8] [--mm-per-px 0.15] [--seed 0] [--json out.json]

Renders cracks of known width (``core.synthetic.thin_crack``: supersampled, so anti-aliased)
at widths 0.3-8 px, straight and curved, each with a random draw of: Gaussian blur sigma
0.3-1.0 px, noise sigma 1-3 grey levels, contrast 30-80 grey levels, JPEG quality 80-95 or none,
shading 0-30 %, and a mask that is exact, 1 px too wide on each side, 2 px too wide, or shifted
1.5 px sideways. ``--n`` draws per width. Each crack is measured three ways:

* ``mask``: the mask-count mean width (``core.measure.cracks.measure_linear``: area / length);
* ``lone``: ``profile_width`` on a photo holding only that crack (no other source of the crack
  interior's contrast: cracks too thin to show it take the middle of the contrasts their
  profiles allow);
* ``photo``: ``photo_cracks.measure_photo_cracks`` on the same crack beside a 6 px crack of the
  same interior in the same photo (the contrast read there is borrowed).

Prints, per width bin and overall, the mean absolute error (px and mm at ``--mm-per-px``) and the
share within 0.1 mm, medians of the signed errors, and the ratio of each method's MAE to the mask
count's, all measured in this run.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.measure.cracks import measure_linear  # noqa: E402 - after sys.path: run as a script
from core.measure.photo_cracks import measure_photo_cracks  # noqa: E402 - after sys.path: run as a script
from core.measure.profile_width import measure_crack_width  # noqa: E402 - after sys.path: run as a script
from core.synthetic.thin_crack import render_crack  # noqa: E402 - after sys.path: run as a script

WIDTHS = (0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
MASKS = {"exact": (0.0, 0.0), "wide1": (1.0, 0.0), "wide2": (2.0, 0.0), "shift1.5": (0.0, 1.5)}
METHODS = ("mask", "lone", "photo")


def _draw(rng: np.random.Generator, width: float, i: int) -> dict:
    return {"width": width, "kind": ("straight", "curved")[i % 2], "angle": float(rng.uniform(0, 180)),
            "blur": float(rng.uniform(0.3, 1.0)), "noise": float(rng.uniform(1.0, 3.0)),
            "contrast": float(rng.uniform(30, 80)), "background": float(rng.uniform(110, 190)),
            "jpeg": None if rng.random() < 0.5 else int(rng.integers(80, 96)),
            "shading": float(rng.uniform(0, 0.3)), "mask_kind": str(rng.choice(list(MASKS))),
            "seed": int(rng.integers(1 << 30))}


def _measure(p: dict) -> dict:
    size = (160, 160) if p["width"] > 4 else (128, 128)
    common = {"blur_sigma": p["blur"], "noise_sigma": p["noise"], "contrast": p["contrast"],
              "background": p["background"], "jpeg_quality": p["jpeg"], "shading": p["shading"]}
    a = render_crack(p["width"], size=size, kind=p["kind"], angle_deg=p["angle"], seed=p["seed"], **common)
    b = render_crack(6.0, size=size, angle_deg=p["angle"] + 70, seed=p["seed"] + 1, **common)
    wider, shift = MASKS[p["mask_kind"]]
    mask = a.mask(wider, shift)
    lone = measure_crack_width(a.image, mask)
    rows = measure_photo_cracks(np.hstack([a.image, b.image]), np.hstack([mask, b.mask()]))
    photo = next(r for r in rows if r.bbox_px[0] < size[1]).width
    return {"mask": measure_linear(mask).mean_width, "lone": lone.median, "photo": photo.median,
            "lone_method": lone.method, "photo_method": photo.method}


def _stats(err_px: np.ndarray, mm: float) -> dict:
    a = np.abs(err_px)
    return {"mae_px": float(a.mean()), "mae_mm": float(a.mean() * mm), "within_0.1mm": float(np.mean(a * mm <= 0.1)),
            "median_err_px": float(np.median(err_px)), "p90_abs_px": float(np.percentile(a, 90))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=8, help="draws per width")
    ap.add_argument("--mm-per-px", type=float, default=0.15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)
    rng = np.random.default_rng(args.seed)
    records = []
    t0 = time.perf_counter()
    for width in WIDTHS:
        for i in range(args.n):
            p = _draw(rng, width, i)
            records.append({**p, **_measure(p)})
    wall = time.perf_counter() - t0
    mm = args.mm_per_px
    print(f"crack width: {len(records)} rendered cracks, {args.n} per width, {mm} mm/px, {wall:.0f} s")
    head = f"{'width px':>8} {'mm':>5} | " + " | ".join(f"{m:>5}: MAE px  mm  <=0.1mm  med err" for m in METHODS)
    print(head)
    summary = {"per_width": {}, "overall": {}, "n": len(records), "mm_per_px": mm, "wall_s": wall}
    for width in (*WIDTHS, None):
        sel = [r for r in records if width is None or r["width"] == width]
        truth = np.array([r["width"] for r in sel])
        cells, stats = [], {}
        for m in METHODS:
            s = _stats(np.array([r[m] for r in sel]) - truth, mm)
            stats[m] = s
            cells.append(f"{s['mae_px']:12.2f} {s['mae_mm']:5.3f} {100 * s['within_0.1mm']:6.0f} % "
                         f"{s['median_err_px']:+8.2f}")
        label = "all" if width is None else f"{width:g}"
        wmm = "" if width is None else f"{width * mm:.2f}"
        print(f"{label:>8} {wmm:>5} | " + " | ".join(cells))
        (summary["overall"] if width is None else summary["per_width"].setdefault(label, {})).update(stats)
    o = summary["overall"]
    print(f"MAE ratio vs mask count: lone {o['lone']['mae_px'] / o['mask']['mae_px']:.2f}, "
          f"photo {o['photo']['mae_px'] / o['mask']['mae_px']:.2f}")
    for m in ("lone", "photo"):
        used = {}
        for r in records:
            used[r[f"{m}_method"]] = used.get(r[f"{m}_method"], 0) + 1
        print(f"methods used ({m}): " + ", ".join(f"{k} {v}" for k, v in sorted(used.items())))
    by_mask = {k: _stats(np.array([r["photo"] - r["width"] for r in records if r["mask_kind"] == k]), mm)
               for k in MASKS if any(r["mask_kind"] == k for r in records)}
    print("photo MAE px by mask: " + ", ".join(f"{k} {v['mae_px']:.2f}" for k, v in by_mask.items()))
    if args.json:
        summary["records"] = records
        args.json.write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
