"""Drawn shapes of known size for the measurement tests."""
import numpy as np
import pytest


def draw_band(length: float, width: float, angle_deg: float, size: int = 300,
              centre: tuple[float, float] | None = None) -> np.ndarray:
    """``[size, size]`` bool: the pixels whose centres lie inside a length x width rectangle
    rotated by ``angle_deg`` (counter-clockwise as seen on screen).

    The centre sits a quarter pixel off the grid so that no pixel centre falls on an edge:
    an axis-aligned 3 x 200 band is exactly 3 x 200 pixels.
    """
    cy, cx = centre if centre is not None else (size / 2 + 0.25, size / 2 + 0.25)
    yy, xx = np.mgrid[:size, :size].astype(float)
    t = np.deg2rad(angle_deg)
    along = (xx - cx) * np.cos(t) - (yy - cy) * np.sin(t)
    across = (xx - cx) * np.sin(t) + (yy - cy) * np.cos(t)
    return (np.abs(along) < length / 2) & (np.abs(across) < width / 2)


def draw_polyline(points, width: float, size: int) -> np.ndarray:
    """Union of bands along consecutive points ``(x, y)`` with round joints, ``[size, size]`` bool."""
    yy, xx = np.mgrid[:size, :size].astype(float)
    out = np.zeros((size, size), bool)
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / (dx * dx + dy * dy), 0, 1)
        out |= np.hypot(xx - (x0 + t * dx), yy - (y0 + t * dy)) < width / 2
    return out


def draw_disk(radius: float, size: int) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size].astype(float)
    c = size / 2 + 0.25
    return np.hypot(yy - c, xx - c) < radius


@pytest.fixture
def band():
    return draw_band


@pytest.fixture
def polyline():
    return draw_polyline


@pytest.fixture
def disk():
    return draw_disk
