"""Region growing and GrabCut on drawn patches."""
import cv2
import numpy as np
import pytest

from core.assist.region import DEFAULT_TOLERANCE, RegionGrower, grabcut_box, grow_region
from core.errors import AssistError

from drawn import concrete, draw_crack, draw_patch  # tests/core/assist is on sys.path (conftest)


def _iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def test_one_click_in_a_rough_patch_grows_to_the_patch():
    rgb = concrete((240, 320))
    true = draw_patch(rgb, (150, 120), (70, 45))
    mask = grow_region(rgb, (150.5, 120.5))
    assert mask.shape == true.shape and mask.dtype == bool
    assert mask[120, 150]
    assert _iou(mask, true) >= 0.8


def test_a_bright_stone_inside_the_patch_is_filled_in():
    rgb = concrete((240, 320))
    true = draw_patch(rgb, (150, 120), (80, 55), hole=True)
    mask = grow_region(rgb, (110.5, 120.5))  # left of the stone, inside the patch
    assert mask[120, 150]  # the stone at the centre
    assert _iou(mask, true) >= 0.75


def test_a_larger_tolerance_grows_at_least_as_far():
    rgb = concrete((200, 260), seed=3)
    draw_patch(rgb, (130, 100), (60, 40), seed=4)
    grower = RegionGrower(rgb, (130.5, 100.5))
    sizes = [grower.grown(t).sum() for t in (2.0, 6.0, DEFAULT_TOLERANCE, 30.0, 100.0)]
    assert sizes == sorted(sizes)
    assert sizes[-1] == 200 * 260  # everything is within a huge tolerance


def test_large_photos_are_grown_at_a_reduced_size_and_given_back_full_size():
    rgb = concrete((900, 3400), seed=5)
    true = draw_patch(rgb, (1700, 450), (300, 200), seed=6)
    grower = RegionGrower(rgb, (1700, 450))
    assert grower.factor == 3
    mask = grower.mask()
    assert mask.shape == (900, 3400)
    assert _iou(mask, true) >= 0.8


def test_grabcut_box_separates_a_coloured_blob_from_its_surround():
    rgb = concrete((200, 240), seed=7)
    yy, xx = np.mgrid[:200, :240]
    blob = (yy - 100) ** 2 / 50 ** 2 + (xx - 120) ** 2 / 70 ** 2 <= 1
    rgb[blob] = (rgb[blob] * np.array([0.55, 0.35, 0.25]) + np.array([90, 40, 10])).astype(np.uint8)  # rust
    mask = grabcut_box(rgb, (40, 40, 160, 200))
    assert _iou(mask, blob) >= 0.85
    assert not mask[:40].any() and not mask[:, :40].any()  # nothing outside the box


@pytest.mark.parametrize("call, message", [
    (lambda rgb: grow_region(rgb, (500, 10)), "outside"),
    (lambda rgb: grow_region(rgb, (10, 10), tolerance=-1), "tolerance"),
    (lambda rgb: grow_region(rgb, (10, 10), tolerance="lots"), "tolerance"),
    (lambda rgb: grow_region(rgb[..., 0], (10, 10)), "uint8"),
    (lambda rgb: grabcut_box(rgb, (10, 10, 12, 60)), "4 x 4"),
    (lambda rgb: grabcut_box(rgb, (300, 300, 400, 400)), "4 x 4"),
])
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises(AssistError, match=message):
        call(concrete((100, 120)))


def _spall_with_a_bar():
    """A rough patch cut in two by a rust-brown bar across its whole width; the spall's truth
    without the bar (an exposed bar is a segment of its own, as in a panoptic annotation)."""
    rgb = concrete((260, 360), seed=11)
    patch = draw_patch(rgb, (180, 130), (90, 60), angle=0, seed=12)
    bar = np.zeros(patch.shape, bool)
    bar[118:138, 60:300] = True
    bar &= patch
    rgb[bar] = (rgb[bar] * np.array([0.6, 0.35, 0.2]) + np.array([70, 25, 5])).astype(np.uint8)
    return rgb, patch & ~bar


def test_a_spall_with_a_bar_across_it_is_one_region_without_the_bar():
    rgb, true = _spall_with_a_bar()
    mask = grow_region(rgb, (180.5, 90.5))  # above the bar
    assert mask[165, 180] and not mask[128, 180]  # the half below the bar; the bar is another material
    assert _iou(mask, true) >= 0.9
    assert (mask[118:138, 100:260]).mean() < 0.1
    # Without the bridging the region stays in the clicked half: the bar is what the test is about.
    plain = RegionGrower(rgb, (180.5, 90.5), bridge_scale=0).mask()
    assert not plain[165, 180]


