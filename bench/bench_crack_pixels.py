"""Benchmark: how well a model's crack segments cover the true cracks, pixel by pixel.

Crack PQ says how many cracks were matched at IoU 0.5; this says why not: on generated photos the
model never saw, the cracks' pixel IoU with the truth (all crack pixels of a photo together), and
per true crack the best IoU any predicted crack segment reaches (share at >= 0.5 and >= 0.3), by
the true crack's size. Results are the ones a user gets (refined at the photo's resolution).

    python -m bench.bench_crack_pixels                   # the shipped model, 30 photos
    python -m bench.bench_crack_pixels --model run/last.pt --n 60

Also crack PQ by the same one-to-one matching at IoU > 0.5 (our count; the official figures come
from bench_spall_split.py --panopticapi), with the false segments split into those lying on a
true crack (pieces or ribbons of a crack that is there) and those elsewhere.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

SIZE_BINS = ((0, 100), (100, 1000), (1000, 10**9))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="checkpoint (default: the shipped demo model)")
    ap.add_argument("--n", type=int, default=30, help="generated photos (default 30)")
    ap.add_argument("--seed", type=int, default=9101, help="dataset seed (the models were trained on 1, 2 and 11)")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--close-up", action="store_true", help="bench_spall_split's close-up photos (512 x 384, "
                    "zoomed 1-2x: wider cracks) instead of the training setting at 384 px")
    ap.add_argument("--no-refine", action="store_true", help="the model's masks as they are (no full-resolution "
                    "refinement)")
    args = ap.parse_args(argv)

    from bench.models import predictor_for
    from core.inference.thin_refine import refined_result
    from bench.bench_spall_split import SETTINGS
    from core.synthetic.generator import categories_of, generate_sample, image_seed

    predictor, model = predictor_for(args.model)
    if predictor is None:
        return 2
    _, config, size, _ = SETTINGS[1 if args.close_up else 0]
    crack = categories_of(config).by_name("crack").id
    photo_iou, best, areas, n_pred = [], [], [], 0
    matched_iou, false_on_crack, false_elsewhere = [], 0, 0
    for i in range(args.n):
        rgb, truth = generate_sample(image_seed(args.seed, i), size, config)
        pred = predictor.predict(rgb)
        ann = pred.panoptic(args.threshold) if args.no_refine else refined_result(pred, args.threshold, rgb)
        true = [truth.id_map == s for s, g in truth.segments.items() if g.category_id == crack]
        found = [ann.id_map == s for s, g in ann.segments.items() if g.category_id == crack]
        n_pred += len(found)
        t_all = np.any(true, 0) if true else np.zeros(truth.id_map.shape, bool)
        p_all = np.any(found, 0) if found else np.zeros(truth.id_map.shape, bool)
        if t_all.any() or p_all.any():
            photo_iou.append((t_all & p_all).sum() / (t_all | p_all).sum())
        used = set()
        for t in true:
            areas.append(int(t.sum()))
            ious = [(t & p).sum() / (t | p).sum() for p in found]
            best.append(max(ious, default=0.0))
            if best[-1] > 0.5:  # a match at IoU > 0.5 is unique (as in PQ)
                matched_iou.append(best[-1])
                used.add(int(np.argmax(ious)))
        for j, p in enumerate(found):
            if j not in used:
                false_on_crack += bool((p & t_all).any())
                false_elsewhere += not (p & t_all).any()
    best_a, areas_a = np.array(best), np.array(areas)
    print(f"model {Path(model).name}, {args.n} photos of {size[0]} x {size[1]}, threshold {args.threshold}")
    print(f"true cracks {len(best_a)}, predicted crack segments {n_pred}; crack pixel IoU per photo, mean "
          f"{np.mean(photo_iou):.2f}")
    print(f"best IoU per true crack: median {np.median(best_a):.2f}, >= 0.5 for {100 * (best_a >= 0.5).mean():.0f} %, "
          f">= 0.3 for {100 * (best_a >= 0.3).mean():.0f} %")
    tp, fp, fn = len(matched_iou), false_on_crack + false_elsewhere, len(best_a) - len(matched_iou)
    pq = sum(matched_iou) / max(tp + 0.5 * fp + 0.5 * fn, 1e-9)
    print(f"crack PQ {100 * pq:.1f} (TP {tp} / FP {fp} / FN {fn}); false segments on a true crack {false_on_crack}, "
          f"elsewhere {false_elsewhere}")
    for lo, hi in SIZE_BINS:
        sel = (areas_a >= lo) & (areas_a < hi)
        if sel.any():
            print(f"  true cracks of {lo}-{hi if hi < 10**9 else 'more'} px: {int(sel.sum())}, "
                  f">= 0.5 for {100 * (best_a[sel] >= 0.5).mean():.0f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
