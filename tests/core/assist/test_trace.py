"""The crack tracer on drawn cracks: path on the crack, width from the photo, preview, errors."""
import numpy as np
import pytest

from core.assist import CrackTracer, trace_crack
from core.assist.band import band_pixels, rasterise
from core.errors import AssistError
from core.evaluation.thin import centreline, match_centrelines

from drawn import concrete, draw_crack  # tests/core/assist is on sys.path (conftest)

# A crack with two bends, well away from the photo's edge.
BENDY = [(20, 200), (110, 150), (170, 170), (300, 40)]


def _f1(pred, true):
    p, hits, g, found = match_centrelines(centreline(true), centreline(pred), 2.0)
    precision, recall = hits / max(p, 1), found / max(g, 1)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


@pytest.mark.parametrize("width", [1, 2, 3, 5])
def test_end_points_and_bends_trace_the_crack_at_its_width(width):
    rgb = concrete()
    true = draw_crack(rgb, BENDY, width)
    mask = trace_crack(rgb, [(x + 0.5, y + 0.5) for x, y in BENDY])
    assert mask.shape == true.shape and mask.dtype == bool
    assert _f1(mask, true) >= 0.95
    assert _iou(mask, true) >= 0.6
    # The width is read from the photo: the mask's area over the crack's length is about `width`.
    length = np.count_nonzero(centreline(true))
    assert abs(mask.sum() / length - true.sum() / length) <= 1.0


def test_the_path_follows_the_crack_between_far_clicks_not_the_straight_line():
    rgb = concrete()
    true = draw_crack(rgb, BENDY, 2)
    # Only the two ends: the chord runs up to ~60 px off the crack at the bends.
    mask = trace_crack(rgb, [(20.5, 200.5), (300.5, 40.5)], width=2)
    assert _f1(mask, true) >= 0.9


def test_a_width_the_user_sets_is_the_masks_width():
    rgb = concrete()
    draw_crack(rgb, [(20, 120), (300, 120)], 2)
    mask = trace_crack(rgb, [(20.5, 120.5), (300.5, 120.5)], width=5)
    cols = mask[:, 40:280]
    assert (cols.sum(0) == 5).all()


def test_live_preview_is_the_committed_path_and_undo_drops_the_last_click():
    rgb = concrete()
    draw_crack(rgb, BENDY, 3)
    tracer = CrackTracer(rgb, preview_radius=200)
    assert len(tracer.preview_to((50, 50))) == 0  # nothing before the first click
    tracer.add_point((20.5, 200.5), prepare=False)
    assert not tracer.ready
    straight = tracer.preview_to((110.5, 150.5))  # before set-up: the straight line
    assert tuple(straight[0]) == (200, 20) and tuple(straight[-1]) == (150, 110)
    tracer.install(tracer.prepare())
    assert tracer.ready
    shown = tracer.preview_to((110.5, 150.5))
    leg = tracer.add_point((110.5, 150.5))
    np.testing.assert_array_equal(leg, shown)
    before = tracer.path.copy()
    tracer.add_point((170.5, 170.5))
    assert tracer.undo_point()
    np.testing.assert_array_equal(tracer.path, before)
    assert tracer.points == [(20.5, 200.5), (110.5, 150.5)]
    # A stale preview (prepared for an earlier click) is refused.
    stale = tracer.prepare()
    tracer.add_point((170.5, 170.5), prepare=False)
    assert not tracer.install(stale)


def test_preview_beyond_the_window_ends_in_a_straight_line_to_the_cursor():
    rgb = concrete()
    tracer = CrackTracer(rgb, preview_radius=30)
    tracer.add_point((40.5, 40.5))
    path = tracer.preview_to((300.5, 200.5))
    assert tuple(path[-1]) == (200, 300)
    steps = np.abs(np.diff(path, axis=0)).max(1)
    assert steps.max() == 1  # 8-connected all the way


def test_finish_keeps_the_clicks_and_a_tight_box():
    rgb = concrete()
    draw_crack(rgb, BENDY, 2)
    tracer = CrackTracer(rgb, width=3)
    for x, y in BENDY:
        tracer.add_point((x + 0.2, y + 0.7), prepare=False)
    result = tracer.finish()
    assert result.points == tuple((x + 0.2, y + 0.7) for x, y in BENDY)
    assert result.width == 3 and not result.measured
    y0, x0, y1, x1 = result.box
    assert result.mask.shape == (y1 - y0, x1 - x0)
    assert result.mask[0].any() and result.mask[-1].any() and result.mask[:, 0].any() and result.mask[:, -1].any()


