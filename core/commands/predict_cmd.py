"""``predict``: run a trained model on photos; write COCO panoptic (JSON + PNGs) and overlay pictures.

    python main.py predict runs/best.pt photos/ --out predictions --threshold 0.6
    python main.py predict model.pt IMG_1.jpg IMG_2.jpg --out out --device cpu --threads 2
    python main.py predict --project bridge.pinspect             # the active model, into the project

Writes ``OUT/panoptic_pred.json`` with ``OUT/panoptic_pred/*.png`` (panopticapi's layout, ready
for ``python main.py evaluate``) and ``OUT/overlays/*.jpg`` for people to look at. Thin segments
(cracks) are redrawn at full resolution along the crack in the photo
(``core.inference.thin_refine``; ``--no-thin-refine`` keeps the model's masks). Unreadable photos
are reported and skipped; the exit code is 1 when any was.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from core.commands.options import count

if TYPE_CHECKING:
    from core.inference.batch import BatchItem
    from core.inference.result import PanopticPrediction

JSON_NAME = "panoptic_pred.json"
OVERLAY_DIR = "overlays"


def _threshold(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _overlap(text: str) -> float | str:
    if text.strip().lower() in ("off", "none"):
        return "off"
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1] or 'off', got {text}")
    return value


def _merge_overlap(given: float | str | None) -> float | None:
    """``--merge-overlap`` as the predictor takes it (None: off); not given: the built-in default
    (imported here, not at start-up: its package loads torch)."""
    from core.model.thing_merge import DEFAULT_MERGE_OVERLAP

    return DEFAULT_MERGE_OVERLAP if given is None else None if given == "off" else float(given)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="panoptic predictions of photos with a trained model",
                       description="Predict photos with a checkpoint: COCO panoptic JSON + PNGs (full size, "
                                   "EXIF-upright) and overlay pictures with class and score labels. Exit code 1 "
                                   "when a photo could not be read (the others are still written).")
    p.add_argument("inputs", type=Path, nargs="*", metavar="CHECKPOINT PHOTOS",
                   help="a checkpoint written by training (.pt), then photos or folders searched recursively; "
                        "with --project only the checkpoint, or nothing for the project's active model")
    p.add_argument("--out", type=Path,
                   help="output folder: new, empty or an earlier prediction (never one holding the photos)")
    p.add_argument("--project", type=Path,
                   help="predict this project's photos and store the predictions in it, as the window does")
    from core.commands.predict_project import SCOPES

    p.add_argument("--photos", dest="which", choices=sorted(SCOPES), default="unlabeled",
                   help="with --project: " + "; ".join(f"{k}: {v}" for k, v in SCOPES.items()) +
                        " (default: unlabeled)")
    p.add_argument("--threshold", type=_threshold, default=0.5, help="minimum confidence of a segment (default 0.5)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--input-size", type=count(32), default=None, metavar="PX",
                   help="longer side the network sees (default: what the model was trained at)")
    p.add_argument("--threads", type=count(1), default=None, help="CPU threads for the network (default: torch's)")
    p.add_argument("--overlay-size", type=count(16), default=None, metavar="PX",
                   help="longer side of the overlay pictures (default 1600)")
    p.add_argument("--no-overlays", action="store_true", help="do not write overlay pictures")
    p.add_argument("--thin-refine", action=argparse.BooleanOptionalAction, default=True,
                   help="redraw thin segments (cracks) at the photo's full resolution along the crack in the "
                        "photo instead of the model's grid-cell-wide ribbon (default: on)")
    p.add_argument("--merge-overlap", type=_overlap, default=None, metavar="C",
                   help="model masks of one defect class that overlap by this share of the smaller one are "
                        "one defect, one segment (default: the built-in value, see the README; 'off': every "
                        "model query its own segment)")
    p.add_argument("--ids-from", type=Path, default=None, metavar="COCO_JSON",
                   help="take image ids from this COCO (panoptic) JSON, matching photos by file name, so the "
                        "output can be evaluated against it; photos it does not list are skipped")
    p.set_defaults(func=run)


def collect_photos(inputs: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files as given (in order) and the photos inside folders (sorted); ``(photos, problems)``."""
    from core.project.images import list_image_files

    photos, problems = [], []
    for item in inputs:
        if item.is_dir():
            found = list_image_files(item)
            if not found:
                problems.append((item, "no photos in this folder"))
            photos += found
        elif item.exists():
            photos.append(item)  # an explicit file is tried even with an odd extension
        else:
            problems.append((item, "no such file or folder"))
    return photos, problems


