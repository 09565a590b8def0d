"""Keep a redrawn crack in one piece: the full-resolution refinement's gaps closed again.

The refinement (``core.inference.thin_refine``) redraws a thin segment along the photo's dark
line and gives the rest of the model's ribbon back to the surface. Where the line fades for a
few pixels (a junction, a pore the crack runs through, a lighter patch), the redrawn crack falls
into pieces: one segment in the list, but no longer one 8-connected network, so a branch hangs
detached from its crack and the instance definition (docs/design.md, "Crack networks") no
longer holds. Here each refined segment's pieces within ``max_gap`` px of each other are joined
again by the straight 1-px line between their nearest pixels, painted only over the segment's
own coarse pixels, stuff or void (never over another instance). Pieces farther apart stay apart:
the model drew them apart, or the photo showed a long stretch without a crack.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def reconnect_pieces(ids: np.ndarray, coarse: np.ndarray, segment_ids: Iterable[int], paintable: np.ndarray,
                     max_gap: float) -> list[int]:
    """Join the pieces of each of ``segment_ids`` in ``ids`` (``[H, W]`` int32, in place).

    Args:
        coarse: ``[H, W]`` the ids before the refinement (a line may cross the segment's own
            coarse pixels whatever they hold now).
        paintable: bool lookup over segment ids: ids a joining line may paint over (stuff, void).
        max_gap: largest gap (px) joined.
    Returns the ids of the segments that were joined.
    """
    import cv2
    from scipy import ndimage
    from scipy.spatial import cKDTree

    joined = []
    boxes = ndimage.find_objects(ids)
    h, w = ids.shape
    pad = int(np.ceil(max_gap)) + 1
    for sid in segment_ids:
        if sid <= 0 or sid > len(boxes) or boxes[sid - 1] is None:
            continue
        ys, xs = boxes[sid - 1]
        ys = slice(max(0, ys.start - pad), min(h, ys.stop + pad))
        xs = slice(max(0, xs.start - pad), min(w, xs.stop + pad))
        crop = ids[ys, xs]
        n, pieces = cv2.connectedComponents((crop == sid).astype(np.uint8), connectivity=8)
        if n <= 2:
            continue
        sizes = np.bincount(pieces.ravel(), minlength=n)
        order = [int(p) for p in np.argsort(-sizes[1:]) + 1]
        network = np.argwhere(pieces == order[0])
        may_paint = (paintable[np.minimum(crop, len(paintable) - 1)] & (crop < len(paintable))) | (
            coarse[ys, xs] == sid) | (crop == sid)
        changed = False
        for p in order[1:]:
            pts = np.argwhere(pieces == p)
            dist, idx = cKDTree(network).query(pts, distance_upper_bound=max_gap)
            best = int(np.argmin(dist))
            if not np.isfinite(dist[best]):
                continue
            a, b = pts[best], network[idx[best]]
            line = np.zeros(crop.shape, np.uint8)
            cv2.line(line, (int(a[1]), int(a[0])), (int(b[1]), int(b[0])), 1, 1, lineType=cv2.LINE_8)
            on = (line > 0) & may_paint
            if not on[line > 0].all():
                continue  # the shortest way crosses another instance: leave the pieces apart
            crop[on] = sid
            network = np.concatenate([network, pts, np.argwhere(on)])
            changed = True
        if changed:
            joined.append(int(sid))
    return joined
