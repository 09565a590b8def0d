"""Evaluate a COCO panoptic prediction (JSON + PNG folder) against a ground-truth one.

The drop-in for panopticapi's ``pq_compute``: the same pairing of annotations by ``image_id``, the
same GT ``area`` fields in the IoU, the same error messages for inconsistent files, the same
numbers. Faster, because PNGs are read and decoded in threads (OpenCV releases the GIL while it
inflates) and each pair is reduced to a small statistics table in the same worker while the next
PNGs decode; only a bounded window of images is in flight, so memory stays flat.

Each pair is reduced to one joint histogram of (GT segment, predicted segment) pixel counts
without sorting any pixels:

* when both PNGs number their segments below 256 (our own exports do), it is counted straight
  from the decoded red bytes;
* otherwise (COCO's colour-like 24-bit ids) each PNG's ids go through a lookup table made from the
  ids its ``segments_info`` lists (``pq.table_labels``: 0 void, k + 1 the k-th listed segment, 255
  an id not listed), then the two label maps are counted in one pass;
* when anything is inconsistent (an id not listed, a listed id without pixels, an unknown
  category, more than 254 segments), the id maps are built and ``image_stats`` runs, which gives
  panopticapi's error message.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping

import numpy as np

from core.categories import CategorySet
from core.errors import AnnotationError, CancelledError, CategoryError, DatasetError
from core.evaluation.coco_ap import CocoAPAccumulator, CocoAPResult, thing_instances
from core.evaluation.pq import PQAccumulator, _histogram_u8, image_stats, stats_from_histogram, table_labels
from core.evaluation.result import PQResult
from core.idpng import DecodedPng, check_png_size, decode_png, read_png_bytes
from core.panoptic import SOURCE_MANUAL, SOURCE_MODEL, PanopticAnnotation
from core.progress import CancelFlag, ProgressFn
from core.safety import read_regular_file

log = logging.getLogger(__name__)





@dataclass(frozen=True)
class FileEvaluation:
    """What ``evaluate_files`` measured: PQ always, COCO AP when it was asked for."""

    pq: PQResult
    coco: CocoAPResult | None = None

    def to_json(self) -> dict:
        out = {"pq": self.pq.to_json()}
        if self.coco is not None:
            out["coco"] = self.coco.to_json()
        return out


def default_workers() -> int:
    """Decoding threads: the CPUs this process may use, plus one to cover file reads."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 16)) + 1


def _read_png(path: Path) -> DecodedPng:
    """Read and decode one id PNG (size checked from its header first)."""
    return decode_png(read_png_bytes(path), path)


def _small_id_histogram(gt: DecodedPng, pred: DecodedPng) -> np.ndarray | None:
    """``[256, 256]`` int64 pixel counts of (GT id, predicted id), straight from the decoded PNGs.

    Only when both are 8-bit RGB(A) of one size whose ids all fit the red byte (green and blue
    zero everywhere), as in files numbering segments 1..n; else None. Counting the red bytes
    directly skips building, checking and narrowing two int32 id maps: the file front end's
    largest cost after PNG decoding.
    """
    import cv2

    if not (gt.is_colour8 and pred.is_colour8):
        return None
    gt_px, pred_px = gt.pixels, pred.pixels
    if gt_px.shape[:2] != pred_px.shape[:2]:
        return None
    pixels = gt_px.shape[0] * gt_px.shape[1]
    if pixels >= 1 << 24:  # OpenCV counts in float32: exact only below 2**24
        return None
    for img in (gt_px, pred_px):  # per-channel sums (exact in float64 here): bytes are >= 0, so 0 = all 0
        blue, green = cv2.sumElems(img)[:2]
        if blue or green:
            return None
    red = [2, gt_px.shape[2] + 2]  # channel numbers run on across the two images
    return cv2.calcHist([gt_px, pred_px], red, None, [256, 256], [0, 256, 0, 256]).astype(np.int64)


def _label_histogram(gt: DecodedPng, pred: DecodedPng, gt_ids: np.ndarray, pred_ids: np.ndarray) -> np.ndarray | None:
    """``[Kg + 1, Kp + 1]`` int64 pixel counts of (GT label, predicted label), labels as
    ``table_labels`` numbers them from the listed ids ``gt_ids`` / ``pred_ids`` (``[K]``, table order).

    None when the sizes differ, a table cannot be labelled, or a pixel holds an id its table does
    not list (the general path then names the error).
    """
    shape = gt.pixels.shape[:2]
    if pred.pixels.shape[:2] != shape:
        return None
    s = _scratch(shape)
    g_lab = table_labels(gt.packed_ids(s.rgba), gt_ids, out=s.gt_labels)
    if g_lab is None:
        return None
    p_lab = table_labels(pred.packed_ids(s.rgba), pred_ids, out=s.pred_labels)
    if p_lab is None:
        return None
    # Bins for void and the listed labels only: OpenCV leaves the unlisted label (255) out, so a
    # count short of the pixels means an unlisted id, and the matching runs on the smallest table.
    hist = _histogram_u8(g_lab, p_lab, len(gt_ids) + 1, len(pred_ids) + 1)
    return hist if int(hist.sum()) == g_lab.size else None


