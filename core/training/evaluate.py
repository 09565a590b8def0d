"""PQ on the validation set during training, through the evaluation package's accumulator.

Ground truth and predictions are compared at the evaluation size the model saw (the photo's
longer side = ``eval_size``), not at full photo resolution: cheap enough to run after every epoch
and what the best-checkpoint choice needs. ``main.py evaluate`` measures at full resolution.

Thin classes (cracks, rebar, flagged ones) are also scored by their centrelines
(``core.evaluation.thin``), with the tolerance defined at the photo's full size and scaled down to
the evaluation size: thinning a few small masks per photo costs little beside the model.
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

import torch

from core.categories import CategorySet
from core.errors import CancelledError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Validation:
    """PQ (``core.evaluation.result.PQResult``; its fields read through: ``all``, ``per_class``, ...)
    and the thin classes' centreline measures (``core.evaluation.thin.ThinResult``, None when the
    set has no thin class)."""

    pq: Any
    thin: Any = None

    def __getattr__(self, name: str):
        if name in ("pq", "thin") or name.startswith("__"):  # not set yet (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.pq, name)


def make_accumulator(categories: CategorySet):
    """The evaluation package's PQ accumulator (``reset / process(gt, pred) / evaluate``)."""
    from core.evaluation.pq import PQAccumulator

    return PQAccumulator(categories, keep_per_image=False)


@torch.no_grad()
def evaluate_pq(model: torch.nn.Module, postprocessor: Callable, loader, categories: CategorySet,
                device: torch.device, *, threshold: float, cancel=None,
                autocast: Callable[[], contextlib.AbstractContextManager] | None = None,
                thin_tolerance: float | None = None) -> Validation:
    """PQ of ``model`` over ``loader`` (a loader of ``core.data.Batch`` with ground truth).

    Returns a ``Validation``: the accumulator's PQ result (``all``, ``things``, ``stuff``,
    ``per_class`` rows with ``pq``/``sq``/``rq`` fractions in [0, 1], readable on the
    ``Validation`` itself) and the thin classes' centreline measures at ``thin_tolerance`` px of
    the full-size photo (default ``core.evaluation.thin.DEFAULT_TOLERANCE``). The model is put in
    eval mode and restored. Raises ``CancelledError`` when ``cancel`` is set.
    """
    from core.evaluation.thin import DEFAULT_TOLERANCE, ThinAccumulator

    acc = make_accumulator(categories)
    tolerance = DEFAULT_TOLERANCE if thin_tolerance is None else thin_tolerance
    thin_acc = ThinAccumulator(categories, tolerance=tolerance, keep_per_image=False)
    thin = thin_acc if thin_acc.thin else None
    was_training = model.training
    model.eval()
    t0 = time.monotonic()
    try:
        for batch in loader:
            if cancel is not None and cancel.is_set():
                raise CancelledError("cancelled during evaluation")
            if batch is None:
                continue
            b = batch.to(device)
            with autocast() if autocast is not None else contextlib.nullcontext():
                predict = getattr(model, "predict", None)
                # predict() computes masks only for queries above the threshold: much faster.
                outputs = predict(b.images, b.pixel_mask, threshold) if predict else model(b.images, b.pixel_mask)
            outputs = {k: (v.float() if torch.is_tensor(v) and v.is_floating_point() else v)
                       for k, v in outputs.items()}
            preds = postprocessor(outputs, b.image_sizes, b.image_sizes, threshold=threshold)
            for gt, pred, idx, full in zip(batch.gts, preds, batch.indices, batch.orig_sizes):
                acc.process(gt, pred, image_id=idx)
                if thin is not None:
                    thin.process(gt, pred, image_id=idx, full_size=full)
    finally:
        model.train(was_training)
    log.info("evaluated %d images in %.1f s", acc.num_images, time.monotonic() - t0)
    return Validation(acc.evaluate(), thin.evaluate() if thin is not None else None)


def eval_record(result: Validation, epoch: int, step: int, best: bool, seconds: float):
    """The training log's ``EvalRecord`` of a validation: PQ / SQ / RQ, Things, Stuff, and per
    class PQ, SQ, RQ and TP / FP / FN, with the thin classes' centreline precision, recall, F1 and
    IoU beside them (fractions in [0, 1])."""
    from core.training.records import EvalRecord

    per_class = {r.name: {"pq": r.pq, "sq": r.sq, "rq": r.rq, "tp": r.tp, "fp": r.fp, "fn": r.fn}
                 for r in result.per_class}
    for r in getattr(getattr(result, "thin", None), "per_class", ()):
        if r.name in per_class and r.counted:
            per_class[r.name].update(cl_precision=r.precision, cl_recall=r.recall, cl_f1=r.f1, cl_iou=r.cliou)
    return EvalRecord(epoch, step, float(result.all.pq), float(result.all.sq), float(result.all.rq),
                      float(result.things.pq), float(result.stuff.pq), per_class, int(result.num_images), seconds,
                      best)
