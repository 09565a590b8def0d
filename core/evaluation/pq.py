"""Panoptic quality (PQ, SQ, RQ) with panopticapi's semantics, vectorised and streaming.

Per image, one joint histogram of (GT segment, predicted segment) pixel pairs gives every
intersection and every area in a single pass over the pixels; matching then runs on the small
``[gt segments, pred segments]`` table. Only per-category sums are kept between images, so memory
stays flat however many images stream through.

Semantics are panopticapi's ``pq_compute_single_core``, rule for rule:

* a GT and a predicted segment of the same category match when IoU > 0.5, where the union leaves
  out the predicted pixels that fall on GT void;
* crowd GT segments never match and never count as false negatives;
* an unmatched prediction is not a false positive when more than half of it lies on GT void plus
  the crowd region of its category (panopticapi uses the *last* crowd segment of that category in
  ``segments_info`` order; so does this);
* categories without any TP, FP or FN are left out of the means.

Unlike panopticapi, inconsistent *ground truth* (PNG ids missing from the table or the reverse, an
unknown category) is refused too, with the wording panopticapi uses for predictions, and so is a
segment numbered 0 (the void id) in either table.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from collections.abc import Mapping

import numpy as np

from core.categories import CategorySet
from core.errors import AnnotationError
from core.idpng import MAX_SEGMENT_ID
from core.panoptic import VOID, PanopticAnnotation, Segment
from core.evaluation.result import ImagePQ, PQResult, PQStats, build_result, image_pq

log = logging.getLogger(__name__)

#: Where a map came from, for error messages (None: from memory).
SourcePath = str | Path | None

#: Largest joint histogram built straight from raw ids ((max gt id + 1) x (max pred id + 1) bins);
#: beyond it ids are first mapped to small labels through their segment table (``table_labels``).
#: Our own exports number segments 1..n, COCO files often use colour-like ids.
_DIRECT_BINS = 1 << 18

#: ``table_labels``: label 0 is void, 1..MAX_LABELLED_SEGMENTS the table's segments in order, and
#: UNLISTED every id the table does not list (then pixels and table disagree: the caller refuses).
MAX_LABELLED_SEGMENTS = 254
UNLISTED = 255
_luts = threading.local()


def table_labels(id_map: np.ndarray, table_ids: np.ndarray, out: np.ndarray | None = None) -> np.ndarray | None:
    """``[H, W]`` uint8 labels of an id map through its segment table, in one gather.

    Label 0 is void, ``k + 1`` the k-th id of ``table_ids``, ``UNLISTED`` any other id. A lookup
    table over the whole 24-bit id range (16 MiB of uint8 per thread, made on first use) is filled
    at the table's ids and cleared again after the gather, so the cost is one pass over the pixels
    whatever the ids: no sort, no binary search. It stores ``label + 1`` (mod 256) so that its
    default, 0, means unlisted: then it is allocated zeroed by the OS, and only the pages of ids
    actually looked up ever take memory.

    Args:
        id_map: ``[H, W]`` integer ids, every one within 0..MAX_SEGMENT_ID (callers checked).
        table_ids: ``[K]`` distinct segment ids in table order.
        out: ``[H, W]`` uint8 array to write the labels into (e.g. reused across images).
    Returns:
        The labels, or None when the table has more than ``MAX_LABELLED_SEGMENTS`` entries or an
        id outside 1..MAX_SEGMENT_ID (callers then take the general path, which names the error).
    """
    k = len(table_ids)
    if k > MAX_LABELLED_SEGMENTS or (k and (int(table_ids.min()) < 1 or int(table_ids.max()) > MAX_SEGMENT_ID)):
        return None
    lut = getattr(_luts, "table", None)
    if lut is None:
        lut = _luts.table = np.zeros(MAX_SEGMENT_ID + 1, np.uint8)
    # np.take wants intp indices; converting into a per-thread buffer spares an image-sized
    # allocation (and its page faults) per call.
    index = getattr(_luts, "index", None)
    if index is None or index.size < id_map.size:
        index = _luts.index = np.empty(id_map.size, np.intp)
    index = index[:id_map.size].reshape(id_map.shape)
    np.copyto(index, id_map, casting="unsafe")
    lut[VOID] = 1
    lut[table_ids] = np.arange(2, k + 2, dtype=np.uint8)
    try:
        labels = np.take(lut, index, out=out)
    finally:
        lut[table_ids] = 0
    labels -= 1  # uint8: unlisted 0 wraps to 255
    return labels


@dataclass(frozen=True)
class _Table:
    """A segment table as arrays, in ``segments`` order: ids, category index, crowd flag. ``[K]``."""

    ids: np.ndarray    # int64
    cats: np.ndarray   # int64 index into the category set (-1 = unknown)
    crowd: np.ndarray  # bool


def _table(segments: Mapping[int, Segment], cat_index: Mapping[int, int]) -> _Table:
    k = len(segments)
    ids = np.fromiter(segments.keys(), np.int64, k)
    cats = np.fromiter((cat_index.get(s.category_id, -1) for s in segments.values()), np.int64, k)
    crowd = np.fromiter((bool(s.iscrowd) for s in segments.values()), bool, k)
    return _Table(ids, cats, crowd)


def _check_like_panopticapi(id_map: np.ndarray, segments: Mapping[int, Segment], cat_index: Mapping[int, int],
                            image_id: object, path: SourcePath) -> NoReturn:
    """Raise the first inconsistency in the order and words of panopticapi's prediction checks.

    Only called once the fast checks found a problem, so its ``np.unique`` costs nothing normally.
    Always raises.
    """
    if VOID in segments:
        raise AnnotationError(f"In the image with ID {image_id} segment ID 0 is used; 0 marks void pixels.", path)
    remaining = set(segments)  # built and emptied as panopticapi does, so list() gives its order
    for label in np.unique(id_map):
        label = int(label)
        if label not in segments:
            if label == VOID:
                continue
            raise AnnotationError(f"In the image with ID {image_id} segment with ID {label} is presented in PNG "
                                  f"and not presented in JSON.", path)
        remaining.remove(label)
        if segments[label].category_id not in cat_index:
            raise AnnotationError(f"In the image with ID {image_id} segment with ID {label} has unknown "
                                  f"category_id {segments[label].category_id}.", path)
    if remaining:
        raise AnnotationError(f"In the image with ID {image_id} the following segment IDs {list(remaining)} are "
                              f"presented in JSON and not presented in PNG.", path)
    raise AnnotationError(f"In the image with ID {image_id} the id map and the segment table disagree.", path)


def _max_id(id_map: np.ndarray, path: SourcePath) -> int:
    """Largest id of a map; refuses ids outside 0..2**24-1 (a negative one could alias below)."""
    if id_map.size == 0:
        return 0
    if id_map.dtype == np.int32:  # one pass: as uint32 a negative id is huge, so max() catches it
        hi = int(id_map.view(np.uint32).max())
    else:
        hi = int(id_map.max()) if int(id_map.min()) >= 0 else MAX_SEGMENT_ID + 1
    if hi > MAX_SEGMENT_ID:
        raise AnnotationError(f"the id map holds segment ids outside 0..{MAX_SEGMENT_ID}", path)
    return hi


def _joint_histogram(gt_map: np.ndarray, pred_map: np.ndarray, gt_ids: np.ndarray, pred_ids: np.ndarray,
                     gt_path: SourcePath, pred_path: SourcePath) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel counts of every (GT label, pred label) pair.

    Returns ``hist`` int64 ``[R, S]`` and the row of each GT table id ``[Kg]``, the column of each
    predicted table id ``[Kp]``. Row 0 and column 0 are void. Rows/columns not named by the tables
    hold ids that are missing from them (the caller refuses those).
    """
    g_hi = max(_max_id(gt_map, gt_path), int(gt_ids.max(initial=0)))
    p_hi = max(_max_id(pred_map, pred_path), int(pred_ids.max(initial=0)))
    if (g_hi + 1) * (p_hi + 1) <= _DIRECT_BINS:
        rows, cols, g_lab, p_lab = g_hi + 1, p_hi + 1, gt_map, pred_map
        g_rows, p_cols = gt_ids, pred_ids
    elif ((g_tab := table_labels(gt_map, gt_ids)) is not None
          and (p_tab := table_labels(pred_map, pred_ids)) is not None):
        g_lab, p_lab = g_tab, p_tab
        rows = cols = UNLISTED + 1
        g_rows, p_cols = np.arange(1, len(gt_ids) + 1), np.arange(1, len(pred_ids) + 1)
    else:  # more than 254 segments: ids compacted by a binary search over the table
        g_lab, g_keys = _compact(gt_map, gt_ids)
        p_lab, p_keys = _compact(pred_map, pred_ids)
        rows, cols = len(g_keys) + 1, len(p_keys) + 1
        g_rows, p_cols = np.searchsorted(g_keys, gt_ids), np.searchsorted(p_keys, pred_ids)
    if rows <= 256 and cols <= 256:
        hist = _histogram_u8(g_lab, p_lab, rows, cols)
    else:
        hist = _histogram_bincount(g_lab, p_lab, rows, cols)
    return hist, g_rows, p_cols


