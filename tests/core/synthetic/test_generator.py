"""One synthetic photo: deterministic, its truth exact, its defects looking like what they are."""
import numpy as np
import pytest
from scipy import ndimage

from core.categories import Category, CategorySet, default_categories
from core.synthetic import SynthConfig, generate_sample, image_seed, parse_size

CATS = default_categories()
CRACK, SPALL, REBAR, CONCRETE, BACKGROUND = (CATS.by_name(n).id for n in
                                             ("crack", "spalling", "exposed_rebar", "concrete", "background"))
BUSY = SynthConfig(crack_count=(2, 4), spall_count=(2, 3), rebar_probability=1.0, background_probability=0.5)


def test_same_seed_same_photo_and_truth_other_seed_differs():
    a_rgb, a_ann = generate_sample(11, (160, 120), BUSY)
    b_rgb, b_ann = generate_sample(11, (160, 120), BUSY)
    c_rgb, _ = generate_sample(12, (160, 120), BUSY)
    assert np.array_equal(a_rgb, b_rgb)
    assert np.array_equal(a_ann.id_map, b_ann.id_map) and a_ann.segments == b_ann.segments
    assert not np.array_equal(a_rgb, c_rgb)


def test_size_is_width_by_height_and_checked():
    rgb, ann = generate_sample(0, (200, 120))
    assert rgb.shape == (120, 200, 3) and rgb.dtype == np.uint8
    assert ann.id_map.shape == (120, 200) and ann.id_map.dtype == np.int32
    assert generate_sample(0, 96)[0].shape == (96, 96, 3)
    with pytest.raises(ValueError, match="outside"):
        parse_size(8)
    with pytest.raises(ValueError):
        parse_size("big")


