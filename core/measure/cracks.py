"""Figures of linear defects (cracks, exposed rebar) from one segment's mask, in pixels.

* length: the centreline (``skeleton.centreline``), branches summed;
* mean width: area / length, the width of a band of that length and area (exact for straight
  bands at any angle and width, unlike ``2 * DT`` which is half a pixel off at even widths);
* maximum width: the largest local width along the centreline away from the end caps
  (``skeleton.local_widths``), never below the mean;
* orientation: principal axis of the centreline pixels, degrees in [0, 180), 0 = horizontal,
  counter-clockwise as seen on the photo (a crack rising to the right is near 45).

Shapes much thicker than a crack (a blob given a crack-like class, a wide bar) are measured on a
mask downsampled to keep them about ``THIN_TARGET`` px thick: thinning costs grow with
thickness x area, and a pixel or two of their centreline does not matter at that size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.measure.skeleton import centreline

#: Shapes thicker than this (px, estimated as 2 x area / boundary transitions) are downsampled...
THICK_LIMIT = 32.0
#: ...by an integer factor that brings them to about this thickness.
THIN_TARGET = 16.0


@dataclass(frozen=True)
class LinearFigures:
    """Figures of one linear shape, all in pixels of the mask it was measured on.

    Attributes:
        length: centreline length; max_width / mean_width: see the module docstring.
        orientation_deg: None when the centreline is a single pixel.
        anchor_xy: ``(x, y)`` a centreline pixel near the middle of the shape, for labels.
        n_ends / n_junctions: end points and junction pixels of the centreline (a Y has 3 / 1).
    """

    length: float
    max_width: float
    mean_width: float
    orientation_deg: float | None
    anchor_xy: tuple[float, float]
    n_ends: int
    n_junctions: int


def orientation_deg(points_yx: np.ndarray) -> float | None:
    """Principal direction of ``[N, 2]`` ``(y, x)`` points: degrees in [0, 180), 0 = horizontal,
    counter-clockwise as seen on screen (image y points down, hence the sign flip)."""
    if len(points_yx) < 2:
        return None
    p = points_yx.astype(np.float64)
    p -= p.mean(0)
    syy, sxx, sxy = (p[:, 0] ** 2).sum(), (p[:, 1] ** 2).sum(), (p[:, 0] * p[:, 1]).sum()
    if sxx + syy == 0:
        return None
    t = 0.5 * math.atan2(2 * sxy, sxx - syy)
    return float((-math.degrees(t)) % 180.0)


def measure_linear(mask: np.ndarray) -> LinearFigures:
    """Measure a crack-like ``[H, W]`` bool mask (usually a segment's bounding-box crop).

    Raises:
        ValueError: the mask is empty (the caller measures segments that exist).
    """
    mask = np.asarray(mask, bool)
    area = int(np.count_nonzero(mask))
    if area == 0:
        raise ValueError("cannot measure an empty mask")
    factor = _downsample_factor(mask, area)
    if factor > 1:
        c = centreline(_downsample(mask, factor))
    else:
        c = centreline(mask)
    length = max(c.length * factor, 1.0)
    mean_width = area / length
    inner = c.width[~c.at_end]
    max_width = max((float(inner.max()) if inner.size else float(c.width.max())) * factor, mean_width)
    mid = c.points.mean(0)
    k = int(np.argmin(((c.points - mid) ** 2).sum(1)))
    half = (factor - 1) / 2.0  # centre of a factor x factor block
    anchor = (float(c.points[k, 1]) * factor + half, float(c.points[k, 0]) * factor + half)
    return LinearFigures(length, max_width, mean_width, orientation_deg(c.points), anchor, c.n_ends,
                         c.n_junctions)


def _downsample_factor(mask: np.ndarray, area: int) -> int:
    transitions = int(np.count_nonzero(mask[:, 1:] != mask[:, :-1])) + int(np.count_nonzero(mask[1:] != mask[:-1]))
    transitions += int(np.count_nonzero(mask[:, [0, -1]])) + int(np.count_nonzero(mask[[0, -1]]))  # crop edges
    thickness = 2.0 * area / max(transitions, 1)
    return 1 if thickness <= THICK_LIMIT else max(1, int(thickness // THIN_TARGET))


def _downsample(mask: np.ndarray, factor: int) -> np.ndarray:
    """Block majority of ``factor`` x ``factor`` blocks (a partial block at the edges counts too)."""
    h, w = mask.shape
    hp, wp = -(-h // factor) * factor, -(-w // factor) * factor
    padded = np.zeros((hp, wp), np.uint16)
    padded[:h, :w] = mask
    blocks = padded.reshape(hp // factor, factor, wp // factor, factor).sum((1, 3))
    small = blocks * 2 >= factor * factor
    if not small.any():  # a shape thinner than a block everywhere: keep every touched block
        small = blocks > 0
    return small
