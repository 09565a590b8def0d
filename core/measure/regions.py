"""Figures of area-like segments (spalling, any other class), in pixels.

* area: pixel count; share of the photo: area / (H * W);
* equivalent diameter: of the disc with the same area, ``sqrt(4 A / pi)``;
* bounding box ``[x, y, w, h]`` (COCO convention), also given as width x height in units;
* major / minor axis: of the ellipse with the same second moments (pixels as unit squares),
  ``4 sqrt(lambda)``: a disc of radius r gives 2r for both; a long thin bar of length L gives
  about 1.15 L, an ellipse's own axes give themselves.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

@dataclass(frozen=True)
class RegionFigures:
    """Area figures of one segment in pixels; ``anchor_xy`` is the point deepest inside."""

    area: int
    equivalent_diameter: float
    major_axis: float
    minor_axis: float
    anchor_xy: tuple[float, float] | None


def equivalent_diameter(area: float) -> float:
    return math.sqrt(4.0 * float(area) / math.pi)


def ellipse_axes(mask: np.ndarray) -> tuple[float, float]:
    """``(major, minor)`` axes in px of the ellipse with the mask's second moments."""
    import cv2

    mom = cv2.moments(np.ascontiguousarray(mask, dtype=bool).view(np.uint8), binaryImage=True)
    if mom["m00"] <= 0:
        return 0.0, 0.0
    # Central moments of pixel centres, plus 1/12 per axis: each pixel is a unit square.
    cov = np.array([[mom["mu20"], mom["mu11"]], [mom["mu11"], mom["mu02"]]]) / mom["m00"] + np.eye(2) / 12.0
    lam = np.linalg.eigvalsh(cov)
    return 4.0 * math.sqrt(max(lam[1], 0.0)), 4.0 * math.sqrt(max(lam[0], 0.0))


def deepest_point(mask: np.ndarray) -> tuple[float, float]:
    """``(x, y)`` of the pixel farthest from the background (a good place for a label)."""
    import cv2

    m = np.pad(mask.astype(np.uint8), 1)
    dist = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(x - 1), float(y - 1)


def measure_region(mask: np.ndarray, area: int | None = None, with_anchor: bool = True) -> RegionFigures:
    """Measure an ``[H, W]`` bool mask (usually the segment's bounding-box crop)."""
    mask = np.asarray(mask, bool)
    area = int(np.count_nonzero(mask)) if area is None else int(area)
    major, minor = ellipse_axes(mask)
    anchor = deepest_point(mask) if with_anchor and area else None
    return RegionFigures(area, equivalent_diameter(area), major, minor, anchor)
