"""``evaluate``: PQ / SQ / RQ (and optionally COCO box and mask AP) of a COCO panoptic prediction.

    python main.py evaluate --gt val/panoptic_val.json --pred out/panoptic_pred.json
    python main.py evaluate --gt gt.json --pred pred.json --per-class --coco-ap --json metrics.json
    python main.py evaluate --gt gt.json --pred pred.json --backend panopticapi

PNG folders default to the folder beside each JSON named like it (panopticapi's layout).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

BACKENDS = ("inspector", "panopticapi")


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="PQ/SQ/RQ and COCO AP of predictions against ground truth",
                       description="Evaluate a COCO panoptic prediction (JSON + PNG folder) against ground "
                                   "truth: PQ, SQ, RQ for All / Things / Stuff as panopticapi prints them, "
                                   "per class and per image on request, and COCO box / mask AP of things.")
    p.add_argument("--gt", type=Path, required=True, help="ground-truth COCO panoptic JSON")
    p.add_argument("--pred", type=Path, required=True, help="predicted COCO panoptic JSON")
    p.add_argument("--gt-folder", type=Path, default=None, help="ground-truth PNGs (default: beside --gt)")
    p.add_argument("--pred-folder", type=Path, default=None, help="predicted PNGs (default: beside --pred)")
    p.add_argument("--per-class", action="store_true", help="also print PQ, SQ, RQ, TP, FP, FN per class")
    p.add_argument("--worst", type=int, default=0, metavar="K", help="also list the K images with the lowest PQ")
    p.add_argument("--coco-ap", action="store_true",
                   help="also compute COCO box AP/AR and mask AP of things (predictions need scores)")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="write all numbers as JSON")
    p.add_argument("--workers", type=_positive, default=None, help="decoding threads (default: CPUs + 1)")
    p.add_argument("--backend", choices=BACKENDS, default="inspector",
                   help="inspector (default, fast) or panopticapi (the reference, when installed)")
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def run(args) -> int:
    from core.atomic import atomic_write_text
    from core.commands.progress import ProgressBar
    from core.evaluation import evaluate_files, format_coco_table, format_pq_table

    coco = None
    if args.backend == "panopticapi":
        from core.evaluation.reference import evaluate_with_panopticapi

        if args.coco_ap or args.worst:
            print("note: --coco-ap and --worst need the inspector backend; ignored")
        pq = evaluate_with_panopticapi(args.gt, args.pred, args.gt_folder, args.pred_folder)
    else:
        bar = ProgressBar("evaluate")
        try:
            ev = evaluate_files(args.gt, args.pred, args.gt_folder, args.pred_folder, coco_ap=args.coco_ap,
                                workers=args.workers, progress=bar)
        finally:
            bar.close()
        pq, coco = ev.pq, ev.coco
    print(f"{pq.num_images} images, backend {args.backend}")
    print(format_pq_table(pq, per_class=args.per_class))
    if args.worst and pq.per_image:
        print(f"\nlowest PQ of {len(pq.per_image)} images:")
        for r in pq.worst_images(args.worst):
            print(f"  image {r.image_id}: PQ {100 * r.pq:5.1f}  TP {r.tp}  FP {r.fp}  FN {r.fn}")
    if coco is not None:
        print()
        print(format_coco_table(coco))
    if args.json is not None:
        out = {"backend": args.backend, "gt": str(args.gt), "pred": str(args.pred), "pq": pq.to_json()}
        if coco is not None:
            out["coco"] = coco.to_json()
        atomic_write_text(args.json, json.dumps(out, indent=1, allow_nan=False))
        print(f"wrote {args.json}")
    return 0
