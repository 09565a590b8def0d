"""Crack figures on drawn shapes of known size: length, widths, orientation, branches, speed."""
import math
import time

import numpy as np
import pytest

from core.measure import measure_linear
from core.measure.skeleton import centreline, thin


def test_a_3_by_200_line_is_200_long_and_3_wide(band):
    f = measure_linear(band(200, 3, 0))
    assert f.length == pytest.approx(200, abs=1)
    assert f.max_width == pytest.approx(3, abs=1)
    assert f.mean_width == pytest.approx(3, abs=1)
    assert f.n_ends == 2 and f.n_junctions == 0


def test_a_diagonal_line_measures_its_length_not_its_pixel_count(band):
    f = measure_linear(band(200, 3, 45))
    assert f.length == pytest.approx(200, abs=2)
    assert f.mean_width == pytest.approx(3, abs=1)
    assert f.orientation_deg == pytest.approx(45, abs=1)


@pytest.mark.parametrize("angle", [0, 10, 22.5, 30, 60, 90, 120, 157.5])
@pytest.mark.parametrize("width", [1, 2, 5, 8])
def test_length_and_width_hold_at_every_angle(band, angle, width):
    f = measure_linear(band(200, width, angle))
    # Plain chain codes (1 and sqrt 2 per step) read 216 at 22.5 degrees; this stays within 2 %.
    assert f.length == pytest.approx(200, rel=0.02)
    assert f.mean_width == pytest.approx(width, abs=0.5)
    assert width - 0.5 <= f.max_width <= width + 1.5


@pytest.mark.parametrize("angle", [0, 30, 75, 90, 135, 170])
def test_orientation_is_counter_clockwise_from_horizontal(band, angle):
    assert measure_linear(band(150, 3, angle)).orientation_deg == pytest.approx(angle % 180, abs=1.5)


def test_branches_of_a_y_crack_are_summed(polyline):
    c = (150.25, 150.25)
    arms = [(c[0] + 100 * math.cos(math.radians(a)), c[1] - 100 * math.sin(math.radians(a))) for a in (90, 210, 330)]
    mask = np.zeros((300, 300), bool)
    for end in arms:
        mask |= polyline([c, end], 3, 300)
    f = measure_linear(mask)
    assert f.n_junctions >= 1 and f.n_ends == 3
    # Three 100-px arms with round 1.5-px caps at their free ends.
    assert f.length == pytest.approx(300, rel=0.02)


def test_a_tapering_crack_reports_its_widest_part(polyline):
    yy, xx = np.mgrid[:120, :320].astype(float)
    half = (2 + 8 * (xx - 10) / 300) / 2  # width 2 at x = 10 growing to 10 at x = 310
    mask = (xx >= 10) & (xx < 310) & (np.abs(yy - 60.25) < half)
    f = measure_linear(mask)
    assert f.length == pytest.approx(300, rel=0.02)
    assert f.max_width == pytest.approx(10, abs=1.5)
    assert f.mean_width == pytest.approx(6, abs=0.5)


def test_a_ragged_outline_adds_no_spurs_to_the_length(band):
    rng = np.random.default_rng(1)
    mask = band(300, 7, 0, size=400)
    ys, xs = np.nonzero(mask)
    edge = (ys == ys.min()) | (ys == ys.max())
    bumps = rng.random(edge.sum()) < 0.3  # single-pixel bumps on both long edges
    mask[np.where(ys[edge] == ys.min(), ys[edge] - 1, ys[edge] + 1)[bumps], xs[edge][bumps]] = True
    assert measure_linear(mask).length == pytest.approx(300, rel=0.02)


def test_a_ring_measures_its_circumference():
    yy, xx = np.mgrid[:300, :300].astype(float)
    ring = np.abs(np.hypot(yy - 150.3, xx - 150.2) - 100) < 2
    assert centreline(ring).length == pytest.approx(2 * math.pi * 100, rel=0.01)


def test_thinning_keeps_lines_connected_and_one_pixel_thin(band):
    from scipy import ndimage

    for angle in (0, 22.5, 45, 63):
        skel = thin(band(120, 6, angle, size=200))
        assert ndimage.label(skel, np.ones((3, 3)))[1] == 1
        # 8-thin: no 2 x 2 block of skeleton pixels anywhere.
        blocks = skel[:-1, :-1] & skel[1:, :-1] & skel[:-1, 1:] & skel[1:, 1:]
        assert not blocks.any()


def test_tiny_and_empty_shapes():
    dot = np.zeros((5, 5), bool)
    dot[2, 2] = True
    f = measure_linear(dot)
    assert f.length == pytest.approx(1) and f.mean_width == pytest.approx(1)
    square = np.zeros((6, 6), bool)
    square[2:4, 2:4] = True
    assert measure_linear(square).length >= 1
    with pytest.raises(ValueError):
        measure_linear(np.zeros((4, 4), bool))


def test_a_thick_blob_with_a_crack_class_is_measured_quickly(disk):
    mask = disk(700, 1500)
    start = time.perf_counter()
    f = measure_linear(mask)
    assert time.perf_counter() - start < 5.0
    assert f.mean_width > 500  # the figures are those of a blob, not of a hairline


def test_a_thin_crack_across_a_large_photo_costs_little():
    import cv2

    m = np.zeros((4000, 6000), np.uint8)
    cv2.line(m, (10, 3990), (5990, 310), 1, 5)
    start = time.perf_counter()
    f = measure_linear(m.astype(bool))
    elapsed = time.perf_counter() - start
    assert f.length == pytest.approx(math.hypot(5980, 3680), rel=0.02)
    assert elapsed < 5.0, f"{elapsed:.1f} s for one crack: the work must follow the crack, not its bounding box"
