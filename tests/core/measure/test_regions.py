"""Area figures on drawn shapes: disc, rectangle, ellipse."""
import math

import numpy as np
import pytest

from core.measure import measure_region
from core.measure.regions import ellipse_axes


@pytest.mark.parametrize("r", [8, 25, 60])
def test_a_disc_has_area_pi_r_squared_and_diameter_2r(disk, r):
    f = measure_region(disk(r, 2 * r + 20))
    assert f.area == pytest.approx(math.pi * r * r, rel=0.02)
    assert f.equivalent_diameter == pytest.approx(2 * r, rel=0.02)
    assert f.major_axis == pytest.approx(2 * r, rel=0.02)
    assert f.minor_axis == pytest.approx(2 * r, rel=0.02)
    # The label goes deep inside: at the centre.
    c = (2 * r + 20) / 2
    assert math.hypot(f.anchor_xy[0] - c, f.anchor_xy[1] - c) <= 1.5


def test_an_ellipse_gives_its_own_axes():
    yy, xx = np.mgrid[:200, :300].astype(float)
    mask = ((xx - 150) / 100) ** 2 + ((yy - 100) / 40) ** 2 < 1
    major, minor = ellipse_axes(mask)
    assert major == pytest.approx(200, rel=0.01) and minor == pytest.approx(80, rel=0.02)


def test_rectangle_area_and_anchor_inside():
    mask = np.zeros((50, 80), bool)
    mask[10:30, 5:65] = True
    f = measure_region(mask)
    assert f.area == 1200
    x, y = f.anchor_xy
    assert mask[int(y), int(x)]


def test_empty_mask_gives_zeros():
    f = measure_region(np.zeros((5, 5), bool))
    assert f.area == 0 and f.major_axis == 0 and f.anchor_xy is None
