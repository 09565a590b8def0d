"""Centreline measures of thin classes for a COCO panoptic prediction (JSON + PNG folder).

A pass of its own beside ``evaluate_files`` (asked for with ``main.py evaluate --thin-metrics``),
so the PQ evaluator's fast path (which never builds id maps for small ids) is left as it is. The
pairing of annotations, the PNG decoding and the categories (from the ground-truth JSON, with
their ``thin`` flags) are the PQ evaluator's.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from core.errors import AnnotationError, CancelledError, DatasetError
from core.evaluation.files import default_workers, match_annotations, open_file_pair
from core.progress import CancelFlag, ProgressFn
from core.evaluation.thin import DEFAULT_TOLERANCE, ThinAccumulator, ThinResult
from core.idpng import read_ids
from core.panoptic import SOURCE_MANUAL, SOURCE_MODEL, PanopticAnnotation


def _annotation(ann: dict, folder: Path, json_path: Path, source: str) -> PanopticAnnotation:
    try:
        png = folder / ann["file_name"]
        infos = ann["segments_info"]
    except (KeyError, TypeError) as e:
        raise DatasetError(f"an annotations entry is missing the key {e.args[0]!r}", json_path) from e
    return PanopticAnnotation.from_coco(read_ids(png), infos, source, png)


def evaluate_thin_files(gt_json: str | Path, pred_json: str | Path, gt_folder: str | Path | None = None,
                        pred_folder: str | Path | None = None, *, tolerance: float = DEFAULT_TOLERANCE,
                        workers: int | None = None, progress: ProgressFn | None = None,
                        cancel: CancelFlag | None = None) -> ThinResult:
    """Centreline precision / recall / F1 / clIoU of every thin class (``core.evaluation.thin``).

    Arguments and folders as ``evaluate_files``; ``tolerance`` in px (the PNGs are taken to be at
    the photos' full size).
    Raises:
        DatasetError: unreadable JSON, missing folder or key, an image without prediction.
        AnnotationError: unreadable PNG, or prediction and truth of different sizes.
        CancelledError: ``cancel`` was set.
    """
    files = open_file_pair(gt_json, pred_json, gt_folder, pred_folder)
    gt_json, pred_json, gt_data, pred_data = files.gt_json, files.pred_json, files.gt_data, files.pred_data
    gt_folder, pred_folder, categories = files.gt_folder, files.pred_folder, files.categories
    pairs = match_annotations(gt_data, pred_data, gt_json, pred_json)
    acc = ThinAccumulator(categories, tolerance=tolerance)

    def one(pair):
        if cancel is not None and cancel.is_set():
            return None
        gt_ann, pred_ann = pair
        gt = _annotation(gt_ann, gt_folder, gt_json, SOURCE_MANUAL)
        pred = _annotation(pred_ann, pred_folder, pred_json, SOURCE_MODEL)
        try:
            return gt_ann["image_id"], acc.counts(gt, pred)
        except AnnotationError as e:
            raise AnnotationError(f"image {gt_ann['image_id']}: {e.reason}", pred_json) from e

    if workers is not None and workers < 1:
        raise ValueError(f"workers must be 1 or more, got {workers}")
    # Each job returns a [C, 4] table, so results in flight cost nothing; the photos are decoded
    # and thinned in the workers (OpenCV and scikit-image release the GIL for most of it).
    with ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="thin-eval") as pool:
        for done, item in enumerate(pool.map(one, pairs), 1):
            if item is None or (cancel is not None and cancel.is_set()):
                raise CancelledError("evaluation cancelled")
            image_id, (counts, scale) = item
            acc.add(counts, scale, image_id)
            if progress is not None:
                progress(done, len(pairs), "")
    return acc.evaluate()