def _histogram_u8(g_lab: np.ndarray, p_lab: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Labels < 256: OpenCV's 2-D histogram of two uint8 maps, one pass and no joint array.

    Its float32 counts are exact below 2**24, so images are counted in bands of fewer pixels.
    With as many bins as the range is wide, bin k holds exactly the label k; pairs with a label
    at or beyond ``rows`` / ``cols`` are not counted.
    """
    import cv2

    g8 = np.ascontiguousarray(g_lab, dtype=np.uint8)
    p8 = np.ascontiguousarray(p_lab, dtype=np.uint8)
    hist = np.zeros((rows, cols), np.int64)
    band = max(1, ((1 << 24) - 1) // max(1, g8.shape[1]))
    for y in range(0, g8.shape[0], band):
        hist += cv2.calcHist([g8[y:y + band], p8[y:y + band]], [0, 1], None, [rows, cols],
                             [0, rows, 0, cols]).astype(np.int64)
    return hist


#: Pixels per slice of the bincount histogram: the intp scratch (512 KiB) stays in L2 cache and is
#: reused, instead of a fresh image-sized temporary per image (page faults cost more than the math).
_CHUNK = 1 << 16
_scratch = threading.local()


def _histogram_bincount(g_lab: np.ndarray, p_lab: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Any label range: ``bincount(g * cols + p)`` over slices of the image."""
    g_flat, p_flat = g_lab.reshape(-1), p_lab.reshape(-1)
    bins = rows * cols
    hist = np.zeros(bins, np.int64)
    step = max(_CHUNK, bins)  # a slice's bincount output is ``bins`` long: keep it small beside the slice
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.size < min(step, g_flat.size):
        buf = _scratch.buf = np.empty(min(step, g_flat.size), np.intp)
    for start in range(0, g_flat.size, step):
        g, p = g_flat[start:start + step], p_flat[start:start + step]
        joint = buf[:g.size]
        np.multiply(g, cols, out=joint)
        joint += p
        hist += np.bincount(joint, minlength=bins)
    return hist.reshape(rows, cols)


def _compact(id_map: np.ndarray, table_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map ids to positions in ``keys = sorted({0} | table ids)``; ids not in it go to ``len(keys)``."""
    keys = np.union1d(table_ids, [VOID])
    pos = np.searchsorted(keys, id_map)
    np.minimum(pos, len(keys) - 1, out=pos)
    pos[keys[pos] != id_map] = len(keys)
    return pos, keys


def image_stats(gt_map: np.ndarray, gt_segments: Mapping[int, Segment], pred_map: np.ndarray,
                pred_segments: Mapping[int, Segment], cat_index: Mapping[int, int], *,
                gt_areas: Mapping[int, float] | None = None, image_id: object = None,
                gt_path: SourcePath = None, pred_path: SourcePath = None) -> PQStats:
    """Per-category TP/FP/FN and IoU sums of one image. Pure function: safe to run in threads.

    Args:
        gt_map, pred_map: ``[H, W]`` integer id maps (0 = void), same shape.
        gt_segments, pred_segments: ``{segment id: Segment}``; order matters only for crowd
            regions (see the module docstring).
        cat_index: ``{category id: position}`` in the category set.
        gt_areas: GT areas to use in the union instead of the pixel counts; the file front end
            passes the JSON ``area`` fields, which is what panopticapi uses.
        image_id, gt_path, pred_path: named in error messages.

    Returns:
        ``PQStats`` with ``[C]`` arrays, C = ``len(cat_index)``.
    """
    if gt_map.shape != pred_map.shape:
        raise AnnotationError(f"In the image with ID {image_id} the prediction is {pred_map.shape[1]}x"
                              f"{pred_map.shape[0]} but the ground truth is {gt_map.shape[1]}x{gt_map.shape[0]}.",
                              pred_path)
    gt, pred = _table(gt_segments, cat_index), _table(pred_segments, cat_index)
    hist, g_rows, p_cols = _joint_histogram(gt_map, pred_map, gt.ids, pred.ids, gt_path, pred_path)
    try:
        return _match(hist, g_rows, p_cols, gt, pred, len(cat_index), gt_areas, gt_path)
    except _MismatchError as e:
        if e.side == "pred":
            _check_like_panopticapi(pred_map, pred_segments, cat_index, image_id, pred_path)
        _check_like_panopticapi(gt_map, gt_segments, cat_index, image_id, gt_path)


def stats_from_histogram(hist: np.ndarray, gt_segments: Mapping[int, Segment], pred_segments: Mapping[int, Segment],
                         cat_index: Mapping[int, int], *, gt_areas: Mapping[int, float] | None = None,
                         gt_path: SourcePath = None, labelled: bool = False) -> PQStats | None:
    """``image_stats`` from a ready joint histogram, for callers that count pixels cheaper.

    Args:
        hist: int64 ``[R, S]``, ``hist[g, p]`` = pixels with GT id g and predicted id p; with
            ``labelled``, of GT label g and predicted label p as ``table_labels`` numbers them
            (the k-th segment of a table is label k + 1).

    Returns:
        The statistics, or None when a table id lies outside the histogram or the tables and the
        pixels disagree; ``image_stats`` on the id maps then gives the precise error.
    """
    gt, pred = _table(gt_segments, cat_index), _table(pred_segments, cat_index)
    if labelled:
        g_rows, p_cols = np.arange(1, len(gt.ids) + 1), np.arange(1, len(pred.ids) + 1)
    else:
        g_rows, p_cols = gt.ids, pred.ids
    if (g_rows.max(initial=0) >= hist.shape[0] or p_cols.max(initial=0) >= hist.shape[1]
            or g_rows.min(initial=0) < 0 or p_cols.min(initial=0) < 0):
        return None
    try:
        return _match(hist, g_rows, p_cols, gt, pred, len(cat_index), gt_areas, gt_path)
    except _MismatchError:
        return None


class _MismatchError(Exception):
    """Pixels and segment table of one side ("gt" or "pred") disagree."""

    def __init__(self, side: str):
        super().__init__(side)
        self.side = side


def _match(hist: np.ndarray, g_rows: np.ndarray, p_cols: np.ndarray, gt: _Table, pred: _Table, n_cats: int,
           gt_areas: Mapping[int, float] | None, gt_path: SourcePath) -> PQStats:
    """panopticapi's matching on the joint histogram (``[R, S]``, row/column 0 = void)."""
    # Consistency: every labelled pixel belongs to a table entry and every entry has pixels.
    p_area_all = hist.sum(axis=0)
    p_area = p_area_all[p_cols]
    if ((pred.ids == VOID).any() or (p_area == 0).any() or (pred.cats < 0).any()
            or p_area_all[1:].sum() != p_area.sum()):
        raise _MismatchError("pred")
    g_area_all = hist.sum(axis=1)
    g_pixels = g_area_all[g_rows]
    if ((gt.ids == VOID).any() or (g_pixels == 0).any() or (gt.cats < 0).any()
            or g_area_all[1:].sum() != g_pixels.sum()):
        raise _MismatchError("gt")
    if gt_areas is None:
        g_area = g_pixels.astype(np.float64)
    else:
        g_area = np.fromiter((gt_areas.get(int(i), g_pixels[k]) for k, i in enumerate(gt.ids)), np.float64,
                             len(gt.ids))
        if (g_area != g_pixels).any():
            log.warning("%s: JSON 'area' differs from the pixel count for segments %s; using the JSON value as "
                        "panopticapi does", gt_path, gt.ids[g_area != g_pixels][:10].tolist())

    inter = hist[np.ix_(g_rows, p_cols)]            # [Kg, Kp]
    on_void = hist[0, p_cols]                       # [Kp] predicted pixels on GT void
    cand = (inter > 0) & (gt.cats[:, None] == pred.cats[None, :]) & ~gt.crowd[:, None]
    union = p_area[None, :] + g_area[:, None] - inter - on_void[None, :]
    iou = np.zeros(inter.shape, np.float64)
    np.divide(inter, union, out=iou, where=cand & (union > 0))
    match = cand & (iou > 0.5)

    mi, mj = np.nonzero(match)
    tp = np.bincount(gt.cats[mi], minlength=n_cats)
    iou_sum = np.bincount(gt.cats[mi], weights=iou[mi, mj], minlength=n_cats)
    missed = ~match.any(axis=1) & ~gt.crowd
    fn = np.bincount(gt.cats[missed], minlength=n_cats)

    # Unmatched predictions mostly on void + the crowd region of their category are ignored.
    ignored_pixels = on_void.astype(np.float64)
    if gt.crowd.any():
        last_crowd = {}
        for k in np.flatnonzero(gt.crowd):
            last_crowd[int(gt.cats[k])] = k
        for j in range(len(pred.ids)):
            crowd_row = last_crowd.get(int(pred.cats[j]))
            if crowd_row is not None:
                ignored_pixels[j] += inter[crowd_row, j]
    unmatched = ~match.any(axis=0)
    false_pos = unmatched & ~(ignored_pixels / np.maximum(p_area, 1) > 0.5)
    fp = np.bincount(pred.cats[false_pos], minlength=n_cats)
    return PQStats(iou_sum, tp.astype(np.int64), fp.astype(np.int64), fn.astype(np.int64))


class PQAccumulator:
    """Streams (GT, prediction) pairs and reports PQ / SQ / RQ like panopticapi.

    Usage (detectron2-style evaluator)::

        acc = PQAccumulator(categories)
        for gt, pred in pairs:
            acc.process(gt, pred)
        result = acc.evaluate()

    Not thread-safe: call ``process`` from one thread (or give each thread its own accumulator
    and ``merge`` them).
    """

    def __init__(self, categories: CategorySet, *, keep_per_image: bool = True):
        self.categories = categories
        self.keep_per_image = keep_per_image
        self._cat_index = {c.id: k for k, c in enumerate(categories)}
        self.reset()

    def reset(self) -> None:
        self._stats = PQStats.zeros(len(self.categories))
        self._per_image: list[ImagePQ] = []
        self._num_images = 0

    @property
    def num_images(self) -> int:
        return self._num_images

    @property
    def category_index(self) -> Mapping[int, int]:
        """``{category id: position}`` expected by ``image_stats``."""
        return dict(self._cat_index)

    def process(self, gt: PanopticAnnotation, pred: PanopticAnnotation, image_id: object = None) -> PQStats:
        """Add one image. ``image_id`` names it in errors and in ``per_image`` (default: its index).

        Returns that image's per-category statistics.
        """
        if image_id is None:
            image_id = self._num_images
        stats = image_stats(gt.id_map, gt.segments, pred.id_map, pred.segments, self._cat_index,
                            image_id=image_id)
        self.add(stats, image_id)
        return stats

    def add(self, stats: PQStats, image_id: object = None) -> None:
        """Add one image's statistics computed elsewhere (e.g. by ``image_stats`` in a worker)."""
        if image_id is None:
            image_id = self._num_images
        self._stats = self._stats + stats
        if self.keep_per_image:
            self._per_image.append(image_pq(image_id, stats))
        self._num_images += 1

    def merge(self, other: PQAccumulator) -> None:
        """Fold in another accumulator over the same categories (e.g. from another worker)."""
        if other.categories != self.categories:
            raise ValueError("cannot merge PQ accumulators over different category sets")
        self._stats = self._stats + other._stats
        self._per_image.extend(other._per_image)
        self._num_images += other._num_images

    def evaluate(self) -> PQResult:
        return build_result(self.categories, self._stats, self._per_image, self._num_images)
