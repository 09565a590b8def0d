"""Predicting many photos: progress, cancel, bad files reported and skipped, bounded memory."""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Callable, Iterable, Iterator

from core.errors import BadImageError, InspectorError
from core.inference.result import PanopticPrediction
from core.progress import CancelFlag

if TYPE_CHECKING:
    from core.inference.predictor import DecodedPhoto, Predictor

log = logging.getLogger(__name__)




@dataclass(frozen=True)
class BatchItem:
    """One photo of a batch: ``prediction`` when it worked, else ``error`` (why it was skipped)."""

    index: int
    path: Path
    prediction: PanopticPrediction | None
    error: InspectorError | None = None

    @property
    def ok(self) -> bool:
        return self.prediction is not None


def _decode(predictor: Predictor, path: Path) -> DecodedPhoto:
    try:
        return predictor.decode(path)
    except InspectorError:
        raise
    except Exception as e:  # a malformed file must not stop the batch, whatever the decoder raises
        raise BadImageError(f"cannot decode the image: {e}", path) from e


def iter_predictions(predictor: Predictor, paths: Iterable[str | Path], *,
                     progress: Callable[[int, int, str], None] | None = None,
                     cancel: CancelFlag | None = None) -> Iterator[BatchItem]:
    """``Predictor.predict_many``: one ``BatchItem`` per path, in order.

    The next photo is decoded on a helper thread while the network runs on the current one (at
    most two downscaled photos in memory). ``progress(done, total, name)`` follows each photo;
    when ``cancel.is_set()`` the iteration ends before the next photo (nothing is raised: the
    caller knows it asked). Errors other than unreadable photos (e.g. out of memory) propagate.
    """
    files = [Path(p) for p in paths]
    total = len(files)
    if total == 0:
        return
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference-decode")
    try:
        pending: Future = pool.submit(_decode, predictor, files[0])
        for i, path in enumerate(files):
            current = pending
            if i + 1 < total:
                pending = pool.submit(_decode, predictor, files[i + 1])
            if cancel is not None and cancel.is_set():
                log.info("prediction cancelled after %d of %d photos", i, total)
                return
            try:
                photo = current.result()
            except InspectorError as e:
                log.info("skipped %s: %s", path, e.reason)
                item = BatchItem(i, path, None, e)
            else:
                item = BatchItem(i, path, predictor.predict(photo))
                del photo
            if progress is not None:
                progress(i + 1, total, path.name if item.ok else f"{path.name} (skipped)")
            yield item
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
