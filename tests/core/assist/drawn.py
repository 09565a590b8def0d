"""Drawn test photos: a crack of known width and path, a rough patch on smooth concrete."""
from __future__ import annotations

import cv2
import numpy as np


def concrete(shape=(240, 320), seed=0, level=170.0, noise=6.0) -> np.ndarray:
    """``[H, W, 3]`` uint8 grey surface with a soft mottle and sensor noise."""
    rng = np.random.default_rng(seed)
    mottle = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 12)
    mottle *= 8.0 / max(float(mottle.std()), 1e-6)
    g = level + mottle + rng.normal(0, noise, shape)
    return np.repeat(np.clip(g, 0, 255)[..., None], 3, 2).astype(np.uint8)


def draw_crack(rgb: np.ndarray, points_xy, width: int, depth: float = 0.55) -> np.ndarray:
    """Darken a polyline ``width`` px wide (exact even widths too) into ``rgb`` in place, blurred
    like a camera; returns the ``[H, W]`` bool truth mask."""
    pts = np.asarray(points_xy, np.int32)
    # Drawn at 4x and reduced: exact band width at any angle, like the scene integrated by a sensor.
    big = np.zeros((rgb.shape[0] * 4, rgb.shape[1] * 4), np.uint8)
    cv2.polylines(big, [pts * 4 + 2], False, 255, max(int(width * 4), 1), cv2.LINE_AA)
    cover = cv2.resize(big.astype(np.float32) / 255.0, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_AREA)
    mask = cover >= 0.5
    dark = cv2.GaussianBlur(cover, (0, 0), 0.7)
    rgb[:] = np.clip(rgb * (1.0 - depth * dark[..., None]), 0, 255).astype(np.uint8)
    return mask


def draw_patch(rgb: np.ndarray, centre_xy, axes, angle=20.0, seed=1, hole=False) -> np.ndarray:
    """A darker, rough (stony) elliptic patch; ``hole``: with a bright smooth blob inside (a
    stone the region must still include). Returns the ``[H, W]`` bool truth (the whole patch)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(rgb.shape[:2], np.uint8)
    cv2.ellipse(mask, tuple(int(v) for v in centre_xy), tuple(int(v) for v in axes), angle, 0, 360, 1, -1)
    m = mask.astype(bool)
    bumps = cv2.GaussianBlur(rng.normal(0, 1, m.shape).astype(np.float32), (0, 0), 2.5)
    bumps *= 28.0 / max(float(bumps.std()), 1e-6)
    tone = np.where(m, 0.6, 1.0)[..., None] * rgb + np.where(m, bumps, 0)[..., None]
    tone[..., 0] += np.where(m, 12, 0)  # a brownish floor
    if hole:
        inner = np.zeros_like(mask)
        cv2.circle(inner, tuple(int(v) for v in centre_xy), max(int(min(axes) // 3), 3), 1, -1)
        tone[inner.astype(bool)] = 235
    rgb[:] = np.clip(tone, 0, 255).astype(np.uint8)
    return m
