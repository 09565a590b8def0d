"""Generated (ground truth, prediction) pairs for the evaluation tests, and panopticapi runners.

Images are tiny (40 x 56) so that every scenario runs in milliseconds. Each scenario returns a list
of ``(gt, pred)`` PanopticAnnotation pairs; segment tables are in id order, which is the order a
COCO panoptic export writes them (crowd handling depends on that order).
"""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np

from core.categories import default_categories
from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic
from core.panoptic import PanopticAnnotation, Segment

CATS = default_categories()
CRACK, SPALLING, REBAR, CONCRETE, BACKGROUND = 1, 2, 3, 4, 5
H, W = 40, 56


class Painter:
    """Builds an annotation by painting rectangles; the first segment (id 1) is concrete stuff."""

    def __init__(self, h: int = H, w: int = W, fill: int | None = CONCRETE, id_base: int = 0):
        self.id_map = np.zeros((h, w), np.int32)
        self.segments: dict[int, Segment] = {}
        self.id_base = id_base
        if fill is not None:
            self.id_map[:] = self.add(fill)

    @staticmethod
    def of(ann: PanopticAnnotation) -> Painter:
        p = Painter(*ann.shape, fill=None)
        p.id_map = ann.id_map.copy()
        p.segments = dict(ann.segments)
        return p

    def add(self, cat: int, crowd: bool = False, score: float | None = 0.9) -> int:
        seg_id = max(self.segments, default=self.id_base) + 1
        self.segments[seg_id] = Segment(seg_id, cat, iscrowd=crowd, score=score)
        return seg_id

    def rect(self, y0, y1, x0, x1, cat: int, crowd: bool = False, score: float | None = 0.9) -> int:
        seg_id = self.add(cat, crowd, score)
        self.id_map[y0:y1, x0:x1] = seg_id
        return seg_id

    def paint(self, y0, y1, x0, x1, seg_id: int) -> None:
        self.id_map[y0:y1, x0:x1] = seg_id

    def relabel(self, seg_id: int, cat: int) -> None:
        s = self.segments[seg_id]
        self.segments[seg_id] = Segment(s.id, cat, s.iscrowd, s.source, s.score)

    def build(self) -> PanopticAnnotation:
        ann = PanopticAnnotation(self.id_map.copy(), dict(sorted(self.segments.items())))
        return ann.pruned()


def _pair(gt: Painter, pred: Painter) -> tuple[PanopticAnnotation, PanopticAnnotation]:
    return gt.build(), pred.build()


def _base() -> Painter:
    """Concrete with a background strip, two cracks, a spalling patch, a rebar bar."""
    g = Painter()
    g.rect(0, 8, 0, W, BACKGROUND)
    g.rect(12, 15, 4, 30, CRACK)
    g.rect(20, 23, 10, 50, CRACK)
    g.rect(26, 36, 30, 44, SPALLING)
    g.rect(30, 33, 2, 24, REBAR)
    return g


# --- scenarios -------------------------------------------------------------------------------------
def perfect():
    g = _base()
    return [_pair(g, Painter.of(g.build()))]


def shifted():
    g = _base()
    out = []
    for dy, dx in ((0, 2), (1, 3), (2, 0), (5, 5)):  # small shifts match, large ones do not
        p = Painter.of(g.build())
        p.id_map = np.roll(p.id_map, (dy, dx), axis=(0, 1))
        out.append(_pair(g, p))
    return out