@pytest.mark.parametrize("width", [3, 5])
def test_a_crack_leaving_the_spall_does_not_carry_the_region_out(width):
    rgb = concrete((260, 420), seed=13)
    true = draw_patch(rgb, (130, 130), (70, 50), angle=0, seed=14)
    draw_crack(rgb, [(190, 130), (260, 110), (330, 150), (410, 120)], width, depth=0.9)
    # A tolerance wide enough that the dark crack is within it all along.
    grower = RegionGrower(rgb, (130.5, 130.5))
    mask = grower.mask(20.0)
    assert not mask[:, 230:].any()  # 30 px beyond the patch's end, nothing
    assert _iou(mask, true) >= 0.9
    leaky = RegionGrower(rgb, (130.5, 130.5), neck_radius=0).mask(20.0)
    assert leaky[:, 230:].sum() > 500  # without the guard it runs along the crack


def _blotchy_spall():
    """A rough patch whose floor is half dark pits, half lit stones: blotches ~20 px across, light
    levels 60 apart (as a spall's shadowed and lit parts are)."""
    rgb = concrete((260, 360), seed=21)
    true = draw_patch(rgb, (180, 130), (110, 75), angle=0, seed=22)
    rng = np.random.default_rng(23)
    blotch = cv2.GaussianBlur(rng.normal(0, 1, true.shape).astype(np.float32), (0, 0), 8.0) > 0
    lift = np.where(true & blotch, 60, 0)[..., None]
    rgb[:] = np.clip(rgb.astype(np.int32) + lift, 0, 255).astype(np.uint8)
    return rgb, true, blotch


def test_a_floor_of_dark_pits_and_lit_stones_grows_as_one_region():
    rgb, true, blotch = _blotchy_spall()
    ys, xs = np.nonzero(true & ~blotch & (np.abs(np.arange(260)[:, None] - 130) < 20)
                        & (np.abs(np.arange(360)[None, :] - 180) < 30))
    click = (xs[0] + 0.5, ys[0] + 0.5)  # on a dark pit near the centre
    mask = grow_region(rgb, click)
    assert _iou(mask, true) >= 0.8
    assert mask[true & blotch].mean() >= 0.8  # the lit stones are in, not only pits like the click


def test_two_touching_spalls_alike_are_told_apart_by_their_shape():
    rgb = concrete((260, 420), seed=31)
    left = draw_patch(rgb, (130, 130), (75, 60), angle=0, seed=32)
    right = draw_patch(rgb, (270, 130), (75, 60), angle=0, seed=33)  # overlapping the first by 10 px
    right &= ~left
    mask = grow_region(rgb, (270.5, 130.5))
    assert _iou(mask, right) >= 0.8
    assert mask[left].mean() < 0.1
    # Colour and texture alone grow both (the region before GrabCut and the split): the shape is
    # what tells them apart.
    grower = RegionGrower(rgb, (270.5, 130.5))
    assert grower.grown()[left].mean() > 0.8


def test_the_same_click_gives_the_same_region_whatever_ran_before():
    """GrabCut's colour models start from OpenCV's random generator: the grower seeds it, so a
    user (and a benchmark) sees the same region for the same click."""
    import cv2

    from core.assist import grow_region
    from core.synthetic.generator import generate_sample

    rgb, ann = generate_sample(703, 384)
    spall = next(s for s in ann.segments.values() if s.category_id == 2)
    ys, xs = np.nonzero(ann.id_map == spall.id)
    seed = (int(xs[len(xs) // 2]), int(ys[len(ys) // 2]))
    first = grow_region(rgb, seed)
    cv2.setRNGSeed(12345)
    cv2.randu(np.zeros((4, 4), np.float32), 0, 1)  # someone else drew from the generator
    assert np.array_equal(grow_region(rgb, seed), first)


def test_touching_spalls_with_a_wide_junction_are_split_along_the_wall(monkeypatch):
    """A generated pair: a small spall joined to a large one along a junction as wide as the small
    one (no neck for the shape split), the small one's wall and shadow along it. One click at its
    deepest point grows it alone; without the split at a wall it grows both."""
    import core.assist.region_shape as shape
    from core.synthetic.generator import SynthConfig, generate_sample

    cfg = SynthConfig(crack_count=(1, 4), spall_count=(1, 2), zoom=(0.8, 2.0), crack_width=(2, 8))
    rgb, ann = generate_sample(7067, 512, cfg)
    small, large = ann.id_map == 3, ann.id_map == 4
    assert ann.segments[3].category_id == ann.segments[4].category_id == 2
    dt = cv2.distanceTransform(np.pad(small, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dt)), dt.shape)
    mask = grow_region(rgb, (x + 0.5, y + 0.5))
    assert _iou(mask, small) >= 0.8 and mask[large].mean() < 0.1
    monkeypatch.setattr(shape, "WALL_RATIO", float("inf"))
    assert grow_region(rgb, (x + 0.5, y + 0.5))[large].mean() > 0.6