class _Scratch:
    """Per-thread buffers of one image size, reused from pair to pair: fresh image-sized arrays
    for every PNG cost page faults that showed as a third of the work beside the decoding."""

    def __init__(self, shape: tuple[int, int]):
        self.shape = shape
        self.rgba = np.empty(shape + (4,), np.uint8)
        self.gt_labels = np.empty(shape, np.uint8)
        self.pred_labels = np.empty(shape, np.uint8)


_scratches = threading.local()


def _scratch(shape: tuple[int, int]) -> _Scratch:
    s = getattr(_scratches, "s", None)
    if s is None or s.shape != shape:
        s = _scratches.s = _Scratch(shape)
    return s


def _ids_of(segments: dict) -> np.ndarray:
    return np.fromiter(segments, np.int64, len(segments))


_NO_PIXELS = np.zeros((0, 0), np.int32)


def _load_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(read_regular_file(path))
    except OSError as e:
        raise DatasetError(f"cannot read the {what} JSON: {e.strerror or e}", path) from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"the {what} JSON is not valid JSON: {e}", path) from e
    if not isinstance(data, dict):
        raise DatasetError(f"the {what} JSON must hold an object", path)
    for key in ("annotations",) + (("categories",) if what == "ground-truth" else ()):
        if key not in data:
            raise DatasetError(f"the {what} JSON is missing the key {key!r}", path)
    return data


@dataclass(frozen=True)
class FilePair:
    """A ground-truth and a prediction COCO panoptic file, read and checked as panopticapi does."""

    gt_json: Path
    pred_json: Path
    gt_data: dict
    pred_data: dict
    gt_folder: Path
    pred_folder: Path
    categories: CategorySet


def open_file_pair(gt_json: str | Path, pred_json: str | Path, gt_folder: str | Path | None = None,
                   pred_folder: str | Path | None = None) -> FilePair:
    """Both JSONs read, their PNG folders (default: beside each JSON, named like it) found and the
    ground truth's categories parsed: what every file evaluator (ours, the thin measures,
    panopticapi's) starts with. Raises ``DatasetError`` with panopticapi's wording for folders."""
    gt_json, pred_json = Path(gt_json), Path(pred_json)
    gt_data, pred_data = _load_json(gt_json, "ground-truth"), _load_json(pred_json, "prediction")
    gt_dir = Path(gt_folder) if gt_folder is not None else gt_json.with_suffix("")
    pred_dir = Path(pred_folder) if pred_folder is not None else pred_json.with_suffix("")
    for folder, what in ((gt_dir, "ground truth"), (pred_dir, "predicted")):
        if not folder.is_dir():
            raise DatasetError(f"Folder {folder} with {what} segmentations doesn't exist")
    try:
        categories = CategorySet.from_json(gt_data["categories"])
    except CategoryError as e:
        raise DatasetError(f"bad categories: {e.reason}", gt_json) from e
    return FilePair(gt_json, pred_json, gt_data, pred_data, gt_dir, pred_dir, categories)


def _key(d: dict, key: str, where: str, path: Path):
    try:
        return d[key]
    except (KeyError, TypeError) as e:
        raise DatasetError(f"{where} is missing the key {key!r}", path) from e


def match_annotations(gt_json: dict, pred_json: dict, gt_path: Path, pred_path: Path) -> list[tuple[dict, dict]]:
    """Pair every GT annotation with the prediction of the same ``image_id`` (panopticapi's rule)."""
    preds = {}
    for ann in pred_json["annotations"]:
        preds[_key(ann, "image_id", "an annotations entry", pred_path)] = ann
    pairs = []
    for ann in gt_json["annotations"]:
        image_id = _key(ann, "image_id", "an annotations entry", gt_path)
        if image_id not in preds:
            raise DatasetError(f"no prediction for the image with id: {image_id}", pred_path)
        pairs.append((ann, preds[image_id]))
    return pairs


