"""From a traced pixel path to a crack mask of a given width, centred on the crack's dark middle.

A minimal-cost path runs through pixel centres, a staircase up to half a pixel off the crack's
real centre line, and an even-width crack has its centre *between* two pixel rows. So the mask is
not the path dilated: the path is first made a smooth sub-pixel curve (each point moved along the
normal to the darkness peak found by a parabola through three samples across the path, then a
short moving average), and the mask is every pixel whose centre lies in the band ``[-width / 2, width / 2)`` across that
curve (offsets measured from the nearest point of the curve, sampled every half pixel). A 2-px crack therefore
gets two rows, on the side where it really is, and a 45-degree crack gets the same perpendicular
width as a level one.

Coordinates: paths are ``[N, 2]`` int ``(y, x)`` pixel indices in order; pixel indices are
centre coordinates (pixel ``(y, x)`` has its centre at ``(y, x)`` here).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Half-length (points) of the moving average that smooths the path's pixel staircase.
SMOOTH_HALF = 3
#: Half-length (points) of the window over which a tangent is measured.
TANGENT_HALF = 3


def _moving_average(a: np.ndarray, half: int) -> np.ndarray:
    """Moving average along axis 0 over ``2 * half + 1`` points (``[N]`` or ``[N, k]``); the ends
    repeat the first and last value, so a curve keeps its end points' place."""
    a = np.asarray(a, np.float64)
    if len(a) < 2 * half + 1 or half < 1:
        return a
    cols = a[:, None] if a.ndim == 1 else a
    k = np.ones(2 * half + 1) / (2 * half + 1)
    pad = np.pad(cols, ((half, half), (0, 0)), mode="edge")
    out = np.stack([np.convolve(pad[:, j], k, "valid") for j in range(cols.shape[1])], 1)
    return out[:, 0] if a.ndim == 1 else out


def normals(curve: np.ndarray) -> np.ndarray:
    """``[N, 2]`` unit normals ``(ny, nx)`` of a ``[N, 2]`` float ``(y, x)`` curve (left of travel)."""
    n = len(curve)
    if n < 2:
        return np.tile(np.array([[1.0, 0.0]]), (n, 1))
    i = np.arange(n)
    t = curve[np.minimum(i + TANGENT_HALF, n - 1)] - curve[np.maximum(i - TANGENT_HALF, 0)]
    norm = np.hypot(t[:, 0], t[:, 1])
    t = np.where(norm[:, None] > 1e-9, t / np.maximum(norm, 1e-9)[:, None], np.array([0.0, 1.0]))
    return np.stack([t[:, 1], -t[:, 0]], 1)


def centre_curve(path: np.ndarray, darkness: np.ndarray | None) -> np.ndarray:
    """Sub-pixel centre line of a pixel path: ``[N, 2]`` float ``(y, x)``.

    Args:
        path: ``[N, 2]`` int ``(y, x)``, in the frame of ``darkness``.
        darkness: ``[h, w]`` float, larger = darker (e.g. ``cost.relative_darkness``); None keeps
            the path where it is (only smoothed).
    """
    p = path.astype(np.float64)
    if darkness is not None and len(p) >= 2:
        nrm = normals(p)
        samples = [ndimage.map_coordinates(darkness, (p + s * nrm).T, order=1, mode="nearest")
                   for s in (-1.0, 0.0, 1.0)]
        dm, d0, dp = samples
        curv = dm - 2 * d0 + dp
        # Vertex of the parabola through the three samples; only where d0 is a real peak.
        off = np.where(curv < -1e-6, 0.5 * (dm - dp) / np.where(curv < -1e-6, curv, -1.0), 0.0)
        off = _moving_average(np.clip(off, -0.5, 0.5), SMOOTH_HALF)
        p = p + off[:, None] * nrm
    return _moving_average(p, SMOOTH_HALF)


def unique_pixels(pix: np.ndarray) -> np.ndarray:
    """``[M, 2]`` int64 ``(y, x)`` rows of ``pix`` without repeats, in ``np.unique(axis=0)``'s
    order (by y, then x): one 1-D sort of packed indices, several times faster than the row sort
    (a crack across a 24 MP photo has some 10^5 candidates)."""
    if len(pix) == 0:
        return pix.reshape(0, 2)
    lo = pix.min(0)
    span = int(pix[:, 1].max() - lo[1]) + 1
    packed = np.unique((pix[:, 0] - lo[0]) * span + (pix[:, 1] - lo[1]))
    return np.stack([packed // span + lo[0], packed % span + lo[1]], 1)


def band_pixels(curve: np.ndarray, width: int) -> np.ndarray:
    """Pixels of a band ``width`` px wide around a sub-pixel curve.

    Args:
        curve: ``[N, 2]`` float ``(y, x)``; width: >= 1.
    Returns:
        ``[M, 2]`` int64 unique ``(y, x)`` (may lie outside any image: the caller clips).
    """
    if len(curve) == 0:
        return np.zeros((0, 2), np.int64)
    # Resample at half-pixel steps along the curve so that no pixel between two points is missed.
    seg = np.hypot(*np.diff(curve, axis=0).T) if len(curve) > 1 else np.zeros(0)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    if arc[-1] > 0:
        s = np.linspace(0.0, arc[-1], int(np.ceil(arc[-1] / 0.5)) + 1)
        dense = np.stack([np.interp(s, arc, curve[:, 0]), np.interp(s, arc, curve[:, 1])], 1)
        nrm = normals(curve)
        nrm = np.stack([np.interp(s, arc, nrm[:, 0]), np.interp(s, arc, nrm[:, 1])], 1)
        nrm /= np.maximum(np.hypot(nrm[:, 0], nrm[:, 1]), 1e-9)[:, None]
    else:
        dense, nrm = curve[:1], np.array([[1.0, 0.0]])
    w = max(int(width), 1)
    # Candidates: every pixel near a sample of a slightly wider band...
    across = np.arange(-w / 2.0 - 0.5, w / 2.0 + 0.51, 0.5)
    pts = dense[:, None, :] + across[None, :, None] * nrm[:, None, :]
    cand = unique_pixels(np.rint(pts.reshape(-1, 2)).astype(np.int64))
    # ...kept when their centre's offset across the curve (from the nearest curve sample) lies in
    # [-w/2, w/2): half-open, so a band on a pixel row boundary gets exactly w rows.
    from scipy.spatial import cKDTree

    _, k = cKDTree(dense).query(cand.astype(np.float64))
    off = ((cand - dense[k]) * nrm[k]).sum(1)
    return cand[(off >= -w / 2.0 - 1e-9) & (off < w / 2.0 - 1e-9)]


def rasterise(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``[H, W]`` bool mask of ``[M, 2]`` ``(y, x)`` pixels, those outside ``shape`` dropped."""
    mask = np.zeros(shape, bool)
    if len(pixels):
        ok = (pixels[:, 0] >= 0) & (pixels[:, 0] < shape[0]) & (pixels[:, 1] >= 0) & (pixels[:, 1] < shape[1])
        mask[pixels[ok, 0], pixels[ok, 1]] = True
    return mask
