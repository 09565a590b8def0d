"""Scripted clicks from a true crack mask, as an annotator would place them.

The truth's centreline (scikit-image skeleton) is split into a main path (the longest path through
each connected piece) and its branches (what is left, traced from where it leaves the main path to
its far end). Every path is clicked at its two ends plus waypoints: ``k`` evenly spaced along it,
or one per bend (the corners of a Douglas-Peucker simplification).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

#: Paths shorter than this (px) are not clicked (a spur of the skeleton, not a branch).
MIN_PATH = 12
#: Pieces of the skeleton with fewer pixels are not clicked (1: every piece, a dot of a crack too).
MIN_PIECE = 1
#: Deviation (px) of the simplified polyline from the path that makes a corner a bend.
BEND_TOLERANCE = 6.0


def _graph(skel: np.ndarray):
    ys, xs = np.nonzero(skel)
    index = -np.ones(skel.shape, np.int64)
    index[ys, xs] = np.arange(len(ys))
    src, dst, wt = [], [], []
    h, w = skel.shape
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ny, nx = ys + dy, xs + dx
        ok = (ny < h) & (nx >= 0) & (nx < w)
        j = np.full(len(ys), -1)
        j[ok] = index[ny[ok], nx[ok]]
        ok &= j >= 0
        src.append(np.flatnonzero(ok))
        dst.append(j[ok])
        wt.append(np.full(int(ok.sum()), np.hypot(dy, dx)))
    src, dst, wt = np.concatenate(src), np.concatenate(dst), np.concatenate(wt)
    n = len(ys)
    g = coo_matrix((np.r_[wt, wt], (np.r_[src, dst], np.r_[dst, src])), shape=(n, n)).tocsr()
    return np.stack([ys, xs], 1), g


def _walk(pred: np.ndarray, end: int) -> list[int]:
    path = [end]
    while pred[path[-1]] >= 0:
        path.append(int(pred[path[-1]]))
    return path


def crack_paths(mask: np.ndarray) -> list[np.ndarray]:
    """Ordered centreline paths of a crack mask: ``[N, 2]`` int ``(y, x)`` each, main paths first."""
    from skimage.morphology import skeletonize

    skel = skeletonize(np.asarray(mask, bool))
    if not skel.any():
        return []
    pts, g = _graph(skel)
    n_comp, comp = connected_components(g, directed=False)
    mains, branches = [], []
    for c in range(n_comp):
        nodes = np.flatnonzero(comp == c)
        if len(nodes) < MIN_PIECE:
            continue
        d0 = dijkstra(g, indices=int(nodes[0]))
        a = int(nodes[np.argmax(np.where(np.isfinite(d0[nodes]), d0[nodes], -1))])
        da, pred = dijkstra(g, indices=a, return_predecessors=True)
        b = int(nodes[np.argmax(np.where(np.isfinite(da[nodes]), da[nodes], -1))])
        main = _walk(pred, b)[::-1]
        mains.append(pts[main])
        # Branches: skeleton pixels of this piece farther than 3 px from the main path.
        on_main = np.zeros(skel.shape, bool)
        on_main[pts[main, 0], pts[main, 1]] = True
        near = ndimage.distance_transform_edt(~on_main)[pts[nodes, 0], pts[nodes, 1]] <= 3.0
        rest = nodes[~near]
        if len(rest) == 0:
            continue
        sub = np.zeros(skel.shape, bool)
        sub[pts[rest, 0], pts[rest, 1]] = True
        lab, n_lab = ndimage.label(sub, np.ones((3, 3)))
        dm, predm, _ = dijkstra(g, indices=main, min_only=True, return_predecessors=True)
        for k in range(1, n_lab + 1):
            members = rest[lab[pts[rest, 0], pts[rest, 1]] == k]
            if len(members) < MIN_PATH:
                continue
            far = int(members[np.argmax(dm[members])])
            branches.append(pts[_walk(predm, far)[::-1]])
    return mains + branches


def clicks_along(path: np.ndarray, waypoints: int | str) -> list[tuple[float, float]]:
    """Clicks ``(x, y)`` (pixel centres) on an ordered ``(y, x)`` path: its ends plus ``waypoints``
    evenly spaced ones, or ``"bends"``: one per corner of the simplified path."""
    if waypoints == "bends":
        from skimage.measure import approximate_polygon

        chosen = approximate_polygon(path.astype(np.float64), BEND_TOLERANCE)
        pick = [tuple(p) for p in np.rint(chosen).astype(int)]
    else:
        step = np.hypot(*np.diff(path, axis=0).T)
        arc = np.r_[0.0, np.cumsum(step)]
        targets = np.linspace(0.0, arc[-1], int(waypoints) + 2)
        idx = np.searchsorted(arc, targets).clip(0, len(path) - 1)
        pick = [tuple(path[i]) for i in idx]
    out: list[tuple[float, float]] = []
    for y, x in pick:
        if not out or out[-1] != (x + 0.5, y + 0.5):
            out.append((x + 0.5, y + 0.5))
    return out
