"""Gap bridging: pieces of one crack the thin head drew apart, joined into one crack again.

Where a crack narrows, crosses a low-contrast patch or meets a wider dark stretch, the thin head's
map can drop to nothing for a few pixels, and its connected components (``core.model.thin_fusion``)
then cut one crack into pieces: at best one true positive and false ones beside it. Hysteresis
joins dips; this joins gaps. Two pieces of the same class are one crack when one of them *ends*
within ``max_gap`` px of the other and the gap continues its course: the end's own direction
(principal axis of the piece's pixels within ``reach`` px of the end) points across the gap
(|cos| >= ``min_alignment``). The piece on the other side needs no end there: a crack that runs
into another one is a branch of it, one network. Two cracks side by side (parallel, each
passing the other) are not joined, because neither points at the other where they are closest.

The joined pieces get the pixels of a straight 1-px line across the gap, so the crack is one
8-connected network (the instance definition of docs/design.md); the full-resolution refinement
(``core.inference.thin_refine``) then redraws it along the photo.
"""
from __future__ import annotations

import numpy as np

#: Largest gap (px at the network's input size, ~384: 5 % of it) bridged. Measured with
#: bench/bench_crack_pixels.py (the 384-px thin-head fine-tuning, two seeds of 30 generated photos, crack
#: PQ): no bridging 32.4 / 18.5, 12 px 34.2 / 19.2, 20 px 34.2 / 23.7, 28 px 34.1 / 24.3.
MAX_GAP = 20
#: How far back from an end (px) the piece's direction is taken.
REACH = 10
#: |cos| between the end's direction and the gap: 0.8 is 37 degrees.
MIN_ALIGNMENT = 0.8


def bridge_gaps(comp: np.ndarray, n: int, max_gap: int = MAX_GAP, reach: int = REACH,
                min_alignment: float = MIN_ALIGNMENT) -> np.ndarray:
    """Join pieces of one crack (``comp``: ``[h, w]`` int32 components 1..n-1 of one class, 0
    elsewhere) into one; returns the new ``[h, w]`` labels (joined pieces share the lowest label
    of their group, bridge pixels included) or ``comp`` itself when nothing was joined."""
    import cv2

    if n <= 2 or max_gap <= 0:
        return comp
    parent = list(range(n))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    h, w = comp.shape
    bridges: list[tuple[tuple[int, int], tuple[int, int]]] = []
    pts_of = {c: np.argwhere(comp == c) for c in range(1, n)}
    for a in range(1, n):
        pa_all = pts_of[a]
        if len(pa_all) < 3:
            continue
        # Distance from every pixel to piece a, and which pixel of a is nearest.
        inside = (comp != a).astype(np.uint8)
        dist, nearest = cv2.distanceTransformWithLabels(inside, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
        # DIST_LABEL_PIXEL numbers the zero pixels (piece a) 1..k in raster order.
        order = np.flatnonzero(inside.ravel() == 0)
        for b in range(1, n):
            if b == a or root(a) == root(b):
                continue
            pb_all = pts_of[b]
            if not len(pb_all):  # a label left without pixels (a weak region dropped before)
                continue
            d = dist[pb_all[:, 0], pb_all[:, 1]]
            i = int(d.argmin())
            if d[i] > max_gap:
                continue
            pb = pb_all[i]
            flat = order[nearest[pb[0], pb[1]] - 1]
            pa = np.array(divmod(int(flat), w))
            if _ends_toward(pa_all, pa, pb, reach, min_alignment):
                parent[root(b)] = root(a)
                bridges.append(((int(pa[1]), int(pa[0])), (int(pb[1]), int(pb[0]))))
    if not bridges:
        return comp
    lut = np.array([0] + [min(c for c in range(1, n) if root(c) == root(k)) for k in range(1, n)], np.int32)
    out = lut[comp]
    for p, q in bridges:
        line = np.zeros((h, w), np.uint8)
        cv2.line(line, p, q, 1, 1, lineType=cv2.LINE_8)
        out[(line > 0) & (out == 0)] = lut[comp[p[1], p[0]]]
    return out


def _ends_toward(points: np.ndarray, end: np.ndarray, target: np.ndarray, reach: int, min_alignment: float) -> bool:
    """Whether the piece ``points`` (``[k, 2]`` row, col) ends at ``end`` and its course there
    points at ``target`` across the gap."""
    gap = (target - end).astype(np.float64)
    length = float(np.hypot(*gap))
    if length < 1.0:
        return True  # touching: one network already by 8-connectivity rules
    near = points[np.hypot(*(points - end).T) <= reach].astype(np.float64)
    if len(near) < 3:
        return False
    offsets = near - near.mean(0)
    # The piece's local direction: principal axis of its pixels near the end.
    _, vecs = np.linalg.eigh(offsets.T @ offsets)
    axis = vecs[:, -1]
    if abs(float(axis @ gap)) / length < min_alignment:
        return False
    # An end, not a flank: the piece lies behind ``end``, on the side away from the gap.
    return float((near.mean(0) - end) @ gap) < 0