@pytest.mark.parametrize("seed", range(12))
def test_truth_is_exact_and_complete(seed):
    rgb, ann = generate_sample(seed, (144, 112), BUSY)
    ann.validate(CATS, seed)  # PNG ids == table ids, known categories
    ids = ann.id_map
    assert (ids > 0).all(), "every pixel is labelled"
    for info in ann.segments_info():
        ys, xs = np.nonzero(ids == info["id"])
        assert len(ys) > 0 and info["area"] == len(ys)
        assert info["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    stuff = [s for s in ann.segments.values() if not CATS.is_thing(s.category_id)]
    assert len({s.category_id for s in stuff}) == len(stuff), "one segment per stuff class"
    assert sum(CATS.is_thing(s.category_id) for s in ann.segments.values()) <= BUSY.max_things


def test_rebar_only_inside_spalls():
    seen = 0
    for seed in range(20):
        _, ann = generate_sample(seed, 128, BUSY)
        sem = ann.semantic()
        for seg in ann.segments.values():
            if seg.category_id != REBAR:
                continue
            seen += 1
            ring = ndimage.binary_dilation(ann.id_map == seg.id, iterations=2) & (ann.id_map != seg.id)
            # a bar is surrounded by its spall (or another bar), never by sound concrete alone
            assert np.isin(sem[ring], [SPALL, REBAR]).mean() > 0.5
    assert seen > 5


def test_counts_follow_the_config():
    none = SynthConfig(crack_count=(0, 0), spall_count=(0, 0), background_probability=0.0)
    for seed in range(4):
        _, ann = generate_sample(seed, 96, none)
        assert [s.category_id for s in ann.segments.values()] == [CONCRETE]
    capped = SynthConfig(crack_count=(4, 4), spall_count=(3, 3), rebar_probability=1.0, max_things=3)
    for seed in range(6):
        _, ann = generate_sample(seed, 160, capped)
        assert sum(CATS.is_thing(s.category_id) for s in ann.segments.values()) <= 3


def test_defects_look_like_defects():
    """What a model has to learn from: cracks and spalls darker than the concrete around them,
    rebar orange-brown. Measured over several photos, against the concrete in the same photo."""
    crack_contrast, spall_contrast, rebar_warmth = [], [], []
    for seed in range(16):
        rgb, ann = generate_sample(seed, 256, BUSY)
        lum = rgb.astype(np.float32).mean(axis=2)
        sem = ann.semantic()
        concrete = lum[sem == CONCRETE].mean()
        if (sem == CRACK).sum() > 20:
            crack_contrast.append(lum[sem == CRACK].mean() / concrete)
        if (sem == SPALL).sum() > 100:
            spall_contrast.append(lum[sem == SPALL].mean() / concrete)
        if (sem == REBAR).sum() > 20:
            warm = rgb[sem == REBAR].astype(np.float32)
            grey = rgb[sem == CONCRETE].astype(np.float32)
            rebar_warmth.append((warm[:, 0] - warm[:, 2]).mean() - (grey[:, 0] - grey[:, 2]).mean())
    assert len(crack_contrast) > 8 and np.median(crack_contrast) < 0.7
    assert len(spall_contrast) > 8 and np.median(spall_contrast) < 0.85
    assert len(rebar_warmth) > 4 and min(rebar_warmth) > 20


def test_uses_the_ids_of_the_category_set_given():
    renumbered = CategorySet(tuple(Category(c.id * 10, c.name, c.isthing, c.color, c.supercategory) for c in CATS))
    _, ann = generate_sample(5, 128, SynthConfig(categories=renumbered, crack_count=(1, 3), spall_count=(1, 2)))
    ann.validate(renumbered)
    assert {s.category_id for s in ann.segments.values()} <= set(renumbered.ids)


def test_image_seed_depends_on_seed_and_index_only():
    assert image_seed(3, 7) == image_seed(3, 7)
    assert len({image_seed(3, i) for i in range(100)} | {image_seed(4, 0)}) == 101


def test_each_crack_segment_is_one_8_connected_network():
    """The instance definition the importers and the post-processor share: cracks that cross or
    touch are one segment, a crack cut in two is two (the camera's resampling included)."""
    import cv2

    from core.synthetic.generator import generate_sample

    checked = 0
    for i in range(12):
        _, ann = generate_sample(500 + i, 256)
        crack_ids = [s.id for s in ann.segments.values() if s.category_id == 1]
        is_crack = np.isin(ann.id_map, crack_ids)
        n, comp = cv2.connectedComponents(is_crack.astype(np.uint8), connectivity=8)
        assert n - 1 == len(crack_ids)
        for c in range(1, n):
            assert len(np.unique(ann.id_map[comp == c])) == 1
        checked += len(crack_ids)
    assert checked >= 10  # the seeds do draw cracks


def test_the_camera_angle_does_not_break_a_hairline_crack_into_pieces():
    """A 1-px crack seen at an angle: the picture (bilinear) shows one line, so the truth must be
    one line too; nearest sampling alone drops pixels where the warp shrinks it."""
    import cv2

    from core.synthetic.camera import perspective

    ids = np.ones((200, 200), np.int32)
    cv2.line(ids, (10, 20), (190, 170), 2, 1, cv2.LINE_8)  # a diagonal hairline, id 2
    img = np.zeros((200, 200, 3), np.float32)

    def pieces(thin_ids):
        broken = 0
        for seed in range(8):
            _, warped = perspective(np.random.default_rng(seed), img, ids.copy(), 0.12, thin_ids)
            n, _ = cv2.connectedComponents((warped == 2).astype(np.uint8), connectivity=8)
            broken = max(broken, n - 1)
        return broken

    assert pieces([]) > 1  # what nearest sampling alone does
    assert pieces([2]) == 1


def test_slivers_of_a_clipped_crack_go_to_their_surroundings():
    from core.panoptic import Segment
    from core.synthetic.defects import join_crack_networks

    ids = np.full((40, 40), 4, np.int32)
    ids[20:40, 20:40] = 5                # a spall
    ids[10, 2:30] = 1                    # a crack, clipped by the spall at column 20 ...
    ids[10, 20:30] = 5
    ids[18:20, 25] = 1                   # ... whose 2-px tip pokes out beside it
    ids[30, 5:8] = 1                     # and a 3-px speck of the crack on plain concrete
    segments = {4: Segment(4, 4), 5: Segment(5, 2), 1: Segment(1, 1)}
    join_crack_networks(ids, segments, crack_category=1)
    assert set(np.unique(ids)) == set(segments) == {1, 4, 5}
    assert (ids[10, 2:20] == 1).all()    # the crack itself stays
    assert set(ids[18:20, 25]) <= {4, 5} and (ids[30, 5:8] == 4).all()  # the nearest non-crack pixel's
