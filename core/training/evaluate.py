"""PQ on the validation set during training, through the evaluation package's accumulator.

Ground truth and predictions are compared at the evaluation size the model saw (the photo's
longer side = ``eval_size``), not at full photo resolution: cheap enough to run after every epoch
and what the best-checkpoint choice needs. ``main.py evaluate`` measures at full resolution.
"""
from __future__ import annotations

import contextlib
import logging
import time
from typing import Callable

import torch

from core.categories import CategorySet
from core.errors import CancelledError

log = logging.getLogger(__name__)


def make_accumulator(categories: CategorySet):
    """The evaluation package's PQ accumulator (``reset / process(gt, pred) / evaluate``)."""
    from core.evaluation.pq import PQAccumulator

    return PQAccumulator(categories, keep_per_image=False)


@torch.no_grad()
def evaluate_pq(model: torch.nn.Module, postprocessor: Callable, loader, categories: CategorySet,
                device: torch.device, *, threshold: float, cancel=None,
                autocast: Callable[[], contextlib.AbstractContextManager] | None = None):
    """PQ of ``model`` over ``loader`` (a loader of ``core.data.Batch`` with ground truth).

    Returns the accumulator's result (``core.evaluation.result.PQResult``: ``all``, ``things``,
    ``stuff``, ``per_class`` rows with ``pq``/``sq``/``rq`` fractions in [0, 1]). The model is
    put in eval mode and restored. Raises ``CancelledError`` when ``cancel`` is set.
    """
    acc = make_accumulator(categories)
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
            for gt, pred, idx in zip(batch.gts, preds, batch.indices):
                acc.process(gt, pred, image_id=idx)
    finally:
        model.train(was_training)
    log.info("evaluated %d images in %.1f s", acc.num_images, time.monotonic() - t0)
    return acc.evaluate()
