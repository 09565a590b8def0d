"""The crack interior's contrast, fitted to a crack's aligned grey profiles.

A crack ``w`` px wide whose interior is ``d`` (a fraction of the surface's grey) darker than the
surface, seen through a Gaussian blur of ``sigma`` px (optics, the sensor's pixel and the
bilinear sampling together), has the relative dip profile

    dip(s) = d * [Phi((s - c + w/2) / sigma) - Phi((s - c - w/2) / sigma)]

whose area is ``w * d`` whatever the blur. The area is measured, so ``w = area / d`` and one
crack's profiles, grouped by apparent width, share two unknowns: ``d`` and ``sigma``. They are
fitted jointly (``scipy.optimize.least_squares``) to the mean profile of each group, each aligned
on its dip's centroid. A crack at least about two blur sigmas wide somewhere along its length
shows a flat-bottomed dip there, and the fit pins ``d`` down; a crack thinner than the blur
everywhere only shows ``w * d`` (a narrower, darker crack looks the same), the fitted ``d`` is
uncertain: ``fit_contrast`` says so (``identified`` False) so that the caller can use another
source for ``d``, and returns the range of contrasts the profiles allow about as well as the best
one, and its geometric middle.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.special import ndtr

#: Blur range the fit may choose from (px, effective: optics + pixel + interpolation).
SIGMA_BOUNDS = (0.05, 3.0)
#: The contrast is identified when moving it by PROBE (relative) and refitting the rest raises
#: the squared residuals by more than MIN_RISE (relative): a sharp minimum, not a valley.
PROBE = 0.15
MIN_RISE = 0.5
#: Contrasts tried (log-spaced from the shallowest possible to black) when one is not identified.
RANGE_STEPS = 12
#: Groups of samples of similar apparent width whose mean profiles are fitted.
N_GROUPS = 6


@dataclass(frozen=True)
class ContrastFit:
    """Result of ``fit_contrast``: contrast ``d`` (0..1 of the surface grey), blur ``sigma``
    (px, optics only), ``rel_se`` about the relative uncertainty of ``d``, ``identified`` whether
    ``d`` is pinned down by the profiles (else it is the geometric middle of ``allowed``, the
    range of contrasts that fit about as well)."""

    contrast: float
    sigma: float
    rel_se: float
    identified: bool
    allowed: tuple[float, float] | None = None


_FINE = 0.1  # px, grid of the model's numerical convolution
# Pixel integration (a box 1 px wide) then bilinear interpolation (a triangle 2 px wide) make a
# quadratic B-spline 3 px wide: the part of the blur the photo's sampling adds to the optics'.
_N1 = round(1 / _FINE)
_B2 = np.convolve(np.ones(_N1), np.convolve(np.ones(_N1), np.ones(_N1)))
_B2 /= _B2.sum()


def dip_model(s: np.ndarray, d: float, sigma: float, w: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``[B, M]`` relative dip at offsets ``s`` of ``B`` cracks of widths ``w`` centred at ``c``,
    through a Gaussian blur ``sigma`` and the pixel's and the interpolation's own smoothing."""
    half = float(np.max(np.abs(s))) + 3.0
    fine = np.arange(-half, half + _FINE / 2, _FINE)
    x = fine[None, :]
    prof = d * (ndtr((x + w[:, None] / 2) / sigma) - ndtr((x - w[:, None] / 2) / sigma))
    prof = ndimage.convolve1d(prof, _B2, axis=1, mode="constant")
    out = np.empty((len(w), len(s)))
    for i in range(len(w)):
        out[i] = np.interp(s - c[i], fine, prof[i])
    return out


