"""The cost of walking along a pixel for the crack tracer: low on a crack's dark centre, high elsewhere.

A crack is an opening in shadow: darker than the concrete right beside it, and darkest in its
middle. The cost is built from that *relative* darkness only, with fixed-size filters and no
statistic of the whole window, so a pixel costs the same whatever window it is computed in (a
preview window around the last click and the window of two clicks give the same path):

* ``g``: the photo's luminance, lightly smoothed (sensor noise and JPEG blocks);
* ``bg``: the concrete around it, a grey-level closing of ``g`` (a closing fills dark structures
  narrower than its disk, i.e. the crack, and keeps everything wider: shading, stains, spalls);
* ``d = (bg - g) / bg``: how much darker than its surroundings a pixel is (0 on plain concrete,
  about 0.2-0.8 inside a crack), independent of the light level;
* ``cost = FLOOR + exp(-d / DARK_SCALE)``: a pixel 30 % darker than its surroundings is ~50 times
  cheaper than plain concrete, so the minimal path follows a crack round its bends instead of
  cutting across, and the darkest line (the centre) is the cheapest of all.
"""
from __future__ import annotations

import cv2
import numpy as np

#: Diameter (px) of the closing that estimates the concrete around a crack: cracks up to about
#: this wide are seen as cracks. Wider dark bands (a crack of a 24 MP close-up) still trace along
#: their edges' darkness, and the user's clicks keep the path on them.
BACKGROUND_DISK = 15
#: Relative darkness that divides the cost by e.
DARK_SCALE = 0.06
#: Cost of the darkest pixel; keeps a path through a long dark stretch from being free.
FLOOR = 0.01
#: Margin (px) a window needs around it so that filters at its edge see what they would inside.
FILTER_MARGIN = BACKGROUND_DISK // 2 + 4
#: ... and the filters' full reach (the first blur's 3 px, the closing's two disk radii, the
#: second blur's 8 px, rounded up): a window this much wider gives exactly the same darkness.
EXACT_MARGIN = 32
#: Side (px) of the tiles ``darkness_near`` works in.
TILE = 256


def luminance(rgb: np.ndarray) -> np.ndarray:
    """``[h, w]`` float32 luminance (Rec. 601) of an ``[h, w, 3]`` uint8 RGB image."""
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)


def crack_cost(gray: np.ndarray) -> np.ndarray:
    """Per-pixel walking cost of ``gray`` (``[h, w]`` float32 luminance, 0-255).

    Returns:
        ``[h, w]`` float64, in ``(FLOOR, FLOOR + 1]``. Pixels within ``FILTER_MARGIN`` of the
        array's edge see a mirrored neighbourhood; callers pad windows by that margin.
    """
    return FLOOR + np.exp(-relative_darkness(gray).astype(np.float64) / DARK_SCALE)


def relative_darkness(gray: np.ndarray) -> np.ndarray:
    """``[h, w]`` float32 ``d`` of the module docstring (the cost before the exponential)."""
    g = cv2.GaussianBlur(gray.astype(np.float32, copy=False), (0, 0), 0.8)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (BACKGROUND_DISK, BACKGROUND_DISK))
    bg = cv2.morphologyEx(g, cv2.MORPH_CLOSE, disk, borderType=cv2.BORDER_REFLECT)
    # A light blur of the background removes the closing's flat plateaus, which would otherwise
    # make the darkness (and the path) jump at their borders.
    bg = cv2.GaussianBlur(bg, (0, 0), 2.0)
    return np.clip((bg - g) / np.maximum(bg, 8.0), 0.0, 1.0)


def darkness_near(rgb: np.ndarray, box, points: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Luminance and ``relative_darkness`` of the window ``box`` of ``rgb``, computed only near
    ``points``: what a long trace needs at 24 MP without filtering the whole photo.

    A crack across the photo has a box of the whole photo, while its width and centre are read
    within a few px of its path. The window is worked in ``TILE``-px tiles; only tiles within
    ``reach`` of a point are filtered, each with ``EXACT_MARGIN`` of photo around it (clipped to
    the window, whose own edges are mirrored as a whole-window filter mirrors them), so their
    values equal those of the whole window. Other pixels are 0 (their pages are never touched:
    ``np.zeros`` costs nothing for them).

    Args:
        rgb: ``[H, W, 3]`` uint8 photo; box: ``(y0, x0, y1, x1)`` inside it.
        points: ``[N, 2]`` int ``(y, x)`` in the window's frame; reach: px around them.
    Returns:
        ``(gray, darkness)``, ``[y1 - y0, x1 - x0]`` float32 each.
    """
    y0, x0, y1, x1 = (int(v) for v in box)
    h, w = y1 - y0, x1 - x0
    gray = np.zeros((h, w), np.float32)
    dark = np.zeros((h, w), np.float32)
    r = int(np.ceil(reach))
    pts = np.asarray(points, np.int64).reshape(-1, 2)
    # Every tile within reach of a point: the point moved by -r, 0, +r on each axis hits each one
    # (reach < TILE), deduplicated.
    shifts = np.array([(dy, dx) for dy in (-r, 0, r) for dx in (-r, 0, r)], np.int64)
    near = (pts[:, None, :] + shifts[None]).reshape(-1, 2)
    near = near[(near[:, 0] >= 0) & (near[:, 0] < h) & (near[:, 1] >= 0) & (near[:, 1] < w)]
    cols = (w + TILE - 1) // TILE
    for t in np.unique((near[:, 0] // TILE) * cols + near[:, 1] // TILE):
        ty, tx = divmod(int(t), cols)
        ty0, tx0 = ty * TILE, tx * TILE
        ty1, tx1 = min(ty0 + TILE, h), min(tx0 + TILE, w)
        wy0, wx0 = max(ty0 - EXACT_MARGIN, 0), max(tx0 - EXACT_MARGIN, 0)
        wy1, wx1 = min(ty1 + EXACT_MARGIN, h), min(tx1 + EXACT_MARGIN, w)
        g = luminance(rgb[y0 + wy0:y0 + wy1, x0 + wx0:x0 + wx1])
        inner = (slice(ty0 - wy0, ty1 - wy0), slice(tx0 - wx0, tx1 - wx0))
        gray[ty0:ty1, tx0:tx1] = g[inner]
        dark[ty0:ty1, tx0:tx1] = relative_darkness(g)[inner]
    return gray, dark
