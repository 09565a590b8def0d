"""Evaluate a model on a project's annotated photos: PQ / SQ / RQ, box and mask AP, per photo.

    photos = evaluation_photos(project, "val")          # the validation split's annotated photos
    ev = evaluate_project(project, predictor, [p.id for p in photos], threshold=0.5, model_id=3)
    ev.pq.all.pq, ev.coco.stats("bbox")["AP"], ev.worst(5)

The model runs once per photo (``Predictor.predict_many``: decoding overlaps the network); each
prediction is compared with the stored annotation at full resolution in the photo's upright frame
through the evaluation package's accumulators (``PQAccumulator``, ``CocoAPAccumulator``), so the
numbers are those of ``main.py evaluate`` on the same photos exported as COCO panoptic. With
``model_id`` each prediction is also stored in the project (as ``predict_images`` stores it), so
the photos found worst can be opened and looked at right away.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Callable, Iterable

from core.errors import AnnotationError, CancelledError
from core.evaluation.coco_ap import CocoAPAccumulator, CocoAPResult
from core.evaluation.pq import PQAccumulator
from core.evaluation.result import ImagePQ, PQResult

if TYPE_CHECKING:
    from core.progress import CancelFlag
    from core.evaluation.thin import ThinResult
    from core.inference.predictor import Predictor
    from core.project import ImageRecord, Project

log = logging.getLogger(__name__)

#: Which photos ``evaluation_photos`` picks: the validation split, or every annotated photo.
PHOTO_SETS = ("val", "annotated")


@dataclass(frozen=True)
class PhotoResult:
    """One evaluated photo: its project id, file name and PQ (``ImagePQ``; NaN when neither the
    annotation nor the prediction has a segment)."""

    image_id: int
    name: str
    pq: ImagePQ


@dataclass(frozen=True)
class ProjectEvaluation:
    """What ``evaluate_project`` measured.

    pq: All / Things / Stuff / per-class rows; coco: box and mask AP of things (None when not
    asked); photos: one ``PhotoResult`` per evaluated photo in evaluation order; skipped:
    ``(image id, name, reason)`` of photos that could not be evaluated; threshold: the confidence
    threshold the predictions were taken at.
    """

    pq: PQResult
    coco: CocoAPResult | None
    photos: tuple[PhotoResult, ...]
    threshold: float
    skipped: tuple[tuple[int, str, str], ...] = field(default=())
    #: Centreline measures of the thin classes (``core.evaluation.thin``), when asked for.
    thin: ThinResult | None = None

    def worst(self, k: int | None = None) -> list[PhotoResult]:
        """Photos by PQ, lowest first; photos without any segment (NaN) last."""
        ranked = sorted(self.photos, key=lambda p: (math.isnan(p.pq.pq), 0.0 if math.isnan(p.pq.pq) else p.pq.pq))
        return ranked if k is None else ranked[:k]

    def to_json(self) -> dict:
        out = {"threshold": float(self.threshold), "pq": self.pq.to_json(),
               "photos": [dict(p.pq.to_json(), image_id=p.image_id, name=p.name) for p in self.photos],
               "skipped": [{"image_id": i, "name": n, "reason": r} for i, n, r in self.skipped]}
        if self.coco is not None:
            out["coco"] = self.coco.to_json()
        if self.thin is not None:
            out["thin"] = self.thin.to_json()
        return out


def evaluation_photos(project: Project, which: str = "val") -> list[ImageRecord]:
    """The annotated photos to evaluate on, in project order.

    ``"val"``: the validation split (what training measures its checkpoints on); ``"annotated"``:
    every annotated photo except the test split. A photo counts as annotated as training counts
    it: an annotation was saved and its status is not "unlabeled".
    """
    if which not in PHOTO_SETS:
        raise ValueError(f"which must be one of {PHOTO_SETS}, got {which!r}")
    annotated = set(project.annotations.image_ids())
    out = []
    for rec in project.images.list():
        if rec.id not in annotated or rec.status == "unlabeled" or rec.split == "test":
            continue
        if which == "val" and rec.split != "val":
            continue
        out.append(rec)
    return out


def evaluate_project(project: Project, predictor: Predictor, image_ids: Iterable[int], *, threshold: float = 0.5,
                     model_id: int | None = None, coco_ap: bool = True, thin_tolerance: float | None = None,
                     thin_refine: bool = True,
                     progress: Callable[[int, int, str], None] | None = None,
                     cancel: CancelFlag | None = None) -> ProjectEvaluation:
    """Predict ``image_ids`` with ``predictor`` and compare with their stored annotations.

    Args:
        threshold: confidence threshold of the predictions (>= ``predictor.min_threshold``).
        model_id: the registered model: each prediction is then stored for it (payload and the
            result at ``threshold``); None stores nothing.
        coco_ap: also compute COCO box and mask AP of the things (COCOeval).
        thin_tolerance: also compute the thin classes' centreline measures at this tolerance (px
            at full size; ``core.evaluation.thin``); None skips them.
        thin_refine: evaluate (and store) what the window shows: thin segments redrawn at the
            photo's resolution (``core.inference.thin_refine``; the photo is read again when the
            prediction has one); False: the model's masks as they are.
        progress: ``progress(done, total, message)`` after each photo; cancel: ``is_set()`` stops
            with ``CancelledError`` (predictions stored so far stay).
    Raises:
        CategoryError: the model's categories are not the project's.
        ValueError: an empty photo list, or a threshold below the predictor's minimum.
    Photos that are missing, unreadable, unannotated or of another size than recorded are listed
    in ``skipped``; the rest goes on.
    """
    from core.inference.store import check_categories, store_prediction

    ids = [int(i) for i in image_ids]
    if not ids:
        raise ValueError("no photos to evaluate")
    if not predictor.min_threshold <= threshold < 1.0:
        raise ValueError(f"threshold {threshold} is outside [{predictor.min_threshold}, 1)")
    categories = project.categories.get()
    check_categories(predictor.categories, categories, predictor.description.get("name", "the model"))
    pq_acc = PQAccumulator(categories)
    coco_acc = CocoAPAccumulator(categories) if coco_ap else None
    thin_acc = None
    if thin_tolerance is not None:
        from core.evaluation.thin import ThinAccumulator

        thin_acc = ThinAccumulator(categories, tolerance=thin_tolerance)
    skipped: list[tuple[int, str, str]] = []
    records = []
    for image_id in ids:
        rec = project.images.get(image_id)
        if not rec.exists:
            skipped.append((rec.id, rec.name, "the photo file is missing"))
        else:
            records.append(rec)
    done: list[tuple[int, str]] = []
    total = len(records)
    for n, item in enumerate(predictor.predict_many([r.path for r in records], cancel=cancel), start=1):
        rec = records[item.index]
        reason = _evaluate_one(project, rec, item, threshold, model_id, pq_acc, coco_acc, done, store_prediction,
                               thin_acc, thin_refine)
        if reason:
            skipped.append((rec.id, rec.name, reason))
        if progress is not None:
            progress(n, total, rec.name)
    if cancel is not None and cancel.is_set() and len(done) + len(skipped) < len(ids):
        raise CancelledError(f"evaluation cancelled after {len(done)} of {len(ids)} photos")
    if not done:
        raise AnnotationError("none of the photos could be evaluated: "
                              + "; ".join(f"{name}: {why}" for _, name, why in skipped[:3]), project.path)
    pq = pq_acc.evaluate()
    names = dict(done)
    photos = []
    for r in pq.per_image:
        assert isinstance(r.image_id, int)  # the accumulator was given the project's image ids
        photos.append(PhotoResult(r.image_id, names[r.image_id], r))
    log.info("evaluated model on %d photos at threshold %.2f: PQ %.1f (%d skipped)", len(photos), threshold,
             100 * pq.all.pq, len(skipped))
    ev = ProjectEvaluation(pq, coco_acc.evaluate() if coco_acc is not None else None, tuple(photos),
                           float(threshold), tuple(skipped), thin_acc.evaluate() if thin_acc is not None else None)
    if model_id is not None:
        from core.evaluation.kept import keep_evaluation

        keep_evaluation(project, model_id, ev)  # reports and panels cite it beside the model
    return ev


def _evaluate_one(project, rec, item, threshold, model_id, pq_acc, coco_acc, done, store_prediction,
                  thin_acc=None, thin_refine=False) -> str | None:
    """Add one predicted photo to the accumulators; returns why it was skipped, or None."""
    if item.prediction is None:
        return item.error.reason if item.error is not None else "unknown error"
    pred = item.prediction
    if pred.image_size != (rec.height, rec.width):
        return (f"the photo is now {pred.image_size[1]}x{pred.image_size[0]}, the project recorded "
                f"{rec.width}x{rec.height}")
    gt = project.annotations.load(rec.id)
    if gt is None:
        return "it has no annotation any more"
    if model_id is not None:
        ann = store_prediction(project, rec.id, model_id, pred, threshold)
    else:
        ann = pred.panoptic(threshold)
    if thin_refine:
        from core.inference.thin_refine import grid_cell, refine_thin, thin_segment_ids

        if thin_segment_ids(ann, pred.categories):
            from core.errors import InspectorError
            from core.imageio import load_image

            try:
                refined = refine_thin(ann, load_image(rec.path), pred.categories, cell=grid_cell(pred))
            except InspectorError as e:  # read a moment ago by the model: only a file changed meanwhile
                log.warning("%s: thin segments left at the model's resolution: %s", rec.name, e)
                refined = ann
            if refined is not ann and model_id is not None:
                project.predictions.set_result(rec.id, model_id, refined, {"threshold": float(threshold)})
            ann = refined
    pq_acc.process(gt, ann, image_id=rec.id)
    if coco_acc is not None:
        coco_acc.process(gt, ann, image_id=rec.id)
    if thin_acc is not None:
        thin_acc.process(gt, ann, image_id=rec.id)
    done.append((rec.id, rec.name))  # its PQ comes from the accumulator's per-image list at the end
    return None
