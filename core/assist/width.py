"""A traced crack's width from the photo.

Two steps, because the sub-pixel estimator needs a mask of about the right width (it reads the
surface level just beyond the mask's edges):

1. ``provisional_width``: the full width at half depth of the darkness profile across the centre
   curve (median over the path, so pores and bright grains along it do not count), less the
   camera's blur, taken off in quadrature (``w = sqrt(fwhm^2 - BLUR_FWHM^2)``: widths of a line
   and of the blur add roughly so). Whole-pixel accurate at best.
2. For cracks at least ``PROFILE_FROM`` px wide, ``core.measure.profile_width.crack_width_px`` on
   a band of that width: the dip area of the grey profile over the crack interior's contrast,
   which blur does not change. Thinner cracks show no interior of their own, and that estimator's
   fall-back (the dip's own depth) reads them too wide: on generated photos with cracks of 1-5 px
   (``bench/bench_annotation.py``) it lowered the traced masks' mean IoU from 0.57 to 0.46, so
   there the provisional width stands, as it does when no profile is usable.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from core.assist.band import band_pixels, normals

#: Half-length (px) of the profile across the crack; a few pixels past the widest crack traced.
PROFILE_HALF = 8.0
#: Step (px) along the profile.
PROFILE_STEP = 0.25
#: Apparent full width at half depth (px) of a crack much thinner than a pixel on generated and
#: real photos: what the blur of lens, demosaicing and JPEG alone make of a line.
BLUR_FWHM = 2.7
#: Provisional width (px) from which the sub-pixel profile estimator is asked.
PROFILE_FROM = 2.5


def provisional_width(darkness: np.ndarray, curve: np.ndarray) -> float | None:
    """Width (px) of the dark line along ``curve``; None when there is no dark line there.

    Args:
        darkness: ``[h, w]`` float relative darkness (``cost.relative_darkness``).
        curve: ``[N, 2]`` float ``(y, x)`` centre curve in ``darkness``'s frame.
    """
    if len(curve) < 2:
        return None
    nrm = normals(curve)
    s = np.arange(-PROFILE_HALF, PROFILE_HALF + 1e-9, PROFILE_STEP)
    pts = curve[:, None, :] + s[None, :, None] * nrm[:, None, :]
    prof = ndimage.map_coordinates(darkness, pts.reshape(-1, 2).T, order=1, mode="nearest").reshape(len(curve), -1)
    # The texture's own darkness, read at both ends of each profile, is taken off first.
    edge = np.minimum(prof[:, :4].mean(1), prof[:, -4:].mean(1))
    prof = np.maximum(prof - edge[:, None], 0.0)
    c = len(s) // 2
    near = int(round(1.0 / PROFILE_STEP))  # the peak may sit up to a pixel off the curve
    peak = prof[:, c - near:c + near + 1].max(1)
    ok = peak > 0.02
    if not ok.any():
        return None
    above = prof[ok] >= 0.5 * peak[ok, None]
    # Only the run of samples above half depth that holds the centre belongs to this crack:
    # cumulative products stop at the first sample below half depth on each side.
    right = np.cumprod(above[:, c:], axis=1).sum(1)
    left = np.cumprod(above[:, :c + 1][:, ::-1], axis=1).sum(1)
    fwhm = np.maximum(left + right - 1, 1) * PROFILE_STEP
    f = float(np.median(fwhm))
    return float(np.sqrt(max(f * f - BLUR_FWHM ** 2, 0.0))) if f > BLUR_FWHM else 1.0


def crack_width(gray: np.ndarray, darkness: np.ndarray, curve: np.ndarray) -> float | None:
    """Sub-pixel width (px) of the crack along ``curve``; None when the photo shows no dark line.

    Args:
        gray: ``[h, w]`` luminance; darkness: its ``cost.relative_darkness``; curve: ``[N, 2]``
            float ``(y, x)`` centre curve, all in one frame.
    """
    from core.measure.profile_width import crack_width_px

    first = provisional_width(darkness, curve)
    if first is None:
        return None
    if first < PROFILE_FROM:
        return first
    pix = band_pixels(curve, max(int(round(first)), 1))
    h, w = gray.shape
    pix = pix[(pix[:, 0] >= 0) & (pix[:, 0] < h) & (pix[:, 1] >= 0) & (pix[:, 1] < w)]
    mask = np.zeros((h, w), bool)
    mask[pix[:, 0], pix[:, 1]] = True
    fine = crack_width_px(gray, mask)
    return first if fine is None else fine