def _ann_fields(ann: dict, folder: Path, json_path: Path) -> tuple[Path, list]:
    image_id = ann.get("image_id")
    png = folder / _key(ann, "file_name", f"the annotation of image {image_id}", json_path)
    infos = _key(ann, "segments_info", f"the annotation of image {image_id}", json_path)
    if not isinstance(infos, list):
        raise DatasetError(f"the segments_info of image {image_id} is not a list", json_path)
    return png, infos


class _PairJob:
    """Everything a worker thread needs; ``__call__`` reads, decodes and reduces one image pair."""

    def __init__(self, gt_folder: Path, pred_folder: Path, gt_json: Path, pred_json: Path,
                 cat_index: Mapping[int, int], thing_ids: list[int] | None):
        self.gt_folder, self.pred_folder = gt_folder, pred_folder
        self.gt_json, self.pred_json = gt_json, pred_json
        self.cat_index, self.thing_ids = cat_index, thing_ids

    def __call__(self, gt_ann: dict, pred_ann: dict):
        image_id = gt_ann["image_id"]
        gt_png, gt_infos = _ann_fields(gt_ann, self.gt_folder, self.gt_json)
        pred_png, pred_infos = _ann_fields(pred_ann, self.pred_folder, self.pred_json)
        # panopticapi takes GT areas from the JSON; so do we (they equal the pixel counts in any
        # consistent file; a differing one is logged).
        try:
            gt_areas = {int(s["id"]): float(s["area"]) for s in gt_infos if "area" in s}
        except (TypeError, ValueError, KeyError) as e:
            raise AnnotationError(f"a segment of image {image_id} has no id or a non-numeric area",
                                  self.gt_json) from e
        gt_img = _read_png(gt_png)
        pred_data = read_png_bytes(pred_png)
        # the prediction's size from its header, before a pixel is inflated: a small file that
        # claims a huge size is refused for what it is, without the memory a decode would take
        pred_header = check_png_size(pred_data, pred_png)
        if (pred_header.width, pred_header.height) != (gt_img.header.width, gt_img.header.height):
            raise AnnotationError(f"the predicted PNG of image {image_id} is {pred_header.width}x{pred_header.height} "
                                  f"but the ground truth is {gt_img.header.width}x{gt_img.header.height}", pred_png)
        pred_img = decode_png(pred_data, pred_png)
        if self.thing_ids is None:
            # The tables alone (no id map yet): from_coco parses and checks segments_info.
            gt_segs = PanopticAnnotation.from_coco(_NO_PIXELS, gt_infos, SOURCE_MANUAL, gt_png).segments
            pred_segs = PanopticAnnotation.from_coco(_NO_PIXELS, pred_infos, SOURCE_MODEL, pred_png).segments
            hist, labelled = _small_id_histogram(gt_img, pred_img), False
            if hist is None:
                hist, labelled = _label_histogram(gt_img, pred_img, _ids_of(gt_segs), _ids_of(pred_segs)), True
            if hist is not None:
                stats = stats_from_histogram(hist, gt_segs, pred_segs, self.cat_index, gt_areas=gt_areas,
                                             gt_path=gt_png, labelled=labelled)
                if stats is not None:
                    return image_id, stats, None
        # Any id range, and the precise error for inconsistent files.
        gt = PanopticAnnotation.from_coco(gt_img.ids(), gt_infos, SOURCE_MANUAL, gt_png)
        pred = PanopticAnnotation.from_coco(pred_img.ids(), pred_infos, SOURCE_MODEL, pred_png)
        stats = image_stats(gt.id_map, gt.segments, pred.id_map, pred.segments, self.cat_index,
                            gt_areas=gt_areas, image_id=image_id, gt_path=gt_png, pred_path=pred_png)
        coco = None
        if self.thing_ids is not None:
            coco = (thing_instances(gt, self.thing_ids, with_scores=False, image_id=image_id, path=gt_png),
                    thing_instances(pred, self.thing_ids, with_scores=True, image_id=image_id, path=pred_png),
                    *gt.shape)
        return image_id, stats, coco


