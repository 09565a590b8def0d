"""Centreline measures of thin structures (cracks, exposed bars): precision, recall, F1 and clIoU.

PQ at IoU 0.5 is a harsh judge of a 2-px-wide object (one pixel of offset halves its IoU), so
thin classes are also scored the way the crack literature does, on their centrelines with a
distance tolerance. Per thin class and photo, the union of the class's segments is thinned to a
one-pixel centreline (scikit-image ``skeletonize``) in the truth and in the prediction; then

* a predicted centreline pixel is a hit when a truth centreline pixel lies within ``tolerance``
  px (Euclidean, pixel centres); ``precision = hits / predicted centreline pixels``;
* a truth centreline pixel is found when a predicted one lies within ``tolerance``;
  ``recall = found / truth centreline pixels`` (so a missed branch costs recall by its length);
* ``F1`` is their harmonic mean; ``clIoU = m / (P + G - m)`` with ``m = (hits + found) / 2``,
  ``P`` and ``G`` the centreline lengths: the IoU of the two centrelines when "the same pixel"
  means "within the tolerance".

Counts are summed over photos before dividing (micro average), per class and over all thin
classes. The tolerance is defined at the photo's full size; maps evaluated at a reduced size
(training evaluates at the model's input size) pass ``full_size`` and the tolerance shrinks with
them. Lengths are reported in full-size pixels. Void and crowd regions get no special treatment.

A class is thin when its ``Category.thin`` flag says so, or, when unset, when its measurement role
is linear (``core.measure.roles``: crack, rebar). See docs/thin_metrics.md.

    acc = ThinAccumulator(categories, tolerance=2.0)
    for gt, pred in pairs:
        acc.process(gt, pred, image_id=i)
    result = acc.evaluate()          # ThinResult: overall, per_class, per_image
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Iterable, Sequence

import numpy as np

from core.categories import Category, CategorySet
from core.measure.roles import is_thin
from core.panoptic import PanopticAnnotation

__all__ = ["DEFAULT_TOLERANCE", "ThinAccumulator", "ThinImage", "ThinResult", "ThinRow", "centreline", "class_counts",
           "format_thin_table", "is_thin", "match_centrelines", "row_from_counts", "thin_categories"]

#: Default tolerance (px at the photo's full size), as the DeepCrack family scores skeletons.
DEFAULT_TOLERANCE = 2.0


def thin_categories(categories: CategorySet) -> list[Category]:
    """The thin classes of a set, in set order."""
    return [c for c in categories if is_thin(c)]


# --- one mask pair ------------------------------------------------------------------------------
def centreline(mask: np.ndarray) -> np.ndarray:
    """``[H, W]`` bool one-pixel-wide skeleton of a ``[H, W]`` bool mask (8-connected).

    Thinned inside the mask's bounding box only, so a small crack in a large photo costs little.
    """
    from skimage.morphology import skeletonize

    out = np.zeros(mask.shape, bool)
    box = _bbox(mask)
    if box is None:
        return out
    y0, y1, x0, x1 = box
    out[y0:y1, x0:x1] = skeletonize(mask[y0:y1, x0:x1])
    return out


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _within(points_of: np.ndarray, near: np.ndarray, tolerance: float) -> int:
    """How many True pixels of ``points_of`` lie within ``tolerance`` of a True pixel of ``near``.

    Both ``[h, w]`` bool crops of one frame; ``near`` must hold at least one True pixel.
    """
    import cv2

    # Exact Euclidean distance to the nearest ``near`` pixel (0 on it).
    dist = cv2.distanceTransform((~near).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return int(np.count_nonzero(dist[points_of] <= tolerance + 1e-6))


def match_centrelines(gt_line: np.ndarray, pred_line: np.ndarray, tolerance: float) -> np.ndarray:
    """Counts of two ``[H, W]`` bool centrelines: int64 ``[4]`` = (P, hits, G, found).

    ``P``/``G``: predicted / truth centreline pixels; ``hits``: predicted pixels within
    ``tolerance`` px of the truth; ``found``: truth pixels within ``tolerance`` of the prediction.
    """
    n_pred, n_gt = int(np.count_nonzero(pred_line)), int(np.count_nonzero(gt_line))
    if n_pred == 0 or n_gt == 0:
        return np.array([n_pred, 0, n_gt, 0], np.int64)
    # The distance transforms only need the joint bounding box, widened by the tolerance.
    box = _bbox(gt_line | pred_line)
    assert box is not None  # both lines have pixels
    pad = int(math.ceil(tolerance)) + 1
    h, w = gt_line.shape
    y0, y1, x0, x1 = max(0, box[0] - pad), min(h, box[1] + pad), max(0, box[2] - pad), min(w, box[3] + pad)
    g, p = gt_line[y0:y1, x0:x1], pred_line[y0:y1, x0:x1]
    return np.array([n_pred, _within(p, g, tolerance), n_gt, _within(g, p, tolerance)], np.int64)


def class_counts(gt: PanopticAnnotation, pred: PanopticAnnotation, category_ids: Sequence[int],
                 tolerance: float) -> np.ndarray:
    """int64 ``[C, 4]`` centreline counts (see ``match_centrelines``) of one photo, per class.

    ``gt`` and ``pred`` are of one size; ``tolerance`` in px of that size.
    """
    from core.errors import AnnotationError

    if gt.shape != pred.shape:
        raise AnnotationError(f"the prediction is {pred.shape[1]}x{pred.shape[0]} but the ground truth is "
                              f"{gt.shape[1]}x{gt.shape[0]}")
    out = np.zeros((len(category_ids), 4), np.int64)
    gt_sem, pred_sem = _semantic_of(gt, category_ids), _semantic_of(pred, category_ids)
    for k, cid in enumerate(category_ids):
        g = gt_sem == cid if gt_sem is not None else None
        p = pred_sem == cid if pred_sem is not None else None
        g_line = centreline(g) if g is not None and g.any() else None
        p_line = centreline(p) if p is not None and p.any() else None
        if g_line is None and p_line is None:
            continue
        empty = np.zeros(gt.shape, bool)
        out[k] = match_centrelines(empty if g_line is None else g_line, empty if p_line is None else p_line,
                                   tolerance)
    return out


def _semantic_of(ann: PanopticAnnotation, category_ids: Sequence[int]) -> np.ndarray | None:
    """The category map of ``ann``, or None when none of its segments is of ``category_ids``."""
    wanted = set(category_ids)
    if not any(s.category_id in wanted for s in ann.segments.values()):
        return None
    return ann.semantic()


# --- results --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThinRow:
    """Centreline measures of one class (or of all thin classes: ``category_id`` None).

    ``precision``/``recall``/``f1``/``cliou`` are fractions in [0, 1], NaN when undefined
    (precision without a predicted centreline, recall without a truth one, all four when neither
    exists). ``pred_length``/``gt_length``: centreline lengths in px at the photo's full size.
    """

    name: str
    category_id: int | None
    precision: float
    recall: float
    f1: float
    cliou: float
    pred_length: float
    gt_length: float

    @property
    def counted(self) -> bool:
        return self.pred_length > 0 or self.gt_length > 0

    def to_json(self) -> dict:
        d = {"name": self.name, "precision": _num(self.precision), "recall": _num(self.recall),
             "f1": _num(self.f1), "cliou": _num(self.cliou), "pred_length": round(float(self.pred_length), 3),
             "gt_length": round(float(self.gt_length), 3)}
        if self.category_id is not None:
            d["category_id"] = int(self.category_id)
        return d


def _num(x: float) -> float | None:
    """JSON has no NaN: undefined measures are written as null."""
    return None if math.isnan(x) else float(x)


def row_from_counts(name: str, category_id: int | None, counts: np.ndarray, scale: float = 1.0) -> ThinRow:
    """A ``ThinRow`` from summed counts ``[4]`` = (P, hits, G, found); lengths divided by ``scale``
    (evaluation size / full size). Counts may be float (lengths already scaled to full size)."""
    p, hits, g, found = (float(v) for v in counts)
    nan = float("nan")
    if p == 0 and g == 0:
        return ThinRow(name, category_id, nan, nan, nan, nan, 0.0, 0.0)
    precision = hits / p if p > 0 else nan
    recall = found / g if g > 0 else nan
    pr, rc = (0.0 if math.isnan(precision) else precision), (0.0 if math.isnan(recall) else recall)
    f1 = 2 * pr * rc / (pr + rc) if pr + rc > 0 else 0.0
    m = (hits + found) / 2
    cliou = m / (p + g - m) if p + g - m > 0 else 0.0
    return ThinRow(name, category_id, precision, recall, f1, cliou, p / scale, g / scale)


@dataclass(frozen=True)
class ThinImage:
    """One photo: ``overall`` over its thin classes, and ``per_class`` rows for the classes that
    appear in its truth or prediction."""

    image_id: object
    overall: ThinRow
    per_class: tuple[ThinRow, ...]

    def to_json(self) -> dict:
        image_id = self.image_id if isinstance(self.image_id, (int, str)) else str(self.image_id)
        return {"image_id": image_id, "overall": self.overall.to_json(),
                "per_class": [r.to_json() for r in self.per_class]}


@dataclass(frozen=True)
class ThinResult:
    """Centreline measures over a set of photos (see the module docstring)."""

    tolerance: float
    overall: ThinRow
    per_class: tuple[ThinRow, ...]
    per_image: tuple[ThinImage, ...]
    num_images: int

    def to_json(self) -> dict:
        return {"tolerance": float(self.tolerance), "num_images": int(self.num_images),
                "overall": self.overall.to_json(), "per_class": [r.to_json() for r in self.per_class],
                "per_image": [r.to_json() for r in self.per_image]}

    def worst_images(self, k: int) -> list[ThinImage]:
        """Photos by overall F1, lowest first (photos without any thin centreline left out)."""
        scored = [r for r in self.per_image if not math.isnan(r.overall.f1)]
        return sorted(scored, key=lambda r: r.overall.f1)[:k]


class ThinAccumulator:
    """Streams (truth, prediction) pairs; ``evaluate()`` gives a ``ThinResult``.

    Like ``PQAccumulator``: ``reset()``, ``process(gt, pred, image_id=...)``, ``evaluate()``; and
    ``counts(gt, pred)`` + ``add(counts, image_id)`` to compute in worker threads and sum in one.
    """

    def __init__(self, categories: CategorySet, *, tolerance: float = DEFAULT_TOLERANCE,
                 keep_per_image: bool = True):
        if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
            raise ValueError(f"the thin-structure tolerance must be a finite number >= 0 px, got {tolerance!r}")
        self.categories = categories
        self.tolerance = float(tolerance)
        self.keep_per_image = keep_per_image
        self.thin = thin_categories(categories)
        self._ids = [c.id for c in self.thin]
        self.reset()

    def reset(self) -> None:
        # float64: lengths are kept in full-size pixels (counts divided by each photo's scale).
        self._sum = np.zeros((len(self._ids), 4), np.float64)
        self._per_image: list[ThinImage] = []
        self.num_images = 0

    def counts(self, gt: PanopticAnnotation, pred: PanopticAnnotation,
               full_size: tuple[int, int] | None = None) -> tuple[np.ndarray, float]:
        """``([C, 4] counts, scale)`` of one photo; pure, safe in threads.

        ``full_size``: ``(H, W)`` of the photo when ``gt``/``pred`` are a reduced copy; the
        tolerance and lengths follow the width ratio. None: the maps are at full size.
        """
        scale = 1.0
        if full_size is not None:
            if full_size[1] <= 0 or full_size[0] <= 0:
                raise ValueError(f"full_size must be positive, got {full_size}")
            scale = gt.shape[1] / float(full_size[1])
        if not self._ids:
            return np.zeros((0, 4), np.int64), scale
        return class_counts(gt, pred, self._ids, self.tolerance * scale), scale

    def add(self, counts: np.ndarray, scale: float = 1.0, image_id: object = None) -> None:
        self._sum += counts / scale if scale != 1.0 else counts
        self.num_images += 1
        if self.keep_per_image:
            rows = tuple(row_from_counts(c.name, c.id, counts[k], scale) for k, c in enumerate(self.thin)
                         if counts[k, 0] or counts[k, 2])
            overall = row_from_counts("All thin", None, counts.sum(axis=0), scale)
            self._per_image.append(ThinImage(image_id, overall, rows))

    def process(self, gt: PanopticAnnotation, pred: PanopticAnnotation, *, image_id: object = None,
                full_size: tuple[int, int] | None = None) -> None:
        """Add one photo (``gt`` and ``pred`` of one size; see ``counts`` for ``full_size``)."""
        counts, scale = self.counts(gt, pred, full_size)
        self.add(counts, scale, image_id)

    def merge(self, other: ThinAccumulator) -> None:
        if other._ids != self._ids or other.tolerance != self.tolerance:
            raise ValueError("can only merge accumulators of the same thin classes and tolerance")
        self._sum += other._sum
        self._per_image.extend(other._per_image)
        self.num_images += other.num_images

    def evaluate(self) -> ThinResult:
        rows = tuple(row_from_counts(c.name, c.id, self._sum[k]) for k, c in enumerate(self.thin))
        overall = row_from_counts("All thin", None, self._sum.sum(axis=0))
        return ThinResult(self.tolerance, overall, rows, tuple(self._per_image), self.num_images)


def format_thin_table(result: ThinResult, *, per_image: int = 0) -> str:
    """A plain-text table: one row per thin class and one for all of them (percentages)."""
    def pct(x: float) -> str:
        return "    -" if math.isnan(x) else f"{100 * x:5.1f}"

    head = (f"thin structures: centreline measures at {result.tolerance:g} px (full-size photo), "
            f"{result.num_images} images")
    lines = [head, f"{'':16s} {'P':>5s} {'R':>5s} {'F1':>5s} {'clIoU':>5s} {'truth px':>9s} {'pred px':>9s}"]
    rows: Iterable[ThinRow] = (*result.per_class, result.overall)
    if not result.per_class:
        return head + "\n  (no thin classes: none is a crack, rebar or flagged thin)"
    for r in rows:
        lines.append(f"{r.name[:16]:16s} {pct(r.precision)} {pct(r.recall)} {pct(r.f1)} {pct(r.cliou)} "
                     f"{r.gt_length:9.0f} {r.pred_length:9.0f}")
    if per_image:
        worst = result.worst_images(per_image)
        if worst:
            lines.append(f"lowest centreline F1 of {len(result.per_image)} images:")
            lines.extend(f"  image {r.image_id}: F1 {pct(r.overall.f1)}  P {pct(r.overall.precision)}  "
                         f"R {pct(r.overall.recall)}" for r in worst)
    return "\n".join(lines)
