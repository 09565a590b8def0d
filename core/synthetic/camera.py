"""What the phone does to the scene: perspective, blur, exposure and colour, noise, sharpening, JPEG.

Geometry (the perspective warp) is applied to the picture and its id map together - bilinear for
the picture, nearest for the ids - so the truth stays exact for the pixels that come out.
Everything after that only changes the picture.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from core.synthetic.texture import white


@dataclass(frozen=True)
class CameraConfig:
    """How strong the camera effects may be; each photo draws its own values within these bounds.

    Attributes:
        perspective_probability: share of photos taken at an angle to the surface.
        perspective_strength: the largest inward shift of a corner, as a fraction of the side.
        blur_sigma: (min, max) Gaussian defocus in px at 1024 px (scaled with the photo size).
        motion_blur_probability: share of photos shaken while taken.
        noise_sigma: (min, max) sensor noise, as a fraction of full scale.
        sharpen_probability: share of photos over-sharpened, as phone cameras do.
        jpeg_probability: share of photos passed through JPEG compression.
        jpeg_quality: (min, max) quality of that compression.
    """

    perspective_probability: float = 0.6
    perspective_strength: float = 0.12
    blur_sigma: tuple[float, float] = (0.0, 1.2)
    motion_blur_probability: float = 0.08
    noise_sigma: tuple[float, float] = (0.003, 0.025)
    sharpen_probability: float = 0.3
    jpeg_probability: float = 0.7
    jpeg_quality: tuple[int, int] = (55, 95)


def perspective(rng: np.random.Generator, img: np.ndarray, ids: np.ndarray, strength: float,
                thin_ids: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """View the scene at an angle: the full output frame samples a random quadrilateral *inside*
    the scene, so no border is ever invented. Returns ``(img [H, W, 3] float32, ids [H, W] int32)``.

    ``thin_ids``: segments 1-2 px wide (cracks). Nearest sampling of a line that the warp shrinks
    drops pixels from it and breaks it into pieces, while the bilinear picture still shows one
    unbroken line; so these segments also take every output pixel their bilinear-warped mask
    covers by at least a quarter, each pixel going to the nearest of them.
    """
    h, w = ids.shape
    dst = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    jitter = rng.uniform(0.0, strength, (4, 2)) * np.array([w, h], np.float32)
    src = dst + jitter * np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float32)
    m = cv2.getPerspectiveTransform(dst, src.astype(np.float32))  # output -> scene
    flags = cv2.WARP_INVERSE_MAP
    img = cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR | flags, borderMode=cv2.BORDER_REPLICATE)
    thin = np.isin(ids, np.asarray(thin_ids, ids.dtype)) if len(thin_ids) else None
    ids = cv2.warpPerspective(ids, m, (w, h), flags=cv2.INTER_NEAREST | flags, borderMode=cv2.BORDER_REPLICATE)
    if thin is not None and thin.any():
        cover = cv2.warpPerspective(thin.astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR | flags,
                                    borderMode=cv2.BORDER_REPLICATE)
        kept = np.isin(ids, np.asarray(thin_ids, ids.dtype))
        add = (cover >= 0.25) & ~kept
        if add.any() and kept.any():
            from scipy import ndimage

            # The nearest thin pixel that nearest sampling kept names each added pixel.
            _, (iy, ix) = ndimage.distance_transform_edt(~kept, return_indices=True)
            ids[add] = ids[iy[add], ix[add]]
    return img, ids


def _motion_kernel(rng: np.random.Generator, length: int) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2.0
    a = rng.uniform(0, np.pi)
    dx, dy = np.cos(a) * c, np.sin(a) * c
    cv2.line(k, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1.0, 1, cv2.LINE_AA)
    return k / max(float(k.sum()), 1e-6)


def _tone_curve(gamma: float) -> np.ndarray:
    return np.clip(255.0 * (np.arange(256) / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)


def develop(rng: np.random.Generator, img: np.ndarray, config: CameraConfig) -> np.ndarray:
    """Blur, expose, colour-balance, add noise, quantise, sharpen and compress.

    Args:
        img: ``[H, W, 3]`` float32 RGB scene radiance, nominally in [0, 1].
    Returns:
        ``[H, W, 3]`` uint8 RGB, the photo as a phone would store it.
    """
    h, w = img.shape[:2]
    size_scale = max(min(h, w) / 1024.0, 0.35)
    sigma = rng.uniform(*config.blur_sigma) * size_scale
    if sigma >= 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < config.motion_blur_probability:
        img = cv2.filter2D(img, -1, _motion_kernel(rng, int(rng.integers(3, 7)) * max(1, int(size_scale))))
    # Exposure and white balance, sensor noise (luminance at full resolution, chroma blotchier)
    # and quantisation to 8 bits, folded into as few full-image passes as possible.
    # White balance errs along the amber-blue axis (colour temperature), barely along green-magenta.
    temp, tint = rng.normal(0.0, 0.03), rng.normal(0.0, 0.006)
    gain = rng.uniform(0.85, 1.15) * np.array([1.0 + temp, 1.0 + tint, 1.0 - temp]) * 255.0
    sd = rng.uniform(*config.noise_sigma) * 255.0
    lum_noise = white(rng, (h, w))
    lum_noise *= np.float32(sd)
    lum_noise += np.float32(0.5)  # rounds to nearest in the conversion to 8 bits
    chroma = white(rng, ((h + 1) // 2, (w + 1) // 2, 3)) * np.float32(sd * 0.5)
    img = np.multiply(img, gain.astype(np.float32), out=img if img.flags.writeable else None)
    img += cv2.resize(chroma, (w, h), interpolation=cv2.INTER_LINEAR)
    img += lum_noise[..., None]
    np.clip(img, 0.0, 255.0, out=img)
    out = cv2.LUT(img.astype(np.uint8), _tone_curve(rng.uniform(0.85, 1.15)))
    if rng.random() < config.sharpen_probability:
        soft = cv2.GaussianBlur(out, (0, 0), 1.0 * max(size_scale, 1.0))
        amount = rng.uniform(0.3, 0.8)
        out = cv2.addWeighted(out, 1.0 + amount, soft, -amount, 0)
    if rng.random() < config.jpeg_probability:
        q_lo, q_hi = config.jpeg_quality
        quality = int(rng.integers(q_lo, q_hi + 1))
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
            assert decoded is not None, "OpenCV decodes the JPEG it has just encoded"
            out = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(out)
