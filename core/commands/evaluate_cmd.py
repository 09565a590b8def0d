"""``evaluate``: PQ / SQ / RQ (and optionally COCO box and mask AP) of a COCO panoptic prediction.

    python main.py evaluate --gt val/panoptic_val.json --pred out/panoptic_pred.json
    python main.py evaluate --gt gt.json --pred pred.json --per-class --coco-ap --json metrics.json
    python main.py evaluate --gt gt.json --pred pred.json --backend panopticapi
    python main.py evaluate --project bridge.pinspect --photos val --threshold 0.5 --worst 5
    python main.py evaluate --gt gt.json --pred pred.json --thin-metrics --thin-tolerance 2

PNG folders default to the folder beside each JSON named like it (panopticapi's layout). With
``--project`` a registered model (the active one by default) is run on the project's annotated
photos and compared with their annotations (``core.evaluation.project_eval``: what the
application's Evaluate dialog shows); the project is opened read-only.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.evaluation.thin import ThinResult

BACKENDS = ("inspector", "panopticapi")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="PQ/SQ/RQ and COCO AP of predictions against ground truth",
                       description="Evaluate a COCO panoptic prediction (JSON + PNG folder) against ground "
                                   "truth: PQ, SQ, RQ for All / Things / Stuff as panopticapi prints them, "
                                   "per class and per image on request, and COCO box / mask AP of things.")
    p.add_argument("--gt", type=Path, default=None, help="ground-truth COCO panoptic JSON")
    p.add_argument("--pred", type=Path, default=None, help="predicted COCO panoptic JSON")
    p.add_argument("--project", type=Path, default=None,
                   help="instead of --gt/--pred: run a model of this project on its annotated photos")
    p.add_argument("--model", type=int, default=None, metavar="ID",
                   help="--project: the registered model's id (default: the active model)")
    p.add_argument("--photos", choices=("val", "annotated"), default="val",
                   help="--project: the validation split (default) or every annotated photo")
    p.add_argument("--threshold", type=float, default=0.5, help="--project: confidence threshold (default 0.5)")
    p.add_argument("--device", default="auto", help="--project: auto (CUDA when present), cpu, cuda:N")
    p.add_argument("--gt-folder", type=Path, default=None, help="ground-truth PNGs (default: beside --gt)")
    p.add_argument("--pred-folder", type=Path, default=None, help="predicted PNGs (default: beside --pred)")
    p.add_argument("--per-class", action="store_true", help="also print PQ, SQ, RQ, TP, FP, FN per class")
    p.add_argument("--worst", type=int, default=0, metavar="K", help="also list the K images with the lowest PQ")
    p.add_argument("--coco-ap", action="store_true",
                   help="also compute COCO box AP/AR and mask AP of things (predictions need scores)")
    p.add_argument("--thin-metrics", action="store_true",
                   help="also score thin classes (cracks, rebar, categories flagged thin) by their centrelines: "
                        "precision, recall, F1 and clIoU within --thin-tolerance")
    p.add_argument("--thin-tolerance", type=_tolerance, default=None, metavar="PX",
                   help="--thin-metrics: distance in pixels of the full-size photo within which centrelines "
                        "match (default 2; implies --thin-metrics)")
    p.add_argument("--thin-refine", action=argparse.BooleanOptionalAction, default=True,
                   help="--project: evaluate thin segments redrawn at the photo's resolution, as the window shows "
                        "them (default: on)")
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


def _tolerance(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of pixels, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more pixels, got {text}")
    return value


def _thin_tolerance(args: argparse.Namespace) -> float | None:
    """The tolerance when thin metrics are asked for (``--thin-tolerance`` alone asks too), else None."""
    if not (getattr(args, "thin_metrics", False) or getattr(args, "thin_tolerance", None) is not None):
        return None
    # Imported only when asked for: it loads scipy and scikit-image, ~0.3 s of every evaluation's start-up.
    from core.evaluation.thin import DEFAULT_TOLERANCE

    return DEFAULT_TOLERANCE if args.thin_tolerance is None else args.thin_tolerance


def run(args: argparse.Namespace) -> int:
    import sys

    if args.project is not None and (args.gt is not None or args.pred is not None):
        print("error: give either --project or --gt and --pred, not both", file=sys.stderr)
        return 2
    if args.project is not None:
        return run_project(args)
    if args.gt is None or args.pred is None:
        print("error: --gt and --pred are required (or --project)", file=sys.stderr)
        return 2
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
        from core.commands.process_tuning import keep_freed_memory, single_threaded_opencv

        keep_freed_memory()  # image buffers reused instead of page-faulted in for every PNG
        single_threaded_opencv()  # our worker threads already use every core
        bar = ProgressBar("evaluate")
        try:
            ev = evaluate_files(args.gt, args.pred, args.gt_folder, args.pred_folder, coco_ap=args.coco_ap,
                                workers=args.workers, progress=bar)
        finally:
            bar.close()
        pq, coco = ev.pq, ev.coco
    thin = None
    tolerance = _thin_tolerance(args)
    if tolerance is not None:
        from core.evaluation.thin_files import evaluate_thin_files

        bar = ProgressBar("thin structures")
        try:
            thin = evaluate_thin_files(args.gt, args.pred, args.gt_folder, args.pred_folder, tolerance=tolerance,
                                       workers=args.workers, progress=bar)
        finally:
            bar.close()
    print(f"{pq.num_images} images, backend {args.backend}")
    print(format_pq_table(pq, per_class=args.per_class))
    if args.worst and pq.per_image:
        print(f"\nlowest PQ of {len(pq.per_image)} images:")
        for r in pq.worst_images(args.worst):
            print(f"  image {r.image_id}: PQ {100 * r.pq:5.1f}  TP {r.tp}  FP {r.fp}  FN {r.fn}")
    if coco is not None:
        print()
        print(format_coco_table(coco))
    if thin is not None:
        from core.evaluation.thin import format_thin_table

        print()
        print(format_thin_table(thin, per_image=args.worst))
    if args.json is not None:
        out = {"backend": args.backend, "gt": str(args.gt), "pred": str(args.pred), "pq": pq.to_json()}
        if coco is not None:
            out["coco"] = coco.to_json()
        if thin is not None:
            out["thin"] = thin.to_json()
        atomic_write_text(args.json, json.dumps(out, indent=1, allow_nan=False))
        print(f"wrote {args.json}")
    return 0


def run_project(args: argparse.Namespace) -> int:
    """``--project``: the application's evaluation, headless (nothing is written to the project)."""
    from core.atomic import atomic_write_text
    from core.commands.progress import ProgressBar
    from core.errors import ProjectError
    from core.evaluation import format_coco_table, format_pq_table
    from core.evaluation.project_eval import evaluate_project, evaluation_photos
    from core.inference.project_model import load_project_predictor
    from core.project import Project
    from core.project.active_model import active_model_id

    with Project.open(args.project, read_only=True) as project:
        model_id = args.model if args.model is not None else active_model_id(project)
        if model_id is None:
            raise ProjectError("the project has no model with a checkpoint", args.project,
                               hint="train one first, or give --model")
        photos = evaluation_photos(project, args.photos)
        if not photos:
            raise ProjectError(f"no {'validation' if args.photos == 'val' else 'annotated'} photos to evaluate on",
                               args.project, hint="use --photos annotated, or give photos the val split")
        predictor = load_project_predictor(project, model_id, args.device)
        name = project.models.get(model_id).name
        bar = ProgressBar("evaluate")
        try:
            ev = evaluate_project(project, predictor, [p.id for p in photos], threshold=args.threshold,
                                  coco_ap=True, thin_tolerance=_thin_tolerance(args), thin_refine=args.thin_refine,
                                  progress=bar)
        finally:
            bar.close()
    print(f"model {model_id} ({name}) on {len(ev.photos)} {args.photos} photos at threshold {ev.threshold}")
    print(format_pq_table(ev.pq, per_class=args.per_class))
    if args.worst:
        print(f"\nlowest PQ of {len(ev.photos)} photos:")
        for p in ev.worst(args.worst):
            print(f"  {p.name}: PQ {100 * p.pq.pq:5.1f}  TP {p.pq.tp}  FP {p.pq.fp}  FN {p.pq.fn}")
    print()
    assert ev.coco is not None  # evaluated with coco_ap=True
    print(format_coco_table(ev.coco))
    if ev.thin is not None:
        from core.evaluation.thin import format_thin_table

        print()
        print(format_thin_table(_named(ev.thin, {p.image_id: p.name for p in ev.photos}), per_image=args.worst))
    for _id, photo, reason in ev.skipped:
        print(f"skipped {photo}: {reason}")
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(dict(ev.to_json(), model_id=model_id, project=str(args.project)),
                                                indent=1, allow_nan=False))
        print(f"wrote {args.json}")
    return 1 if ev.skipped else 0


def _named(thin: ThinResult, names: dict) -> ThinResult:
    """The thin result with photo names instead of project ids in its per-photo rows (for printing)."""
    from dataclasses import replace

    return replace(thin, per_image=tuple(replace(r, image_id=names.get(r.image_id, r.image_id))
                                         for r in thin.per_image))
