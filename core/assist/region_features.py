"""The per-pixel features the region grower compares (``core.assist.region``): roughness, and
the picture GrabCut works on. Arrays are at the grower's working size."""
from __future__ import annotations

import cv2
import numpy as np

#: Roughness: blur (working px) before the gradient, and the window (sigma) it is averaged over.
GRAIN_SIGMA = 1.5
TEXTURE_SIGMA = 6.0
#: GrabCut's picture (``feature_image``): lightness blurred by this sigma (working px) ...
GRABCUT_LIGHT_SIGMA = 1.0
#: ... and roughness, scaled to 8 bits by this factor per unit of its log.
GRABCUT_TEXTURE_SCALE = 50.0


def roughness(light: np.ndarray) -> np.ndarray:
    """``[h, w]`` float32 log of the local mean gradient magnitude of ``light`` (L of Lab, 0-100).

    The gradient is taken after a blur of ``GRAIN_SIGMA`` (sensor noise and the fine grain of sound
    concrete fade; the bumps of broken concrete and aggregate stay) and averaged over a Gaussian
    window of ``TEXTURE_SIGMA``. On generated photos it is about 5 times higher in spalls than on
    the concrete around them; the log makes that ratio a fixed distance at any light level.
    """
    g = cv2.GaussianBlur(light, (0, 0), GRAIN_SIGMA)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    return np.log(cv2.GaussianBlur(np.hypot(gx, gy), (0, 0), TEXTURE_SIGMA) + 0.1)


def feature_image(lab: np.ndarray, rough: np.ndarray) -> np.ndarray:
    """``[h, w, 3]`` uint8 picture for GrabCut: lightness, roughness, yellow-blue.

    GrabCut models colours with Gaussian mixtures and cuts where neighbouring pixels differ; fed
    the photo, it sees a spall's floor (dark pits, lit stones) and the concrete around as the
    same few colours and grows into the concrete or drops the lit parts. With roughness in place
    of a colour channel, the floor is one rough texture against smooth concrete. Lab ``lab``
    ``[h, w, 3]`` float32, ``rough`` ``[h, w]`` float32 (``roughness``).
    """
    light = cv2.GaussianBlur(lab[..., 0], (0, 0), GRABCUT_LIGHT_SIGMA) * 2.55
    yellow = cv2.GaussianBlur(lab[..., 2], (0, 0), GRABCUT_LIGHT_SIGMA) * 3.0 + 128.0
    texture = (rough + 2.5) * GRABCUT_TEXTURE_SCALE  # log gradient energy is about -2.3 .. 3
    return np.clip(np.stack([light, texture, yellow], 2), 0, 255).astype(np.uint8)
