"""Drawing a panoptic annotation over its photo at full size, for people to look at.

One renderer serves the synthetic-data previews, prediction pictures and anything else drawn at
the photo's own size: category colours blended in, every segment outlined, and the helpers that
place and ink a text label. (The inspection report draws at a reduced size and so averages masks
down before tinting them: ``core.report.overlay``, which uses ``ink_colour`` from here.)
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.categories import CategorySet
from core.panoptic import PanopticAnnotation

#: How much darker than its fill a segment's outline is drawn.
OUTLINE_SHADE = 0.55


def tint(rgb: np.ndarray, ann: PanopticAnnotation, categories: CategorySet, alpha: float = 0.5) -> np.ndarray:
    """``rgb`` ``[H, W, 3]`` uint8 blended with category colours at ``alpha``, every segment
    outlined in its darkened colour; void stays unblended. Returns ``[H, W, 3]`` uint8."""
    sem = ann.semantic()
    lut = np.zeros((max(categories.ids + [int(sem.max())]) + 1, 3), np.float32)
    for c in categories:
        lut[c.id] = c.color
    colour = lut[sem]
    a = np.where(sem > 0, np.float32(alpha), np.float32(0.0))[..., None]
    out = rgb.astype(np.float32) * (1 - a) + colour * a
    # Instance outlines: the inner boundary pixels of every segment in its class colour, darkened
    # and opaque, so touching instances separate and 1-px cracks stay visible (not all outline).
    ids = ann.id_map
    edge = np.zeros(ids.shape, bool)
    edge[:, 1:] |= ids[:, 1:] != ids[:, :-1]
    edge[:, :-1] |= ids[:, 1:] != ids[:, :-1]
    edge[1:, :] |= ids[1:, :] != ids[:-1, :]
    edge[:-1, :] |= ids[1:, :] != ids[:-1, :]
    edge &= sem > 0
    out[edge] = colour[edge] * OUTLINE_SHADE
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def label_anchor(mask: np.ndarray) -> tuple[int, int] | None:
    """``(x, y)`` of the pixel of ``mask`` (``[h, w]`` bool) farthest from its border, or None:
    a label placed there sits on the segment, where a curved crack's centroid often does not."""
    import cv2

    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    y0, x0 = ys.min(), xs.min()
    crop = np.pad(mask[y0:ys.max() + 1, x0:xs.max() + 1], 1).astype(np.uint8)
    dist = cv2.distanceTransform(crop, cv2.DIST_L2, 3)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x0 + x - 1), int(y0 + y - 1)


def ink_colour(background: Sequence[float], cutoff: float = 140.0) -> tuple[int, int, int]:
    """Black or white text, whichever reads on ``background`` (RGB): by its luma (ITU-R 601)."""
    luma = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    return (0, 0, 0) if luma > cutoff else (255, 255, 255)
