"""Keep a redrawn crack in one piece: the full-resolution refinement's gaps closed again.

The refinement (``core.inference.thin_refine``) redraws a thin segment along the photo's dark
line and gives the rest of the model's ribbon back to the surface. Where the line fades for a
few pixels (a junction, a pore the crack runs through, a lighter patch), the redrawn crack falls
into pieces: one segment in the list, but no longer one 8-connected network, so a branch hangs
detached from its crack and the instance definition (docs/design.md, "Crack networks") no
longer holds. Here the pieces of each refined segment that lie on one connected part of the
model's own mask (the model drew them as one crack, its gaps bridged at assembly by
``core.model.thin_bridge``) are joined again by the straight 1-px line between their nearest
pixels, painted only over the segment's own coarse pixels, stuff or void (never over another
instance). Pieces on parts the model drew apart stay apart.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def reconnect_pieces(ids: np.ndarray, coarse: np.ndarray, segment_ids: Iterable[int],
                     paintable: np.ndarray) -> list[int]:
    """Join the pieces of each of ``segment_ids`` in ``ids`` (``[H, W]`` int32, in place) that the
    model had connected.

    Args:
        coarse: ``[H, W]`` the ids before the refinement: pieces lying on one 8-connected part of
            the segment's coarse mask are joined, whatever the gap (the model drew them as one
            crack: the refinement must not cut what the model connected); pieces on different
            parts stay apart.
        paintable: bool lookup over every id in ``ids``: ids a joining line may paint over (stuff,
            void).
    Returns the ids of the segments that were joined.
    """
    import cv2
    from scipy import ndimage
    from scipy.spatial import cKDTree

    joined = []
    boxes = ndimage.find_objects(ids)
    for sid in segment_ids:
        if sid <= 0 or sid > len(boxes) or boxes[sid - 1] is None:
            continue
        ys, xs = boxes[sid - 1]
        crop = ids[ys, xs]
        n, pieces = cv2.connectedComponents((crop == sid).astype(np.uint8), connectivity=8)
        if n <= 2:
            continue
        own = coarse[ys, xs] == sid
        _, parts = cv2.connectedComponents(own.astype(np.uint8), connectivity=8)
        # Each piece belongs to the coarse part most of its pixels lie on (0: none).
        on_part = np.bincount(pieces[own] * (int(parts.max()) + 1) + parts[own],
                              minlength=n * (int(parts.max()) + 1)).reshape(n, -1)
        on_part[:, 0] = 0
        part_of = np.where(on_part.any(1), on_part.argmax(1), 0)
        sizes = np.bincount(pieces.ravel(), minlength=n)
        may_paint = paintable[crop] | own | (crop == sid)
        changed = False
        for part in set(part_of[1:].tolist()) - {0}:
            members = [p for p in np.argsort(-sizes) if p > 0 and part_of[p] == part]
            network = np.argwhere(pieces == members[0])
            for p in members[1:]:
                pts = np.argwhere(pieces == p)
                dist, idx = cKDTree(network).query(pts)
                best = int(np.argmin(dist))
                a, b = pts[best], network[idx[best]]
                line = np.zeros(crop.shape, np.uint8)
                cv2.line(line, (int(a[1]), int(a[0])), (int(b[1]), int(b[0])), 1, 1, lineType=cv2.LINE_8)
                drawn = line > 0
                if not may_paint[drawn].all():
                    continue  # the shortest way crosses another instance: leave the pieces apart
                crop[drawn] = sid
                network = np.concatenate([network, pts, np.argwhere(drawn)])
                changed = True
        if changed:
            joined.append(int(sid))
    return joined
