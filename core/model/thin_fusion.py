"""Panoptic assembly with the dense thin head: thin classes' segments are its connected components.

The thin head (``core.model.thin_head``) draws thin classes (cracks) per pixel at the input
resolution. One 8-connected component of a thin class's map, grown by hysteresis and with the
gaps of one crack bridged (``core.model.thin_bridge``), is one segment (one crack network, the
instance definition of docs/design.md), scored by the mean probability of its confident pixels,
so the confidence slider keeps or drops whole cracks exactly as it does query segments. A query's
thin segment that such a component overlaps (same category) is replaced by it: the pixels of its
ribbon the head does not confirm go to the nearest segment that is not being replaced, so a crack
drawn as a 4-px ribbon by the queries becomes the 2-px crack and the concrete around it. A
query's thin segment the head shows nothing of stays as the queries drew it: the model's word
stands where the head has no evidence (a head still learning, or a thin class it draws poorly).

Both the batch post-processor (``core.model.postprocess``, training-time evaluation) and the
re-thresholdable prediction (``core.inference.result``) call ``fuse_thin``, so they agree.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.model.thin_bridge import bridge_gaps
from core.model.thin_head import THIN_PIXEL_THRESHOLD
from core.panoptic import SOURCE_MODEL, Segment

#: The hysteresis' lower level (see ``thin_components``). Measured with bench/bench_crack_pixels.py
#: (the previous shipped model fine-tuned with the head at 384 px, 30 generated photos each of two
#: seeds, refined):
#: crack PQ 23.7 / 30.6 / 32.4 at 0.5 / 0.2 / 0.1 (seed 9101) and 14.9 / 15.1 / 18.5 at 0.3 / 0.2 /
#: 0.1 (seed 9301); 0.05 no better.
THIN_GROW_THRESHOLD = 0.1

#: A thin component whose bounding box's diagonal is shorter than this share of the input's longer
#: side is dropped: a crack is a line, and what the head draws that short is a pore, a stain or a
#: grain's shadow (see ``thin_components``).
MIN_EXTENT_FRACTION = 0.04


@dataclass(frozen=True)
class ThinComponents:
    """The thin head's segments at the input size, before any threshold.

    labels: ``[h, w]`` int32, component 1..n of each pixel (0: no thin class);
    category_ids: ``[n]`` int64 category id of each component; scores: ``[n]`` float32 mean
    probability of its pixels (the segment's score).
    """

    labels: np.ndarray
    category_ids: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def count_above(self, threshold: float) -> int:
        return int((self.scores > threshold).sum())


def thin_components(probs: np.ndarray, category_ids: Sequence[int], min_area: int = 4,
                    min_score: float = 0.0, grow: float | None = None, bridge: bool = True,
                    min_extent: float | None = None) -> ThinComponents:
    """Connected components of the thin head's map, by hysteresis.

    Args:
        probs: ``[T, h, w]`` probabilities in [0, 1] (float) or as uint8 0..255, one map per thin
            class (``category_ids[t]``).
        min_area: components of at most this many pixels are dropped (the post-processor's
            small-segment rule).
        min_score: components whose score is not above it are dropped (the lowest threshold a
            prediction is kept for).
        grow: the lower level of the hysteresis (default ``THIN_GROW_THRESHOLD``): a component is
            the 8-connected region of pixels above ``grow`` that holds at least one pixel above
            the pixel threshold (``THIN_PIXEL_THRESHOLD``). Why: along a crack that fades (a
            narrowing, a low-contrast stretch) the head's probability dips below 0.5 for a few
            pixels, and a single threshold cuts one crack into pieces: one true positive at best
            and false ones beside it. The region's extra width is trimmed to the photo's dark line
            by the full-resolution refinement (``core.inference.thin_refine``).
        bridge: pieces of one crack across a gap of a few pixels are joined
            (``core.model.thin_bridge``).
        min_extent: components whose bounding box has a diagonal under this share of ``max(h, w)``
            are dropped (default ``MIN_EXTENT_FRACTION``; after bridging, so a crack in pieces counts
            whole). Why: on real concrete the head marks pores, stains and grains in short flecks;
            a crack is a line with an extent.
    A component's score is the mean probability of its pixels above the pixel threshold (its
    confident core), so the weak pixels that join pieces do not lower it. A pixel above ``grow``
    for several classes belongs to the most probable one.
    """
    import cv2
    from scipy import ndimage

    probs = np.asarray(probs)
    scale = 255.0 if probs.dtype == np.uint8 else 1.0
    grow = THIN_GROW_THRESHOLD if grow is None else min(grow, THIN_PIXEL_THRESHOLD)
    t, h, w = probs.shape
    shortest = (MIN_EXTENT_FRACTION if min_extent is None else min_extent) * max(h, w)
    labels = np.zeros((h, w), np.int32)
    cats: list[int] = []
    scores: list[float] = []
    if t == 0:
        return ThinComponents(labels, np.zeros(0, np.int64), np.zeros(0, np.float32))
    best = probs.argmax(0)
    top = np.take_along_axis(probs, best[None], 0)[0].astype(np.float32) / scale
    on = top > grow
    core = top > THIN_PIXEL_THRESHOLD
    for k in range(t):
        mask = (on & (best == k)).astype(np.uint8)
        if not mask.any():
            continue
        n, comp = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_32S)
        strong = core.ravel()
        confident = np.bincount(comp.ravel(), weights=strong, minlength=n) > 0
        confident[0] = False
        comp = np.where(confident[comp], comp, 0)  # weak regions without a confident pixel: no crack
        if bridge:
            comp = bridge_gaps(comp, n)
        flat = comp.ravel()
        area = np.bincount(flat, minlength=n)
        core_area = np.bincount(flat, weights=strong, minlength=n)
        core_sum = np.bincount(flat, weights=top.ravel() * strong, minlength=n)
        boxes = ndimage.find_objects(comp, max_label=n - 1)  # boxes[c - 1]: component c's slices
        lut = np.zeros(n, np.int32)  # component of this class -> component number overall (0: dropped)
        for c in range(1, n):
            if core_area[c] == 0 or area[c] <= min_area or _diagonal(boxes[c - 1]) < shortest:
                continue
            score = float(core_sum[c] / core_area[c])
            if score <= min_score:
                continue
            cats.append(int(category_ids[k]))
            scores.append(score)
            lut[c] = len(scores)
        here = comp > 0
        labels[here] = lut[comp[here]]
    return ThinComponents(labels, np.asarray(cats, np.int64), np.asarray(scores, np.float32))


def _diagonal(box: tuple[slice, slice] | None) -> float:
    """Diagonal in px of a bounding box from ``ndimage.find_objects`` (0 for an absent label)."""
    if box is None:
        return 0.0
    return float(np.hypot(box[0].stop - box[0].start, box[1].stop - box[1].start))


def fuse_thin(labels: np.ndarray, segments: dict[int, Segment], components: ThinComponents, threshold: float,
              thin_category_ids: Sequence[int]) -> tuple[np.ndarray, dict[int, Segment]]:
    """The thin head's components above ``threshold`` painted over the query-made ``labels``.

    Args:
        labels: ``[h, w]`` segment ids at the input size (0: void), ``segments`` their table.
        thin_category_ids: categories the thin head draws: query segments of these that a
            component of their category overlaps are replaced.
    Returns ``([h, w] int32 ids, {id: Segment})``: the other segments keep their ids (minus
    any pixels the thin components take), components get ids after the largest one.
    """
    out = labels.astype(np.int32, copy=True)
    thin_ids = set(int(c) for c in thin_category_ids)
    live = np.flatnonzero(components.scores > threshold) + 1  # component labels that stay
    painted = np.isin(components.labels, live) if len(live) else np.zeros(out.shape, bool)
    # (query segment, component) pairs that share a pixel; a thin segment goes when one of its
    # own category covers part of it.
    touching = set(zip(out[painted].tolist(), components.labels[painted].tolist()))
    confirmed = {sid for sid, comp in touching
                 if sid in segments and segments[sid].category_id in thin_ids
                 and segments[sid].category_id == int(components.category_ids[comp - 1])}
    kept = {sid: seg for sid, seg in segments.items() if sid not in confirmed}
    vacant = np.isin(out, sorted(confirmed)) if confirmed else np.zeros(out.shape, bool)
    vacant &= ~painted
    if vacant.any():
        # Each vacated pixel takes the id of the nearest pixel of a segment that stays.
        out[vacant] = nearest_outside(out, vacant | painted)[vacant]
    first = max(kept, default=0) + 1
    new_id = np.zeros(len(components) + 1, np.int32)  # component -> its segment id
    new_id[live] = np.arange(first, first + len(live))
    out[painted] = new_id[components.labels[painted]]
    for comp, sid in zip(live, new_id[live]):
        kept[int(sid)] = Segment(int(sid), int(components.category_ids[comp - 1]), False, SOURCE_MODEL,
                                 float(components.scores[comp - 1]))
    next_id = first + len(live)
    present = np.bincount(out.ravel(), minlength=next_id)
    return out, {sid: seg for sid, seg in kept.items() if present[sid] > 0}


def nearest_outside(labels: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """``[h, w]`` the label (of ``labels``, same shape) of the nearest pixel outside the bool mask
    ``inside``, for every pixel (outside pixels keep their own); all 0 when nothing is outside.
    How pixels given up by a thin segment go back to the surface around it, here and in the
    full-resolution refinement (``core.inference.thin_refine``)."""
    import cv2

    sources = ~inside
    if not sources.any():
        return np.zeros(labels.shape, labels.dtype)
    # DIST_LABEL_PIXEL numbers the zero pixels of the input 1..n in raster order.
    _, nearest = cv2.distanceTransformWithLabels(inside.astype(np.uint8), cv2.DIST_L2, 5,
                                                 labelType=cv2.DIST_LABEL_PIXEL)
    return np.concatenate([[0], labels[sources]]).astype(labels.dtype)[nearest]
