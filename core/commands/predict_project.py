"""``main.py predict --project P.pinspect [CHECKPOINT]``: predict a project's photos and store the
results in the project, as the window's Prediction panel does (``core.inference.store``'s
``predict_images``, the same function): each prediction kept with its model, re-thresholdable,
shown on the canvas when the project is opened, a cancel (Ctrl-C) keeping what was stored.

Without CHECKPOINT the project's active model predicts; with one, that file is registered in the
project (once: the same file is found again) and predicts. ``--photos unlabeled`` (the default)
predicts the photos nobody has annotated yet, ``all`` every photo.
"""
from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

#: Which photos ``--photos`` names -> (help words, whether a photo's status qualifies).
SCOPES = {"unlabeled": "photos with no annotation yet", "all": "every photo of the project"}


def run_into_project(args: argparse.Namespace, checkpoint: Path | None, merge_overlap: float | None) -> int:
    """Predict into ``args.project``; exit code 0, or 1 when a photo could not be predicted.

    ``merge_overlap``: the predictor's rule for same-class queries that are one defect (see
    ``core.model.thing_merge``), as ``--merge-overlap`` gives it."""
    from core.commands.progress import ProgressBar
    from core.errors import ProjectError
    from core.inference.project_model import check_finite_weights, load_project_predictor
    from core.inference.result import DEFAULT_MIN_THRESHOLD
    from core.inference.store import predict_images, register_model
    from core.project import Project
    from core.project.active_model import active_model_id

    if not args.project.exists():
        raise ProjectError("no such project file", args.project, hint="give the .pinspect file of a project")
    with Project.open(args.project) as project:
        if project.read_only:
            raise ProjectError(f"the project is open read-only ({project.read_only_reason})", project.path,
                               hint="close the other program that has it open, then predict again")
        if checkpoint is None:
            model_id = active_model_id(project)
            if model_id is None:
                raise ProjectError("the project has no trained model to predict with", project.path,
                                   hint="train one (main.py train), or give a checkpoint file")
            predictor = load_project_predictor(project, model_id, args.device)
            # as Predictor.from_checkpoint would set them for this command's options
            predictor.merge_overlap = merge_overlap
            predictor.min_threshold = min(predictor.min_threshold, args.threshold)
        else:
            from core.inference import Predictor

            predictor = Predictor.from_checkpoint(checkpoint, args.device, input_size=args.input_size,
                                                  min_threshold=min(DEFAULT_MIN_THRESHOLD, args.threshold),
                                                  merge_overlap=merge_overlap)
            check_finite_weights(predictor, checkpoint)
            model_id = register_model(project, predictor)
        images = project.images.list()
        ids = [r.id for r in images if args.which == "all" or r.status == "unlabeled"]
        name = project.models.get(model_id).name
        print(f"model {name!r} (id {model_id}) on {len(ids)} of {len(images)} photos ({SCOPES[args.which]})")
        if not ids:
            print("nothing to predict: every photo is annotated (--photos all predicts them too)")
            return 0
        bar, stop = ProgressBar("predict"), threading.Event()
        try:
            report = predict_images(project, predictor, ids, model_id=model_id, threshold=args.threshold,
                                    thin_refine=args.thin_refine, progress=bar, cancel=stop)
        except KeyboardInterrupt:
            stop.set()
            raise
        finally:
            bar.close()
    print(f"stored {len(report.predicted)} predictions in {args.project} at threshold {args.threshold}"
          + (" (cancelled)" if report.cancelled else ""))
    for _image_id, path, reason in report.failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0
