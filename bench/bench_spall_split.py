"""Benchmark: one spall, one segment - spalling RQ / PQ with and without thing-query grouping.

The shipped demo model often gives one spall to several queries; the plain per-pixel argmax then
tiles the spall into several segments (one true positive, several false positives). The
post-processor groups same-class thing queries whose masks overlap strongly
(``core.model.thing_merge``). This prints, on generated photos the model never saw, in two
generator settings (the training setting at another seed, and close-up photos with more and larger
spalls at another size and aspect), per threshold: PQ All / Things, spalling PQ / RQ / TP / FP,
crack and rebar PQ, and how many predicted segments lie mostly inside each true spall (median and
share of spalls split into 2 or more), before ("none": every query its own segment) and after
(the default containment and any others asked for). The network runs once per photo; every rule
re-uses its stored prediction.

    python bench/bench_spall_split.py                        # 40 photos per setting, our PQ
    python bench/bench_spall_split.py --n 60 --panopticapi   # figures by the official panopticapi
    python bench/bench_spall_split.py --overlaps 0.5 0.65 0.8 0.9   # sweep the containment
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.model.thing_merge import DEFAULT_MERGE_OVERLAP
from core.synthetic.generator import SynthConfig, categories_of, generate_sample, image_seed

#: (name, config, (width, height), dataset seed). The demo model was trained on seeds 1 and 2.
SETTINGS = [
    ("default 384", SynthConfig(), (384, 384), 9001),
    ("close-up 512x384", SynthConfig(spall_count=(1, 4), crack_count=(0, 2), zoom=(1.0, 2.0)), (512, 384), 9002),
]


def _predict(predictor, config, size, seed, n):
    """``[(truth, PanopticPrediction, rgb)]`` of ``n`` generated photos."""
    out = []
    for i in range(n):
        rgb, truth = generate_sample(image_seed(seed, i), size, config)
        out.append((truth, predictor.predict(rgb), rgb))
    return out


def _result(pred, rgb, threshold, thin_refine):
    """The annotation a user gets at ``threshold``: with ``thin_refine``, cracks redrawn at the
    photo's resolution as prediction in the window and ``main.py predict`` does."""
    if not thin_refine:
        return pred.panoptic(threshold)
    from core.inference.thin_refine import refined_result

    return refined_result(pred, threshold, rgb)


def _with_overlap(prediction, overlap):
    from core.inference.result import PanopticPrediction

    meta = dataclasses.replace(prediction.meta, merge_overlap=overlap)
    return PanopticPrediction(prediction.logits, prediction.masks, prediction.categories, meta, prediction.query_ids,
                              thin_probs=prediction.thin_probs, thin_category_ids=prediction.thin_category_ids)


def _fragments(truth, ann, spall_id: int) -> list[int]:
    """Per true spall: predicted spalling segments with more than half of their pixels inside it."""
    counts = []
    pred_ids = [sid for sid, s in ann.segments.items() if s.category_id == spall_id]
    areas = {sid: int((ann.id_map == sid).sum()) for sid in pred_ids}
    for sid, seg in truth.segments.items():
        if seg.category_id != spall_id:
            continue
        inside = ann.id_map[truth.id_map == sid]
        counts.append(sum(1 for p in pred_ids if (inside == p).sum() * 2 > areas[p]))
    return counts


def _evaluate(pairs, categories, threshold, use_panopticapi, workdir, thin_refine=False):
    """(PQResult, fragments per true spall) of ``pairs`` at ``threshold``."""
    from core.evaluation.pq import PQAccumulator

    spall_id = categories.by_name("spalling").id
    anns = [(truth, _result(pred, rgb, threshold, thin_refine)) for truth, pred, rgb in pairs]
    frags = [c for truth, ann in anns for c in _fragments(truth, ann, spall_id)]
    if not use_panopticapi:
        acc = PQAccumulator(categories)
        for truth, ann in anns:
            acc.process(truth, ann)
        return acc.evaluate(), frags
    from core.evaluation.reference import evaluate_with_panopticapi
    from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic

    def records(which):
        return [PanopticRecord(i + 1, f"photo_{i:04d}.jpg", a.shape[1], a.shape[0], a)
                for i, a in enumerate(x[which] for x in anns)]

    write_coco_panoptic(workdir / "gt.json", workdir / "gt", records(0), categories)
    write_coco_panoptic(workdir / "pred.json", workdir / "pred", records(1), categories)
    return evaluate_with_panopticapi(workdir / "gt.json", workdir / "pred.json"), frags