def test_one_click_is_a_dot_and_no_click_is_nothing():
    rgb = concrete()
    tracer = CrackTracer(rgb, width=3)
    assert tracer.finish() is None
    tracer.add_point((100.5, 100.5), prepare=False)
    result = tracer.finish()
    assert result.full_mask(rgb.shape[:2])[100, 100]
    assert result.mask.sum() <= 9


@pytest.mark.parametrize("points, width, message", [
    ([], None, "at least one point"),
    ([(10, 10), (400, 10)], None, "outside"),
    ([(10, 10), (float("nan"), 3)], None, "finite"),
    ([(10, 10), "ab"], None, "pair"),
    ([(10, 10), (20, 20)], 0, "width"),
    ([(10, 10), (20, 20)], "wide", "width"),
])
def test_bad_input_is_a_clear_error(points, width, message):
    with pytest.raises(AssistError, match=message):
        trace_crack(concrete(), points, width)


def test_a_photo_that_is_not_rgb_uint8_is_refused():
    with pytest.raises(AssistError, match="uint8"):
        trace_crack(np.zeros((20, 20), np.uint8), [(1, 1)])
    with pytest.raises(AssistError, match="uint8"):
        CrackTracer(np.zeros((20, 20, 3), np.float32))


def test_band_width_is_perpendicular_at_any_angle():
    level = np.array([[50.0, x] for x in np.arange(10.0, 90.0)])
    for width in (1, 2, 3, 4):
        mask = rasterise(band_pixels(level, width), (100, 100))
        assert set(mask[:, 20:80].sum(0)) == {width}
    # At 30 and 45 degrees (off the pixel grid), area / length is the width within a quarter pixel.
    for angle in (30.0, 45.0):
        t = np.arange(0.0, 80.0, 0.5)
        line = np.stack([10.3 + t * np.sin(np.radians(angle)), 10.1 + t * np.cos(np.radians(angle))], 1)
        mask = rasterise(band_pixels(line, 3), (100, 100))
        assert abs(mask.sum() / t[-1] - 3.0) <= 0.25


def test_a_click_planned_off_thread_is_refused_when_the_clicks_changed_meanwhile():
    rgb = concrete()
    draw_crack(rgb, BENDY, 2)
    tracer = CrackTracer(rgb)
    tracer.add_point((20.5, 200.5), prepare=False)
    planned = tracer.plan((110.5, 150.5))   # what a worker computes; the tracer is unchanged
    assert tracer.points == [(20.5, 200.5)] and tuple(planned.leg[-1]) == (150, 110)
    tracer.add_point((60.5, 180.5), prepare=False)  # another click got in first
    assert not tracer.commit(planned)
    assert tracer.points == [(20.5, 200.5), (60.5, 180.5)]
    tracer.undo_point(prepare=False)
    assert tracer.commit(planned) and tracer.ready  # the preview came with the plan


def test_the_darkness_near_a_path_equals_the_whole_windows():
    """The finish filters the photo only near the path (a crack across a 24 MP photo must not
    cost the whole photo); near the path it must read what a filter of the whole window reads,
    at the window's edges too."""
    from core.assist.cost import TILE, darkness_near, luminance, relative_darkness

    rgb = concrete((700, 900), seed=8)
    draw_crack(rgb, [(30, 40), (500, 380), (880, 690)], 3)
    box = (10, 20, 700, 890)  # a window of the photo, one side on the photo's edge
    path = np.array([[5, 5], [300, 420], [680, 860], [100, 2 * TILE + 3]])  # (y, x) in the window
    gray, dark = darkness_near(rgb, box, path, 12.0)
    whole_gray = luminance(rgb[box[0]:box[2], box[1]:box[3]])
    whole_dark = relative_darkness(whole_gray)
    for y, x in path:
        near = (slice(max(y - 12, 0), y + 13), slice(max(x - 12, 0), x + 13))
        np.testing.assert_array_equal(gray[near], whole_gray[near])
        np.testing.assert_allclose(dark[near], whole_dark[near], atol=1e-6)
    assert (dark == 0).mean() > 0.5  # most of the window was never filtered


def test_a_crack_across_the_photo_is_measured_and_masked_from_the_filters_near_its_path():
    """A crack corner to corner (its box the whole photo, most tiles never filtered): the width
    read from the photo and the mask still match the drawn crack."""
    rgb = concrete((900, 1200), seed=9)
    true = draw_crack(rgb, [(15, 20), (500, 420), (1180, 880)], 4)
    tracer = CrackTracer(rgb)
    for xy in [(15.5, 20.5), (500.5, 420.5), (1180.5, 880.5)]:
        tracer.add_point(xy, prepare=False)
    result = tracer.finish()
    assert result.measured and result.width == 4
    mask = result.full_mask(true.shape)
    assert _iou(mask, true) >= 0.8 and _f1(mask, true) >= 0.95