def check_category_names(gt: CategorySet, pred_categories: object, pred_json: Path) -> None:
    """Refuse a prediction whose category table names an id differently from the ground truth.

    Matching is by id (as panopticapi), so a model trained on another category table (id 3 =
    "rebar" there, "spalling" here) would be scored against the wrong class without a word.
    A prediction without a readable table is taken as the ground truth's (panopticapi ignores it).
    """
    if not isinstance(pred_categories, list):
        return
    gt_names = {c.id: c.name for c in gt}
    gt_ids = {c.name.casefold(): c.id for c in gt}
    for c in pred_categories:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or isinstance(c.get("id"), bool) \
                or not isinstance(c.get("id"), int):
            continue
        cid, name = c["id"], c["name"]
        if cid in gt_names and gt_names[cid].casefold() != name.casefold():
            raise DatasetError(f"category {cid} is {name!r} in the prediction but {gt_names[cid]!r} in the ground "
                               "truth", pred_json, hint="the model was trained on other categories: evaluate it "
                               "against data with its categories, or fine-tune it on these")
        if name.casefold() in gt_ids and gt_ids[name.casefold()] != cid:
            raise DatasetError(f"category {name!r} has id {cid} in the prediction but {gt_ids[name.casefold()]} in "
                               "the ground truth", pred_json, hint="the two category tables number the classes "
                               "differently; export both from the same project")


def evaluate_files(gt_json: str | Path, pred_json: str | Path, gt_folder: str | Path | None = None,
                   pred_folder: str | Path | None = None, *, coco_ap: bool = False, workers: int | None = None,
                   keep_per_image: bool = True, progress: ProgressFn | None = None,
                   cancel: CancelFlag | None = None) -> FileEvaluation:
    """Evaluate a COCO panoptic prediction against ground truth, as panopticapi's ``pq_compute``.

    Args:
        gt_json, pred_json: COCO panoptic JSON files; categories come from the GT one.
        gt_folder, pred_folder: PNG folders; default: beside each JSON, named like it.
        coco_ap: also compute box and mask AP of things with COCOeval (predictions need ``score``).
        workers: decoding threads (default ``default_workers()``).
        keep_per_image: keep one ``ImagePQ`` per image in the result.
        progress: called as ``progress(done, total, message)`` after each image.
        cancel: ``is_set()`` is polled between images; when set, ``CancelledError`` is raised.

    Raises:
        DatasetError: unreadable JSON, missing folder, missing key, an image without prediction.
        AnnotationError: PNG and ``segments_info`` disagree, unknown category, size mismatch, or
            (with ``coco_ap``) a predicted thing without score. Messages follow panopticapi's.
        CancelledError: ``cancel`` was set.
    """
    files = open_file_pair(gt_json, pred_json, gt_folder, pred_folder)
    gt_json, pred_json, gt_data, pred_data = files.gt_json, files.pred_json, files.gt_data, files.pred_data
    gt_folder, pred_folder, categories = files.gt_folder, files.pred_folder, files.categories
    check_category_names(categories, pred_data.get("categories"), pred_json)
    pairs = match_annotations(gt_data, pred_data, gt_json, pred_json)

    pq_acc = PQAccumulator(categories, keep_per_image=keep_per_image)
    ap_acc = CocoAPAccumulator(categories) if coco_ap else None
    job = _PairJob(gt_folder, pred_folder, gt_json, pred_json, pq_acc.category_index,
                   ap_acc.thing_ids if ap_acc is not None else None)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be 1 or more, got {workers}")
    total = len(pairs)
    for done, (image_id, stats, coco) in enumerate(_run_in_order(job, pairs, workers or default_workers(), cancel), 1):
        pq_acc.add(stats, image_id)
        if ap_acc is not None:
            ap_acc.add(*coco)
        if progress is not None:
            progress(done, total, "")
    return FileEvaluation(pq_acc.evaluate(), ap_acc.evaluate() if ap_acc is not None else None)


def evaluate_pq_files(gt_json: str | Path, pred_json: str | Path, gt_folder: str | Path | None = None,
                      pred_folder: str | Path | None = None, **kwargs) -> PQResult:
    """``evaluate_files(...).pq``: panopticapi's ``pq_compute`` as a typed result."""
    return evaluate_files(gt_json, pred_json, gt_folder, pred_folder, coco_ap=False, **kwargs).pq


def _run_in_order(job: _PairJob, pairs: list[tuple[dict, dict]], workers: int, cancel: CancelFlag | None):
    """Yield ``job(*pair)`` in input order, at most ``2 * workers`` pairs in flight.

    The first error in input order propagates (panopticapi reports the first bad image too);
    pending work is dropped when an error is raised or ``cancel`` is set.
    """
    window: deque[Future] = deque()
    todo = iter(pairs)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pq-eval") as pool:
        try:
            for pair in todo:
                window.append(pool.submit(job, *pair))
                if len(window) >= 2 * workers:
                    break
            while window:
                if cancel is not None and cancel.is_set():
                    raise CancelledError("evaluation cancelled")
                result = window.popleft().result()
                for pair in todo:
                    window.append(pool.submit(job, *pair))
                    break
                yield result
        finally:
            for fut in window:
                fut.cancel()