def _pct(x):
    return float("nan") if x is None else 100.0 * x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=40, help="photos per generator setting (default 40)")
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.7])
    ap.add_argument("--overlaps", type=float, nargs="+", default=[DEFAULT_MERGE_OVERLAP],
                    help="grouping containments to compare with no grouping (default: the default one)")
    ap.add_argument("--panopticapi", action="store_true", help="score with the official panopticapi")
    ap.add_argument("--seed-offset", type=int, default=0,
                    help="added to each setting's dataset seed (fresh photos; the default containment "
                         "was chosen at offset 0)")
    ap.add_argument("--model", default=None, help="checkpoint (default: the shipped demo model)")
    ap.add_argument("--thin-refine", action="store_true",
                    help="also score the results with cracks refined at the photo's resolution (what the window "
                         "and main.py predict show): one more row per grouping")
    args = ap.parse_args(argv)

    from bench.models import predictor_for

    predictor, model = predictor_for(args.model)
    if predictor is None:
        return 2
    rules = [None] + list(args.overlaps)
    print(f"model {Path(model).name}, {args.n} photos per setting, scorer "
          f"{'panopticapi' if args.panopticapi else 'ours (panopticapi rules)'}")
    head = (f"{'setting':18} {'thr':>4} {'grouping':>10} | {'PQ':>5} {'Things':>6} | {'spall PQ':>8} {'RQ':>5} "
            f"{'TP':>4} {'FP':>4} {'FN':>4} | {'crack':>5} {'rebar':>5} | segs/spall med, split")
    print(head)
    print("-" * len(head))
    for name, config, size, seed in SETTINGS:
        categories = categories_of(config)
        t0 = time.perf_counter()
        pairs = _predict(predictor, config, size, seed + args.seed_offset, args.n)
        network_s = time.perf_counter() - t0
        ids = {k: categories.by_name(k).id for k in ("spalling", "crack", "exposed_rebar")}
        for threshold in args.thresholds:
            base_rq = None
            variants = [(rule, refine) for rule in rules for refine in ([False, True] if args.thin_refine else [False])]
            for rule, refine in variants:
                variant = [(truth, _with_overlap(pred, rule), rgb) for truth, pred, rgb in pairs]
                with tempfile.TemporaryDirectory() as tmp:
                    result, frags = _evaluate(variant, categories, threshold, args.panopticapi, Path(tmp), refine)
                sp = result.class_row(ids["spalling"])
                cr, rb = result.class_row(ids["crack"]), result.class_row(ids["exposed_rebar"])
                base_rq = sp.rq if rule is None else base_rq
                split = sum(1 for c in frags if c >= 2) / max(len(frags), 1)
                ratio = "" if rule is None or not base_rq else f"  RQ x{sp.rq / base_rq:.2f}"
                grouping = ("none" if rule is None else f"{rule:.2f}") + ("+thin" if refine else "")
                print(f"{name:18} {threshold:4.2f} {grouping:>10} | "
                      f"{_pct(result.groups[0].pq):5.1f} {_pct(result.groups[1].pq):6.1f} | "
                      f"{_pct(sp.pq):8.1f} {_pct(sp.rq):5.1f} {sp.tp:4d} {sp.fp:4d} {sp.fn:4d} | "
                      f"{_pct(cr.pq):5.1f} {_pct(rb.pq):5.1f} | {statistics.median(frags) if frags else 0:.0f}, "
                      f"{100 * split:.0f}%{ratio}")
        print(f"  ({name}: network {network_s / args.n * 1000:.0f} ms/photo)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