def aligned_groups(rel_dip: np.ndarray, s: np.ndarray, area: np.ndarray, points: np.ndarray,
                   step: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean profile and mean area of up to ``N_GROUPS`` consecutive stretches of the crack.

    Stretches, not groups by measured width: sorting noisy profiles by their own width would
    make equal stretches look different and fake the width changes that pin the contrast down.

    Args:
        rel_dip: ``[N, M]`` relative dips (zero outside each one's core window) at offsets ``s``;
        area: ``[N]`` relative areas; points: ``[N, 2]`` their centreline positions;
        step: ``s`` spacing.
    Returns:
        ``[B, M]`` mean profiles each shifted so its samples' centroids sit at 0, ``[B]`` areas.
    """
    pos = np.clip(rel_dip, 0, None)
    centroid = (pos * s[None, :]).sum(1) / np.maximum(pos.sum(1), 1e-12)
    rows = np.repeat(np.arange(len(rel_dip))[:, None], len(s), 1)
    cols = np.arange(len(s))[None, :] + centroid[:, None] / step
    shifted = ndimage.map_coordinates(rel_dip, [rows.ravel(), cols.ravel()], order=1,
                                      mode="constant").reshape(rel_dip.shape)
    p = points.astype(np.float64) - points.mean(0)
    axis = np.linalg.svd(p, full_matrices=False)[2][0] if len(p) > 1 else np.array([1.0, 0.0])
    order = np.argsort(p @ axis)  # along the crack's main direction
    groups = [g for g in np.array_split(order, min(N_GROUPS, max(1, len(order) // 8))) if len(g)]
    return (np.stack([shifted[g].mean(0) for g in groups]), np.array([area[g].mean() for g in groups]))


def fit_contrast(profiles: np.ndarray, areas: np.ndarray, s: np.ndarray, *,
                 min_contrast: float) -> ContrastFit:
    """Fit the shared contrast and blur to ``[B, M]`` aligned mean relative dips with ``[B]`` areas.

    Args:
        min_contrast: the deepest relative dip seen (the interior is at least that dark).
    """
    from scipy.optimize import least_squares

    # Each group is centred on its centroid, and the model is symmetric: no centre to fit. Only
    # the offsets where some profile is non-zero (the core windows) carry information.
    span = np.flatnonzero(np.abs(profiles).sum(0) > 0)
    if span.size:
        profiles, s = profiles[:, span[0]:span[-1] + 1], s[span[0]:span[-1] + 1]
    zero = np.zeros(len(profiles))
    # The interior is at least as dark as the deepest averaged dip, less what noise adds to it.
    lo_d = max(0.8 * min_contrast, float(np.max(areas)) / (np.ptp(s) + 1e-9), 1e-4)

    def resid(p: np.ndarray) -> np.ndarray:
        return (dip_model(s, p[0], p[1], areas / p[0], zero) - profiles).ravel()

    lo = np.array([lo_d, SIGMA_BOUNDS[0]])
    hi = np.array([1.0, SIGMA_BOUNDS[1]])
    fits = [least_squares(resid, np.clip(np.array([d_start, s_start]), lo + 1e-9, hi - 1e-9), bounds=(lo, hi),
                          x_scale="jac")
            for d_start, s_start in ((float(profiles.max()), 0.8), (float(profiles.max()) * 1.3, 0.3))]
    # Two starts (a broad and a sharp blur): the better one, a NaN cost never winning.
    fit = min(fits, key=lambda f: f.cost if np.isfinite(f.cost) else np.inf)
    if not np.isfinite(fit.cost):
        return ContrastFit(float(np.median(profiles.max(1))), float("nan"), float("inf"), False)
    d, sigma = float(fit.x[0]), float(fit.x[1])
    cost = float(fit.fun @ fit.fun)
    rise = np.inf
    for f in (1.0 - PROBE, 1.0 + PROBE):
        df = float(np.clip(d * f, lo[0], hi[0]))
        if df == d:
            continue
        probe = least_squares(lambda p, df=df: resid(np.array([df, p[0]])), fit.x[1:],
                              bounds=(lo[1:], hi[1:]), x_scale="jac")
        rise = min(rise, float(probe.fun @ probe.fun) / max(cost, 1e-18) - 1.0)
    rel_se = PROBE / np.sqrt(max(rise, 1e-12))  # a quadratic minimum's relative half-width
    if rise >= MIN_RISE and d < hi[0] * 0.999:
        return ContrastFit(d, sigma, float(rel_se), True)
    # Not pinned down: the contrasts the profiles allow about as well as the best one (squared
    # residuals within MIN_RISE of it, the blur refitted for each) span a range; a thin crack's
    # reaches from its dip's own depth to black. The geometric middle of that range halves the
    # worst ratio to the truth over it.
    grid = np.exp(np.linspace(np.log(lo[0]), np.log(hi[0]), RANGE_STEPS))
    allowed = []
    for dg in grid:
        g = least_squares(lambda p, dg=dg: resid(np.array([dg, p[0]])), [sigma], bounds=(lo[1:], hi[1:]),
                          x_scale="jac")
        if float(g.fun @ g.fun) <= (1.0 + MIN_RISE) * max(cost, 1e-18):
            allowed.append(dg)
    if not allowed:
        allowed = [d]
    d_lo, d_hi = min(min(allowed), d), max(max(allowed), d)
    return ContrastFit(float(np.sqrt(d_lo * d_hi)), sigma, float(rel_se), False, (d_lo, d_hi))