def eroded():
    import cv2

    g = _base()
    p = Painter.of(g.build())
    things = np.isin(p.id_map, [k for k, s in p.segments.items() if CATS.by_id(s.category_id).isthing])
    kept = cv2.erode(things.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    p.id_map[things & ~kept] = 1  # eroded pixels become concrete
    return [_pair(g, p)]


def split_and_merged():
    g = _base()
    p = Painter.of(g.build())
    # crack 3 (x 4..30) split 70/30: the large part still matches, the small one is a FP
    p.rect(12, 15, 22, 30, CRACK)
    # crack 4 (x 10..50) split in halves: neither half exceeds IoU 0.5 -> FN + 2 FP
    p.rect(20, 23, 30, 50, CRACK)
    g2 = _base()
    p2 = Painter.of(g2.build())
    p2.paint(15, 20, 4, 50, 3)  # the two cracks and the gap between merged into one segment
    p2.paint(20, 23, 10, 50, 3)
    return [_pair(g, p), _pair(g2, p2)]


def exact_half_iou():
    g = Painter()
    g.rect(10, 14, 10, 20, CRACK)       # 40 pixels
    p = Painter()
    p.rect(10, 14, 10, 15, CRACK)       # 20 of them: IoU exactly 0.5 -> no match
    g2 = Painter()
    g2.rect(10, 14, 10, 20, CRACK)
    p2 = Painter()
    p2.rect(10, 14, 10, 16, CRACK)      # IoU 0.6 -> match
    return [_pair(g, p), _pair(g2, p2)]


def wrong_class():
    g = _base()
    p = Painter.of(g.build())
    p.relabel(3, SPALLING)
    p.relabel(2, CONCRETE)  # background strip called concrete: stuff confusion
    return [_pair(g, p)]


def missed_and_hallucinated():
    g = _base()
    p = Painter.of(g.build())
    p.id_map[p.id_map == 4] = 1            # second crack missed
    p.id_map[p.id_map == 6] = 1            # rebar missed
    p.rect(2, 6, 40, 52, SPALLING)        # hallucinated on the background strip
    p.rect(36, 40, 0, 6, CRACK)           # hallucinated on concrete
    return [_pair(g, p)]


def void_regions():
    g = _base()
    g.paint(0, 40, 0, 6, 0)                # void stripe on the left
    g.paint(36, 40, 0, 56, 0)              # and at the bottom
    p = Painter.of(_base().build())        # the prediction labels the void too
    p.rect(36, 40, 10, 20, SPALLING)       # entirely on void: ignored
    p.rect(34, 40, 20, 26, CRACK)          # 4 of 6 rows on void: ignored
    p.rect(32, 36, 46, 52, CRACK)          # 2 of 4 rows on void (exactly half): a FP
    return [_pair(g, p)]


def crowd_regions():
    g = Painter()
    c1 = g.rect(2, 12, 2, 20, CRACK, crowd=True)
    g.rect(2, 12, 30, 50, CRACK, crowd=True)  # the *last* crack crowd is the one panopticapi uses
    g.rect(20, 30, 2, 20, SPALLING, crowd=True)
    g.rect(32, 36, 30, 50, CRACK)
    p = Painter()
    p.rect(2, 12, 2, 20, CRACK)            # exactly on the first crowd: still a FP (not the last)
    p.rect(3, 11, 32, 48, CRACK)           # inside the last crack crowd: ignored
    p.rect(20, 30, 2, 12, REBAR)           # on a spalling crowd but another class: FP
    p.rect(22, 28, 12, 18, SPALLING)       # inside the spalling crowd: ignored
    p.rect(32, 36, 30, 50, CRACK)          # TP
    assert c1 == 2
    return [_pair(g, p)]


def stuff_only():
    g = Painter()
    g.rect(0, 20, 0, W, BACKGROUND)
    p = Painter()
    p.rect(0, 14, 0, W, BACKGROUND)        # IoU 14/20 -> match; concrete 20/26 -> match
    g2 = Painter()
    g2.rect(0, 30, 0, W, BACKGROUND)
    p2 = Painter(fill=BACKGROUND)          # all background: concrete missed
    return [_pair(g, p), _pair(g2, p2)]


def empty_images():
    g = Painter(fill=None)
    p = Painter(fill=None)
    g2 = Painter(fill=None)
    p2 = Painter(fill=None)
    p2.rect(5, 10, 5, 10, CRACK)           # prediction on an all-void image: ignored
    g3 = Painter(fill=None)
    g3.rect(5, 15, 5, 25, CRACK)
    p3 = Painter(fill=None)                # nothing predicted: one FN
    return [_pair(g, p), _pair(g2, p2), _pair(g3, p3)]


def absent_from_gt():
    g = Painter()
    g.rect(5, 10, 5, 30, CRACK)
    p = Painter.of(g.build())
    p.rect(20, 30, 20, 30, REBAR)          # rebar never appears in any GT: its RQ is 0, N counts it
    return [_pair(g, p)]


def large_ids():
    """COCO-style colour ids (up to 2**24 - 1) take the compacting code path."""
    g = _base()
    p = Painter.of(g.build())
    p.id_map = np.roll(p.id_map, (1, 2), axis=(0, 1))
    gt, pred = _pair(g, p)
    rng = np.random.default_rng(7)

    def recode(ann):
        new = {k: int(v) for k, v in zip(ann.segments, rng.choice(2 ** 24 - 1, len(ann.segments), replace=False) + 1)}
        lut_ids = np.array(sorted(new)), np.array([new[k] for k in sorted(new)])
        m = ann.id_map.copy()
        for old, nid in zip(*lut_ids):
            m[ann.id_map == old] = nid
        segs = {new[k]: Segment(new[k], s.category_id, s.iscrowd, s.source, s.score) for k, s in ann.segments.items()}
        return PanopticAnnotation(m, dict(sorted(segs.items())))
    return [(recode(gt), recode(pred))]


def random_pairs(seed: int, n: int = 6, h: int = H, w: int = W):
    """Random blobs, then a prediction perturbed by shifts, drops, relabels, merges and additions."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        g = Painter(h, w)
        g.rect(0, int(rng.integers(0, h // 2)), 0, w, BACKGROUND)
        for _ in range(int(rng.integers(0, 7))):
            y, x = int(rng.integers(0, h - 4)), int(rng.integers(0, w - 4))
            g.rect(y, y + int(rng.integers(2, 14)), x, x + int(rng.integers(2, 20)), int(rng.integers(1, 4)),
                   crowd=bool(rng.random() < 0.15))
        if rng.random() < 0.5:
            y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
            g.paint(y, y + int(rng.integers(1, 12)), x, x + int(rng.integers(1, 20)), 0)
        gt = g.build()
        p = Painter.of(gt)
        p.segments = {k: Segment(k, s.category_id, score=float(rng.random())) for k, s in p.segments.items()}
        p.segments.setdefault(1, Segment(1, CONCRETE, score=0.5))  # dropped segments become concrete
        p.id_map = np.roll(p.id_map, (int(rng.integers(-2, 3)), int(rng.integers(-2, 3))), axis=(0, 1))
        for k in list(p.segments):
            r = rng.random()
            if r < 0.1 and k != 1:
                p.id_map[p.id_map == k] = 1                         # dropped
            elif r < 0.2 and CATS.by_id(p.segments[k].category_id).isthing:
                p.relabel(k, int(rng.integers(1, 4)))             # wrong thing class
        for _ in range(int(rng.integers(0, 3))):
            y, x = int(rng.integers(0, h - 2)), int(rng.integers(0, w - 2))
            p.rect(y, y + int(rng.integers(2, 10)), x, x + int(rng.integers(2, 16)), int(rng.integers(1, 4)),
                   score=float(rng.random()))
        if rng.random() < 0.3:
            p.id_map[p.id_map == 0] = 1                              # void predicted as concrete
        out.append((gt, p.build()))
    return out


SCENARIOS = {
    "perfect": perfect, "shifted": shifted, "eroded": eroded, "split_and_merged": split_and_merged,
    "exact_half_iou": exact_half_iou, "wrong_class": wrong_class,
    "missed_and_hallucinated": missed_and_hallucinated, "void_regions": void_regions,
    "crowd_regions": crowd_regions, "stuff_only": stuff_only, "empty_images": empty_images,
    "absent_from_gt": absent_from_gt, "large_ids": large_ids,
}


def coco_style(pairs, seed: int = 0):
    """The same pairs with every segment renumbered to a distinct random 24-bit colour, as COCO's
    panoptic sets and panopticapi's converters number them."""
    rng = np.random.default_rng(seed)

    def recode(ann: PanopticAnnotation) -> PanopticAnnotation:
        old = list(ann.segments)
        new = [int(v) for v in rng.choice(2 ** 24 - 1, len(old), replace=False) + 1]
        keys = np.array([0] + old)
        order = np.argsort(keys)
        values = np.array([0] + new, np.int64)[order]
        pos = np.searchsorted(keys[order], ann.id_map)
        id_map = values[np.minimum(pos, len(keys) - 1)].astype(np.int32)
        segs = {n: Segment(n, s.category_id, s.iscrowd, s.source, s.score) for n, s in zip(new, ann.segments.values())}
        return PanopticAnnotation(id_map, dict(sorted(segs.items())))  # id order, as exports write them

    return [(recode(g), recode(p)) for g, p in pairs]


# --- files and the reference -----------------------------------------------------------------------
def write_pairs(folder: Path, pairs) -> tuple[Path, Path]:
    """Write GT and predictions as two COCO panoptic datasets; returns (gt json, pred json)."""
    folder = Path(folder)
    gt_json, pred_json = folder / "gt.json", folder / "pred.json"
    for json_path, k in ((gt_json, 0), (pred_json, 1)):
        records = [PanopticRecord(i + 1, f"img_{i:04d}.jpg", p[k].shape[1], p[k].shape[0], p[k])
                   for i, p in enumerate(pairs)]
        write_coco_panoptic(json_path, json_path.with_suffix(""), records, CATS)
    return gt_json, pred_json


def reference_stats(gt_json: Path, pred_json: Path):
    """panopticapi's own per-image code in this process (no Pool): returns its PQStat."""
    from panopticapi.evaluation import pq_compute_single_core

    gt, pred = json.loads(Path(gt_json).read_text()), json.loads(Path(pred_json).read_text())
    preds = {a["image_id"]: a for a in pred["annotations"]}
    pairs = [(a, preds[a["image_id"]]) for a in gt["annotations"]]
    categories = {c["id"]: c for c in gt["categories"]}
    with contextlib.redirect_stdout(io.StringIO()):
        stat = pq_compute_single_core(0, pairs, str(gt_json.with_suffix("")), str(pred_json.with_suffix("")),
                                      categories)
    return stat, categories


def reference_pq_compute(gt_json: Path, pred_json: Path):
    """The reference end to end (multiprocessing.Pool, its prints captured).

    pq_compute never closes its Pool; it is closed here so no worker outlives the test.
    """
    import multiprocessing
    import multiprocessing.pool
    from unittest import mock

    from panopticapi.evaluation import pq_compute

    pools = []

    def pool(*args, **kwargs):
        pools.append(multiprocessing.pool.Pool(*args, **kwargs))
        return pools[-1]

    buf = io.StringIO()
    try:
        with mock.patch.object(multiprocessing, "Pool", pool), contextlib.redirect_stdout(buf):
            result = pq_compute(str(gt_json), str(pred_json))
    finally:
        for p in pools:  # close + join: terminate can hang while a worker is still sending a result
            p.close()
            p.join()
    return result, buf.getvalue()
