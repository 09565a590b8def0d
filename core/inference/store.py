"""Predictions in the project: one per image and model, shown at once, re-thresholdable later.

``predict_images`` runs a predictor over project photos and stores, per photo, the
re-thresholdable payload (``PanopticPrediction.to_bytes``) with the full-size result at the chosen
threshold, so opening the photo shows it without decoding anything else.
``rethreshold`` recomputes the result from the payload (no network) when the slider moves.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Callable, Iterable

from core.categories import CategorySet
from core.errors import CategoryError, ProjectError
from core.inference.result import PanopticPrediction
from core.panoptic import PanopticAnnotation

if TYPE_CHECKING:
    from core.progress import CancelFlag
    from core.inference.predictor import Predictor
    from core.project import Project

log = logging.getLogger(__name__)


@dataclass
class ProjectPredictionReport:
    """What ``predict_images`` did. ``failed``: ``(image id, path, reason)`` of skipped photos."""

    model_id: int
    predicted: list[int] = field(default_factory=list)
    failed: list[tuple[int, str, str]] = field(default_factory=list)
    cancelled: bool = False


def check_categories(model: CategorySet, project: CategorySet, model_name: str = "the model") -> None:
    """Refuse (``CategoryError``) a model whose categories are not the project's: every category of
    the model must exist in the project with the same id, name and thing/stuff flag, or its
    pixels would be filed under the wrong class."""
    problems = []
    for c in model:
        if c.id not in project:
            problems.append(f"{c.name!r} (id {c.id}) is not in the project")
            continue
        mine = project.by_id(c.id)
        if mine.name != c.name or mine.isthing != c.isthing:
            problems.append(f"id {c.id} is {c.name!r} ({'thing' if c.isthing else 'stuff'}) for the model but "
                            f"{mine.name!r} ({'thing' if mine.isthing else 'stuff'}) in the project")
    if problems:
        raise CategoryError(f"the categories of {model_name} do not match the project's: " + "; ".join(problems),
                            hint="fine-tune the model on this project (a new class head), or predict with a "
                                 "model trained on these categories")


def register_model(project: Project, predictor: Predictor, name: str | None = None) -> int:
    """The project's id for the predictor's checkpoint: the model already registered with that
    checkpoint file, else a new registration (name, checkpoint, config, categories)."""
    ckpt = predictor.description.get("checkpoint")
    if ckpt:
        target = Path(ckpt).resolve()
        for rec in project.models.list():
            if rec.checkpoint is not None and rec.checkpoint_exists and Path(rec.checkpoint).resolve() == target:
                return rec.id
    config = predictor.config.to_dict() if predictor.config is not None else {}
    label = name or (Path(ckpt).stem if ckpt else "model")
    return project.models.add(label, checkpoint=ckpt, config=config, categories=predictor.categories,
                              training={"input_size": predictor.input_size})


def predict_images(project: Project, predictor: Predictor, image_ids: Iterable[int] | None = None, *,
                   model_id: int | None = None, threshold: float = 0.5, keep_manual: bool = False,
                   thin_refine: bool = True, progress: Callable[[int, int, str], None] | None = None,
                   cancel: CancelFlag | None = None) -> ProjectPredictionReport:
    """Predict project photos (all when ``image_ids`` is None) and store each prediction.

    Args:
        model_id: the registered model (default: ``register_model``).
        threshold: the result stored for display; any other >= ``predictor.min_threshold`` later
            with ``rethreshold``.
        keep_manual: the stored result keeps each photo's manual annotation and fills only its
            unlabeled pixels (remembered for re-thresholding).
        thin_refine: the stored result's thin segments (cracks) are redrawn at the photo's
            resolution (``core.inference.thin_refine``; the photo is read again, only when the
            result has one), as the window would show them.
        progress, cancel: as ``Predictor.predict_many``; a cancel keeps what was stored.
    Raises:
        CategoryError: the model's categories are not the project's (nothing is stored).
    Missing or unreadable photos are reported in ``failed`` and skipped.
    """
    check_categories(predictor.categories, project.categories.get(), predictor.description.get("name", "the model"))
    if model_id is None:
        model_id = register_model(project, predictor)
    report = ProjectPredictionReport(int(model_id))
    records = []
    for image_id in (project.images.ids() if image_ids is None else image_ids):
        rec = project.images.get(image_id)
        if rec.exists:
            records.append(rec)
        else:
            report.failed.append((rec.id, str(rec.path), "the photo file is missing"))
    seen = 0
    for item in predictor.predict_many([r.path for r in records], progress=progress, cancel=cancel):
        seen += 1
        rec = records[item.index]
        if item.prediction is None:
            report.failed.append((rec.id, str(rec.path), item.error.reason if item.error else "unknown error"))
            continue
        pred = item.prediction
        if pred.image_size != (rec.height, rec.width):
            report.failed.append((rec.id, str(rec.path),
                                  f"the photo is now {pred.image_size[1]}x{pred.image_size[0]}, the project "
                                  f"recorded {rec.width}x{rec.height}; relink or re-import it"))
            continue
        image = _photo_for_refinement(pred, threshold, rec) if thin_refine else None
        store_prediction(project, rec.id, model_id, pred, threshold, keep_manual, image=image)
        report.predicted.append(rec.id)
    report.cancelled = seen < len(records)
    log.info("predicted %d photos with model %d (%d skipped%s)", len(report.predicted), model_id,
             len(report.failed), ", cancelled" if report.cancelled else "")
    return report


def store_prediction(project: Project, image_id: int, model_id: int, prediction: PanopticPrediction,
                     threshold: float, keep_manual: bool = False, image=None) -> PanopticAnnotation:
    """Store one photo's prediction (payload + the result at ``threshold``); returns that result.

    ``keep_manual``: the result keeps the photo's manual annotation and fills only its unlabeled
    pixels (remembered for re-thresholding). ``image``: the photo (``[H, W, 3]`` uint8, full size,
    upright): the result's thin segments are then redrawn on it (``core.inference.thin_refine``)
    before the manual annotation is laid over."""
    manual = project.annotations.load(image_id) if keep_manual else None
    if image is None:
        annotation = prediction.panoptic(threshold, keep=manual)
    else:
        from core.inference.thin_refine import refined_result

        annotation = refined_result(prediction, threshold, image)
        if manual is not None:
            from core.inference.merge import fill_unlabeled

            annotation = fill_unlabeled(manual, annotation, prediction.categories)
    meta = dict(prediction.meta_json(), threshold=float(threshold), keep_manual=bool(keep_manual))
    project.predictions.save(image_id, model_id, prediction.to_bytes(), meta, annotation)
    return annotation


def _photo_for_refinement(prediction: PanopticPrediction, threshold: float, rec):
    """The photo at full size when the result at ``threshold`` has a thin segment, else None
    (also when it cannot be read now: the model's masks are stored as they are)."""
    from core.errors import InspectorError
    from core.imageio import load_image
    from core.inference.thin_refine import thin_segment_ids

    if not thin_segment_ids(prediction.panoptic(threshold), prediction.categories):
        return None
    try:
        image = load_image(rec.path)
    except InspectorError as e:
        log.warning("%s: thin segments stored at the model's resolution: %s", rec.path, e)
        return None
    return image if image.shape[:2] == tuple(prediction.image_size) else None


def load_prediction(project: Project, image_id: int, model_id: int) -> PanopticPrediction | None:
    """The stored re-thresholdable prediction, or None. Raises ``AnnotationError`` if damaged."""
    rec = project.predictions.load(image_id, model_id)
    if rec is None:
        return None
    if not rec.payload:
        raise ProjectError(f"the prediction of model {model_id} for image {image_id} has no stored payload",
                           project.path, hint="predict the photo again")
    return PanopticPrediction.from_bytes(rec.payload, f"{project.path}: prediction of model {model_id} "
                                                      f"for image {image_id}")


def rethreshold(project: Project, image_id: int, model_id: int, threshold: float,
                keep_manual: bool | None = None, prediction: PanopticPrediction | None = None) -> PanopticAnnotation:
    """Recompute the stored result at ``threshold`` from the payload and store it (no network).

    ``keep_manual`` None: as when the prediction was made. ``prediction``: the already loaded
    payload (the GUI keeps it while the slider moves), else it is loaded.
    Raises ``ProjectError`` when there is no such prediction, ValueError for a threshold below
    the prediction's ``min_threshold``.
    """
    rec = project.predictions.load(image_id, model_id, with_payload=prediction is None)
    if rec is None:
        raise ProjectError(f"no prediction of model {model_id} for image {image_id}", project.path)
    if prediction is None:
        prediction = load_prediction(project, image_id, model_id)
        if prediction is None:  # deleted since the line above read it
            raise ProjectError(f"no prediction of model {model_id} for image {image_id}", project.path)
    if keep_manual is None:
        keep_manual = bool(rec.meta.get("keep_manual", False))
    manual = project.annotations.load(image_id) if keep_manual else None
    annotation = prediction.panoptic(threshold, keep=manual)
    project.predictions.set_result(image_id, model_id, annotation,
                                   {"threshold": float(threshold), "keep_manual": bool(keep_manual)})
    return annotation