def output_names(photos: list[Path]) -> list[str]:
    """A distinct photo file name per photo (``name``, else ``stem_2.ext`` ...), so the PNGs and
    overlays of photos with the same name in different folders never overwrite each other."""
    used: set[str] = set()  # stems, lower case: the PNG and overlay are named after the stem
    names = []
    for path in photos:
        stem, n = path.stem, 1
        while (stem if n == 1 else f"{path.stem}_{n}").lower() in used:
            n += 1
        stem = stem if n == 1 else f"{path.stem}_{n}"
        used.add(stem.lower())
        names.append(stem + path.suffix)
    return names


def image_ids_from(json_path: Path) -> dict[str, int]:
    """``{photo file name (lower case, no folder): image id}`` of a COCO JSON's ``images``."""
    import json

    from core.errors import DatasetError

    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
        return {Path(str(img["file_name"])).name.lower(): int(img["id"]) for img in data["images"]}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"cannot read the JSON: {e}", json_path) from e
    except (KeyError, TypeError, ValueError) as e:
        raise DatasetError(f"the file has no usable 'images' list with 'id' and 'file_name' ({e})", json_path) from e


def run(args: argparse.Namespace) -> int:
    if args.project is not None:
        if args.out is not None or len(args.inputs) > 1:
            print("error: with --project give at most a checkpoint: the photos are the project's and the "
                  "predictions go into it (no --out)", file=sys.stderr)
            return 2
        if args.ids_from is not None or args.no_overlays or args.overlay_size:
            print("error: --ids-from and the overlay options write files; they do not go with --project",
                  file=sys.stderr)
            return 2
        from core.commands.predict_project import run_into_project

        _set_threads(args.threads)
        return run_into_project(args, args.inputs[0] if args.inputs else None, _merge_overlap(args.merge_overlap))
    if len(args.inputs) < 2 or args.out is None:
        print("error: give a checkpoint, photos and --out (or --project P.pinspect)", file=sys.stderr)
        return 2
    args.checkpoint, args.photos = args.inputs[0], args.inputs[1:]
    return _run_to_folder(args)


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _run_to_folder(args: argparse.Namespace) -> int:

    from core.atomic import atomic_write_bytes
    from core.commands.progress import ProgressBar
    from core.device import describe_device
    from core.errors import AnnotationError, InspectorError
    from core.imageio import encode_jpeg
    from core.inference import Predictor
    from core.inference.overlay import DEFAULT_OVERLAY_SIDE, prediction_overlay
    from core.inference.result import DEFAULT_MIN_THRESHOLD
    from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic

    from core.safety import check_output_folder, mark_output_folder

    _set_threads(args.threads)
    # the output may hold an earlier prediction of ours, never the photos or the model
    check_output_folder(args.out, [args.checkpoint, *args.photos, args.ids_from], allow=(JSON_NAME,), kind="predict")
    photos, problems = collect_photos(args.photos)
    for path, reason in problems:
        print(f"warning: {path}: {reason}", file=sys.stderr)
    predictor = Predictor.from_checkpoint(args.checkpoint, args.device, input_size=args.input_size,
                                          min_threshold=min(DEFAULT_MIN_THRESHOLD, args.threshold),
                                          merge_overlap=_merge_overlap(args.merge_overlap))
    print(f"{args.checkpoint.name}: {len(predictor.categories)} categories, input {predictor.input_size} px; "
          f"{describe_device() if predictor.device == 'cpu' else predictor.device}")
    out = args.out
    if args.ids_from is not None:
        known = image_ids_from(args.ids_from)
        kept: list[Path] = []
        ids: list[int] = []
        taken: set[int] = set()
        for path in photos:
            image_id = known.get(path.name.lower())
            if image_id is None:
                why = f"not listed in {args.ids_from.name}"
            elif image_id in taken:
                why = f"another photo has this name (image id {image_id})"
            else:
                kept.append(path)
                ids.append(image_id)
                taken.add(image_id)
                continue
            problems.append((path, why))
            print(f"warning: {path}: {why}; skipped", file=sys.stderr)
        photos = kept
    else:
        ids = list(range(1, len(photos) + 1))  # the photo's position in the input
    if not photos:
        print("error: no photos to predict", file=sys.stderr)
        return 1
    names = output_names(photos)
    mark_output_folder(out, "predict")
    failed: list[tuple[Path, str]] = []
    counts: Counter = Counter()
    network_s: list[float] = []
    overlay_dir = out / OVERLAY_DIR
    overlay_side = args.overlay_size or DEFAULT_OVERLAY_SIDE
    bar = ProgressBar("predict")
    start = time.monotonic()

    def record_of(item: BatchItem, pred: PanopticPrediction) -> PanopticRecord:
        """The photo's record from its prediction, checked as the JSON writer checks it (so one
        bad photo is reported here instead of ending the whole batch there); the overlay written."""
        ann = pred.panoptic(args.threshold)
        if args.thin_refine:
            from core.imageio import load_image
            from core.inference.thin_refine import grid_cell, refine_thin, thin_segment_ids

            if thin_segment_ids(ann, predictor.categories):  # the full photo is read only for cracks
                ann = refine_thin(ann, load_image(item.path), predictor.categories, cell=grid_cell(pred))
        height, width = pred.image_size
        rec = PanopticRecord(ids[item.index], names[item.index], width, height, ann)
        if ann.shape != (height, width):
            raise AnnotationError(f"the prediction is {ann.shape[1]}x{ann.shape[0]} but the photo is "
                                  f"{width}x{height}", item.path)
        ann.validate(predictor.categories, rec.image_id)
        if not args.no_overlays:
            picture = prediction_overlay(pred, item.path, args.threshold, max_side=overlay_side)
            overlay_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(overlay_dir / (Path(rec.file_name).stem + ".jpg"), encode_jpeg(picture, quality=88))
        return rec

    def records() -> Iterator[PanopticRecord]:
        for item in predictor.predict_many(photos, progress=bar):
            if item.prediction is None:
                failed.append((item.path, item.error.reason if item.error else "unknown error"))
                continue
            network_s.append(item.prediction.meta.timings.get("network_s", 0.0))
            try:
                rec = record_of(item, item.prediction)
            except (InspectorError, ValueError) as e:  # this photo only; the batch goes on
                failed.append((item.path, e.reason if isinstance(e, InspectorError) else str(e)))
                continue
            counts.update(predictor.categories.by_id(s.category_id).name for s in rec.annotation.segments.values())
            yield rec

    try:
        data = write_coco_panoptic(out / JSON_NAME, out / Path(JSON_NAME).stem, records(), predictor.categories)
    finally:
        bar.close()
    elapsed = time.monotonic() - start
    done = len(data["images"])
    print(f"predicted {done} of {len(photos)} photos in {elapsed:.1f} s"
          + (f" ({elapsed / done:.2f} s per photo, network {sorted(network_s)[len(network_s) // 2]:.2f} s median)"
             if done else "") + f" at threshold {args.threshold}")
    if counts:
        print("segments: " + ", ".join(f"{name} {counts[name]}" for name in
                                        [c.name for c in predictor.categories] if counts[name]))
    for path, reason in failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"wrote {out / JSON_NAME} and {out / Path(JSON_NAME).stem}/"
          + ("" if args.no_overlays or not done else f", overlays in {overlay_dir}/"))
    return 1 if failed or problems else 0
