"""The result of a panoptic quality evaluation: All / Things / Stuff rows, per class, per image.

The numbers follow panopticapi's ``PQStat.pq_average`` operation for operation (same formulas,
same category order), so they equal its ``pq_compute`` output to the last bits. Where panopticapi
has no answer (a group without any counted category raises ``ZeroDivisionError`` there) the row
holds NaN and ``n = 0``; ``to_json`` writes NaN as ``null``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Iterable, Sequence

import numpy as np

from core.categories import CategorySet

GROUPS = ("All", "Things", "Stuff")


@dataclass(frozen=True)
class PQRow:
    """One row of the PQ table: a group of categories (All/Things/Stuff) or a single category.

    ``pq``, ``sq``, ``rq`` are fractions in [0, 1] (the table prints them x100). ``n`` is the number
    of categories averaged: for a class row 1 when it has any TP+FP+FN, else 0 (its numbers are then
    0.0, as panopticapi reports them). ``tp``, ``fp``, ``fn`` are segment counts summed over the
    row's categories and ``iou`` the sum of the true positives' IoUs.
    """

    # ``ImagePQ`` repeats the quality fields rather than sharing a dataclass base: a base's fields
    # would come first, and both are built positionally with their key (name, image id) first.
    name: str
    pq: float
    sq: float
    rq: float
    n: int
    tp: int
    fp: int
    fn: int
    iou: float
    category_id: int | None = None
    isthing: bool | None = None

    def to_json(self) -> dict:
        d: dict[str, object] = {**_quality_json(self), "iou": _num(self.iou)}
        if self.category_id is not None:
            d.update(name=self.name, category_id=int(self.category_id), isthing=bool(self.isthing))
        return d


@dataclass(frozen=True)
class ImagePQ:
    """PQ of one image, averaged over the categories that occur in it (GT or prediction).

    NaN with ``n = 0`` for an image where neither GT nor prediction has any (non-crowd) segment.
    """

    image_id: object
    pq: float
    sq: float
    rq: float
    n: int
    tp: int
    fp: int
    fn: int

    def to_json(self) -> dict:
        image_id = self.image_id if isinstance(self.image_id, (int, str)) else str(self.image_id)
        return {"image_id": image_id, **_quality_json(self)}


@dataclass(frozen=True)
class PQResult:
    """Panoptic quality of a whole evaluation.

    Attributes:
        all, things, stuff: the three group rows panopticapi prints.
        per_class: one row per category, in the category set's order.
        per_image: one entry per processed image, in processing order (empty when the
            accumulator was built with ``keep_per_image=False``).
        num_images: images evaluated.
    """

    all: PQRow
    things: PQRow
    stuff: PQRow
    per_class: tuple[PQRow, ...]
    per_image: tuple[ImagePQ, ...] = ()
    num_images: int = 0

    @property
    def groups(self) -> tuple[PQRow, PQRow, PQRow]:
        return self.all, self.things, self.stuff

    def class_row(self, category_id: int) -> PQRow:
        for row in self.per_class:
            if row.category_id == category_id:
                return row
        raise KeyError(f"no category {category_id} in this result")

    def worst_images(self, k: int | None = None) -> list[ImagePQ]:
        """Images sorted by PQ, lowest first; images without any segment (NaN) come last."""
        ranked = sorted(self.per_image, key=lambda r: (math.isnan(r.pq), r.pq if not math.isnan(r.pq) else 0.0))
        return ranked if k is None else ranked[:k]

    def to_json(self) -> dict:
        """Plain-Python dict; a superset of panopticapi's ``pq_compute`` return value.

        ``{"All"|"Things"|"Stuff": {pq, sq, rq, n, tp, fp, fn, iou}, "per_class": {"<id>": {...}},
        "per_image": [...], "num_images": int}`` (JSON object keys are strings).
        """
        out: dict = {name: row.to_json() for name, row in zip(GROUPS, self.groups)}
        out["per_class"] = {str(row.category_id): row.to_json() for row in self.per_class}
        out["per_image"] = [r.to_json() for r in self.per_image]
        out["num_images"] = int(self.num_images)
        return out

    @staticmethod
    def from_json(d: dict) -> PQResult:
        """Inverse of ``to_json`` (``null`` numbers come back as NaN)."""
        def row(name: str, r: dict, cat_id: int | None = None) -> PQRow:
            return PQRow(r.get("name", name), _flt(r["pq"]), _flt(r["sq"]), _flt(r["rq"]), int(r["n"]),
                         int(r["tp"]), int(r["fp"]), int(r["fn"]), _flt(r["iou"]), cat_id,
                         None if cat_id is None else bool(r["isthing"]))

        per_class = tuple(row(r["name"], r, int(k)) for k, r in d["per_class"].items())
        per_image = tuple(ImagePQ(r["image_id"], _flt(r["pq"]), _flt(r["sq"]), _flt(r["rq"]), int(r["n"]),
                                  int(r["tp"]), int(r["fp"]), int(r["fn"])) for r in d.get("per_image", ()))
        return PQResult(row("All", d["All"]), row("Things", d["Things"]), row("Stuff", d["Stuff"]),
                        per_class, per_image, int(d.get("num_images", len(per_image))))


def _quality_json(r: PQRow | ImagePQ) -> dict[str, object]:
    """The fields a table row and an image share, as JSON: ``pq``, ``sq``, ``rq`` (NaN as None),
    ``n``, ``tp``, ``fp``, ``fn``."""
    return {"pq": _num(r.pq), "sq": _num(r.sq), "rq": _num(r.rq), "n": int(r.n),
            "tp": int(r.tp), "fp": int(r.fp), "fn": int(r.fn)}


def _num(x: float) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _flt(x) -> float:
    return float("nan") if x is None else float(x)


# --- from accumulated statistics -------------------------------------------------------------------
@dataclass(frozen=True)
class PQStats:
    """Raw per-category sums, indexed like the category set: ``[C]`` arrays.

    ``iou`` float64 (sum of TP IoUs), ``tp``, ``fp``, ``fn`` int64.
    """

    iou: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray

    @staticmethod
    def zeros(num_categories: int) -> PQStats:
        return PQStats(np.zeros(num_categories, np.float64), np.zeros(num_categories, np.int64),
                       np.zeros(num_categories, np.int64), np.zeros(num_categories, np.int64))

    def __add__(self, other: PQStats) -> PQStats:
        return PQStats(self.iou + other.iou, self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def image_pq(image_id: object, stats: PQStats) -> ImagePQ:
    """PQ of one image from its per-category statistics (mean over categories with TP+FP+FN > 0)."""
    tp, fp, fn = stats.tp, stats.fp, stats.fn
    counted = (tp + fp + fn) > 0
    n = int(counted.sum())
    if n == 0:
        nan = float("nan")
        return ImagePQ(image_id, nan, nan, nan, 0, 0, 0, 0)
    denom = tp[counted] + 0.5 * fp[counted] + 0.5 * fn[counted]
    iou = stats.iou[counted]
    sq = np.divide(iou, tp[counted], out=np.zeros(n), where=tp[counted] > 0)
    return ImagePQ(image_id, float((iou / denom).sum() / n), float(sq.sum() / n),
                   float((tp[counted] / denom).sum() / n), n, int(tp.sum()), int(fp.sum()), int(fn.sum()))


def build_result(categories: CategorySet, stats: PQStats, per_image: Sequence[ImagePQ] = (),
                 num_images: int = 0) -> PQResult:
    """Average per-category statistics exactly as panopticapi's ``PQStat.pq_average`` does."""
    per_class = []
    for k, cat in enumerate(categories):
        iou, tp, fp, fn = float(stats.iou[k]), int(stats.tp[k]), int(stats.fp[k]), int(stats.fn[k])
        if tp + fp + fn == 0:
            per_class.append(PQRow(cat.name, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0.0, cat.id, cat.isthing))
            continue
        # Same expressions as panopticapi, so the floating point results are identical.
        pq = iou / (tp + 0.5 * fp + 0.5 * fn)
        sq = iou / tp if tp != 0 else 0
        rq = tp / (tp + 0.5 * fp + 0.5 * fn)
        per_class.append(PQRow(cat.name, pq, float(sq), rq, 1, tp, fp, fn, iou, cat.id, cat.isthing))
    all_, things, stuff = (_group(name, [r for r in per_class if isthing is None or r.isthing == isthing])
                           for name, isthing in (("All", None), ("Things", True), ("Stuff", False)))
    return PQResult(all_, things, stuff, per_class=tuple(per_class), per_image=tuple(per_image),
                    num_images=num_images)


def _group(name: str, rows: Iterable[PQRow]) -> PQRow:
    pq = sq = rq = 0.0
    n = tp = fp = fn = 0
    iou = 0.0
    for r in rows:
        tp, fp, fn, iou = tp + r.tp, fp + r.fp, fn + r.fn, iou + r.iou
        if r.n == 0:
            continue
        n += 1
        pq += r.pq
        sq += r.sq
        rq += r.rq
    if n == 0:  # panopticapi divides by zero here
        nan = float("nan")
        return PQRow(name, nan, nan, nan, 0, tp, fp, fn, iou)
    return PQRow(name, pq / n, sq / n, rq / n, n, tp, fp, fn, iou)
