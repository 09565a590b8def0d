"""Photos of single cracks of known width, for testing and benchmarking width estimators.

A crack is a band of exact width (``width_px``, any real number, sub-pixel too) along a straight
segment or a circular arc, drawn anti-aliased by supersampling (each photo pixel is the mean of
``supersample`` x ``supersample`` sub-pixels, as a sensor integrates light over its pixel), then
blurred (Gaussian, optics), shaded (a linear light gradient multiplying the whole photo), noised
(Gaussian, sensor) and optionally JPEG-compressed, in that order, as a camera would.

Masks of the same crack come with it, from the geometry: exact (pixel centres within the band,
never thinner than one pixel so a sub-pixel crack still has a mask), wider by ``k`` px on each
side, or shifted sideways by ``k`` px, which is how a brush or a model gets a thin crack wrong.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class CrackScene:
    """One rendered crack.

    Attributes:
        image: ``[H, W]`` uint8 grey photo.
        width_px: the true width; contrast: grey levels between surface and crack interior
            before shading.
        signed_distance: ``[H, W]`` float64 signed distance (px) of each pixel centre from the
            crack's centre line (sign: side of the line), NaN beyond the crack's ends.
    """

    image: np.ndarray
    width_px: float
    contrast: float
    signed_distance: np.ndarray

    def mask(self, wider: float = 0.0, shift: float = 0.0) -> np.ndarray:
        """``[H, W]`` bool mask: the band, ``wider`` px wider on each side, ``shift`` px sideways."""
        half = max(self.width_px / 2.0, 0.5) + wider
        d = self.signed_distance - shift
        return np.nan_to_num(np.abs(d), nan=np.inf) <= half


def _geometry(yy: np.ndarray, xx: np.ndarray, size: tuple[int, int], kind: str, angle_deg: float,
              length: float, radius: float) -> np.ndarray:
    """Signed distance from the centre line at points ``(yy, xx)``; NaN beyond the ends."""
    h, w = size
    cy, cx = h / 2.0 + 0.13, w / 2.0 + 0.29  # off the grid: no symmetry with the pixel lattice
    if kind == "straight":
        t = np.deg2rad(angle_deg)
        along = (xx - cx) * np.cos(t) - (yy - cy) * np.sin(t)
        across = (xx - cx) * np.sin(t) + (yy - cy) * np.cos(t)
        return np.where(np.abs(along) <= length / 2.0, across, np.nan)
    if kind == "curved":
        # An arc of ``radius`` through the photo's centre, its circle centre off to one side.
        t = np.deg2rad(angle_deg)
        ocy, ocx = cy + radius * np.cos(t), cx + radius * np.sin(t)
        r = np.hypot(yy - ocy, xx - ocx)
        phi = np.arctan2(yy - ocy, xx - ocx)
        phi0 = np.arctan2(cy - ocy, cx - ocx)
        dphi = np.angle(np.exp(1j * (phi - phi0)))
        return np.where(np.abs(dphi) * radius <= length / 2.0, r - radius, np.nan)
    raise ValueError(f"unknown crack kind {kind!r} (straight, curved)")


def render_crack(width_px: float, *, size: tuple[int, int] = (128, 128), kind: str = "straight",
                 angle_deg: float = 30.0, length: float | None = None, radius: float = 90.0,
                 background: float = 160.0, contrast: float = 60.0, blur_sigma: float = 0.5,
                 noise_sigma: float = 2.0, shading: float = 0.0, jpeg_quality: int | None = None,
                 supersample: int = 8, seed: int = 0) -> CrackScene:
    """Render one crack (see the module docstring).

    Args:
        width_px: true width (px), > 0.
        size: ``(H, W)`` of the photo.
        kind: ``"straight"`` (a segment at ``angle_deg``) or ``"curved"`` (an arc of ``radius``).
        length: crack length along its centre line (px); default 70 % of the smaller side.
        background, contrast: surface grey and how much darker the crack's interior is.
        blur_sigma: Gaussian blur (px of the photo); noise_sigma: Gaussian noise (grey levels).
        shading: relative brightness change across the photo (0.3: from 0.85x to 1.15x).
        jpeg_quality: JPEG-compress at this quality (OpenCV), None for none.
        supersample: sub-pixels per photo pixel and axis.
        seed: noise seed.
    """
    import cv2

    if width_px <= 0:
        raise ValueError("width_px must be > 0")
    h, w = size
    length = 0.7 * min(h, w) if length is None else length
    f = supersample
    sub = (np.arange(f) + 0.5) / f - 0.5  # sub-pixel centres within a pixel
    yy = (np.arange(h)[:, None] + sub[None, :]).reshape(-1)
    xx = (np.arange(w)[:, None] + sub[None, :]).reshape(-1)
    sd = _geometry(yy[:, None], xx[None, :], size, kind, angle_deg, length, radius)
    inside = np.nan_to_num(np.abs(sd), nan=np.inf) <= width_px / 2.0
    coverage = inside.reshape(h, f, w, f).mean((1, 3))
    img = background - contrast * coverage
    if blur_sigma > 0:
        img = ndimage.gaussian_filter(img, blur_sigma, mode="nearest")
    if shading:
        ramp = np.linspace(1.0 - shading / 2.0, 1.0 + shading / 2.0, w)[None, :]
        ramp = ramp * np.linspace(1.0 + shading / 4.0, 1.0 - shading / 4.0, h)[:, None]
        img = img * ramp
    if noise_sigma > 0:
        img = img + np.random.default_rng(seed).normal(0.0, noise_sigma, img.shape)
    img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    if jpeg_quality is not None:
        _ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
        img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    centres = _geometry(np.arange(h, dtype=float)[:, None], np.arange(w, dtype=float)[None, :], size, kind,
                        angle_deg, length, radius)
    return CrackScene(img, float(width_px), float(contrast), centres)
