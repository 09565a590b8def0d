"""Full-resolution refinement of thin segments follows the crack in the photo, not the model's ribbon."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.categories import default_categories
from core.inference.thin_refine import RefineParams, ThinRefiner, refine_thin
from core.panoptic import PanopticAnnotation, Segment

CATS = default_categories()
CRACK, SPALLING, CONCRETE = (CATS.by_name(n).id for n in ("crack", "spalling", "concrete"))


def surface(shape, seed=0) -> np.ndarray:
    """``[H, W]`` float32 grey concrete-like surface: slow shading plus fine grain."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grain = cv2.GaussianBlur(rng.normal(0, 6, shape).astype(np.float32), (0, 0), 1.0)
    return 150 + 25 * np.sin(xx / 700) * np.cos(yy / 500) + grain + rng.normal(0, 3, shape).astype(np.float32)


def draw(grey: np.ndarray, line: np.ndarray, depth: float = 45) -> np.ndarray:
    """The surface with ``line`` (bool) painted ``depth`` grey levels darker, slightly blurred as
    a lens would; ``[H, W, 3]`` uint8 RGB."""
    dark = cv2.GaussianBlur(line.astype(np.float32), (0, 0), 0.6) / 0.8
    g = np.clip(grey - depth * dark, 0, 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def polyline(shape, points) -> np.ndarray:
    """``[H, W]`` bool line about 2 px wide: a 1-px polyline grown by its 4-neighbours (OpenCV's
    ``thickness=2`` draws 3.3 px)."""
    out = np.zeros(shape, np.uint8)
    cv2.polylines(out, [np.array(points, np.int32)], False, 1, 1)
    return cv2.dilate(out, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))).astype(bool)


def length(points) -> float:
    p = np.array(points, np.float64)
    return float(np.hypot(*np.diff(p, axis=0).T).sum())


def ribbon_annotation(line: np.ndarray, half: int = 20, offset: int = 0) -> PanopticAnnotation:
    """What the model gives: a ribbon ~``2 half`` px wide around (``offset`` px below) the line,
    the rest concrete."""
    band = cv2.dilate(np.roll(line, offset, axis=0).astype(np.uint8), np.ones((2 * half + 1, 2 * half + 1), np.uint8))
    ids = np.where(band > 0, 2, 1).astype(np.int32)
    return PanopticAnnotation(ids, {1: Segment(1, CONCRETE), 2: Segment(2, CRACK)})


POINTS = [(200, 400), (1500, 1300), (2600, 1500), (3800, 2700)]


@pytest.fixture(scope="module")
def photo_4000():
    """A 4000 x 3000 photo with a 2-px dark polyline, and the line (built once: 12 MP of noise)."""
    truth = polyline((3000, 4000), POINTS)
    return draw(surface(truth.shape), truth), truth


@pytest.mark.parametrize("offset", [0, 12])
def test_a_drawn_two_pixel_line_on_a_4000_px_photo(photo_4000, offset):
    rgb, truth = photo_4000
    points = POINTS
    coarse = ribbon_annotation(truth, offset=offset)  # the model's ribbon, maybe off-centre
    report = []
    out = refine_thin(coarse, rgb, CATS, cell=42, report=report)
    crack = out.id_map == 2
    iou = (crack & truth).sum() / (crack | truth).sum()
    assert iou > 0.9, iou
    width, true_width = crack.sum() / length(points), truth.sum() / length(points)  # mean width, px
    assert abs(width - true_width) < 0.5 and width < 3, (width, true_width)  # ~2 px, not a 40-px ribbon
    assert report[0].refined == (2,) and report[0].kept_coarse == ()
    # The ribbon's other pixels went back to the surface, and the table matches the map.
    assert (out.id_map[(coarse.id_map == 2) & ~crack] == 1).all()
    out.validate(CATS)
    assert (coarse.id_map == 2).sum() > 15 * crack.sum()  # the input was untouched


def test_no_line_in_the_photo_keeps_the_models_mask():
    shape = (600, 800)
    truth = polyline(shape, [(50, 100), (750, 500)])
    rgb = draw(surface(shape, seed=1), np.zeros(shape, bool))  # nothing drawn
    coarse = ribbon_annotation(truth, half=10)
    report = []
    out = refine_thin(coarse, rgb, CATS, cell=20, report=report)
    assert report[0].kept_coarse == (2,) and (out.id_map == coarse.id_map).all()


def test_only_the_crack_touching_the_models_mask_is_taken_and_instances_are_kept():
    shape = (600, 800)
    seen = polyline(shape, [(50, 150), (750, 150)])
    other = polyline(shape, [(50, 450), (750, 450)])  # a crack the model did not predict
    rgb = draw(surface(shape, seed=2), seen | other)
    ann = ribbon_annotation(seen, half=10)
    # A spalling instance across the crack's band: its pixels are never taken.
    ids = ann.id_map.copy()
    ids[130:170, 380:420] = 3
    ann = PanopticAnnotation(ids, {**ann.segments, 3: Segment(3, SPALLING)})
    out = refine_thin(ann, rgb, CATS, cell=20)
    crack = out.id_map == 2
    assert crack[140:160].any() and not crack[400:500].any()
    assert (out.id_map[130:170, 380:420] == 3).all()
    assert ((crack & seen).sum() / (crack | seen).sum()) > 0.8
    out.validate(CATS)


def test_exposed_bars_keep_the_models_mask_they_are_no_dark_line():
    shape = (600, 800)
    line = polyline(shape, [(50, 150), (750, 150)])
    rgb = draw(surface(shape, seed=3), line)  # a dark line under the bar's ribbon: its shadow
    ann = ribbon_annotation(line, half=10)
    rebar = CATS.by_name("exposed_rebar").id
    as_bar = PanopticAnnotation(ann.id_map, {1: Segment(1, CONCRETE), 2: Segment(2, rebar)})
    assert refine_thin(as_bar, rgb, CATS, cell=20) is as_bar
    # The same ribbon as a crack is redrawn along the line.
    assert (refine_thin(ann, rgb, CATS, cell=20).id_map == 2).sum() < (ann.id_map == 2).sum() / 3


def test_nothing_thin_is_returned_as_is_and_sizes_must_match():
    ann = PanopticAnnotation(np.ones((40, 50), np.int32), {1: Segment(1, CONCRETE)})
    rgb = np.zeros((40, 50, 3), np.uint8)
    assert refine_thin(ann, rgb, CATS) is ann
    with pytest.raises(ValueError, match="photo is 49x40"):
        refine_thin(ann, rgb[:, :49], CATS)


def ribbon_prediction(truth: np.ndarray, input_size: tuple[int, int]):
    """A ``PanopticPrediction`` of two queries: concrete everywhere, and a crack (score 0.6) whose
    stride-4 mask is positive on the grid cells the line ``truth`` (``[H, W]`` bool) crosses:
    the ribbon a model draws."""
    from core.inference import PanopticPrediction, PredictionMeta

    gh, gw = -(-input_size[0] // 4), -(-input_size[1] // 4)
    grid = cv2.resize(truth.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA) > 0
    masks = np.stack([np.zeros((gh, gw)), np.where(grid, 8.0, -8.0)]).astype(np.float16)
    logits = np.full((2, len(CATS) + 1), -4.0, np.float32)
    logits[0, CATS.ids.index(CONCRETE)] = 4.0
    logits[1] = 0.0
    logits[1, CATS.ids.index(CRACK)] = 2.0   # score 0.6: gone at 0.7
    return PanopticPrediction(logits, masks, CATS, PredictionMeta(tuple(truth.shape), input_size, 0.3))


def test_refiner_caches_per_threshold_level():
    """A prediction whose crack query draws a ribbon: the refined result follows the line, and
    thresholds giving the same segments share one refinement."""
    image_size = (960, 1280)
    truth = polyline(image_size, [(100, 300), (1200, 700)])
    rgb = draw(surface(image_size, seed=3), truth)
    pred = ribbon_prediction(truth, (96, 128))
    refiner = ThinRefiner(pred, rgb)
    assert refiner.cached(0.4) is None
    first = refiner.panoptic(0.4)
    assert refiner.panoptic(0.45) is first and refiner.cached(0.5) is first
    (crack_id,) = [s for s, seg in first.segments.items() if seg.category_id == CRACK]
    crack = first.id_map == crack_id
    coarse = pred.panoptic(0.4).id_map == crack_id
    assert coarse.sum() > 8 * crack.sum()
    assert (crack & truth).sum() / (crack | truth).sum() > 0.8
    high = refiner.panoptic(0.7)  # another level: no crack left, nothing to refine
    assert all(seg.category_id != CRACK for seg in high.segments.values())
    with pytest.raises(ValueError, match="photo is"):
        ThinRefiner(pred, rgb[:100])


def test_params_change_what_counts_as_a_crack():
    shape = (400, 600)
    line = polyline(shape, [(20, 200), (580, 220)])
    rgb = draw(surface(shape, seed=4), line, depth=20)  # a faint crack
    ann = ribbon_annotation(line, half=10)
    assert ((refine_thin(ann, rgb, CATS, cell=20).id_map == 2) & line).sum() > 0.8 * line.sum()
    strict = RefineParams(min_contrast=40)
    report = []
    refine_thin(ann, rgb, CATS, cell=20, params=strict, report=report)
    assert report[0].kept_coarse == (2,)


def test_band_test_is_generous_but_bounded():
    from core.inference.thin_refine import _within

    rng = np.random.default_rng(0)
    mask = rng.random((301, 413)) > 0.9998
    dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    for radius in (3, 20, 43):
        near = _within(mask, radius)
        assert near[dist <= radius].all() and dist[near].max() <= radius + 12


def test_a_ribbon_left_without_pixels_leaves_the_table():
    """Two crack ribbons along one line: the line goes to the segment holding most of it, the
    other ribbon goes back to the surface entirely, and its entry goes with it."""
    shape = (400, 600)
    line = polyline(shape, [(20, 200), (580, 200)])
    rgb = draw(surface(shape, seed=5), line)
    ids = np.ones(shape, np.int32)
    ids[185:203, :] = 2          # the ribbon holding the line
    ids[203:215, 100:300] = 3    # a second, thinner crack ribbon beside it, off the line
    ann = PanopticAnnotation(ids, {1: Segment(1, CONCRETE), 2: Segment(2, CRACK), 3: Segment(3, CRACK)})
    out = refine_thin(ann, rgb, CATS, cell=20)
    assert 3 not in out.segments and not (out.id_map == 3).any()
    out.validate(CATS)
    assert ((out.id_map == 2) & line).sum() > 0.9 * line.sum()


def test_a_crack_that_fades_for_a_few_pixels_stays_one_network_after_the_redraw():
    # A T of two cracks; where the branch meets the main crack the photo shows 15 px of nothing (a
    # lighter patch). Redrawn along the photo, the branch would hang detached: it is joined again.
    shape = (400, 600)
    main = polyline(shape, [(40, 200), (560, 200)])
    branch = polyline(shape, [(300, 216), (300, 380)])
    model = main | polyline(shape, [(300, 200), (300, 380)])  # the model drew the T joined
    seen = main | branch
    rgb = draw(surface(shape, seed=4), seen)
    ann = ribbon_annotation(model, half=6)
    out = refine_thin(ann, rgb, CATS, cell=8)
    crack = (out.id_map == 2).astype(np.uint8)
    n, _ = cv2.connectedComponents(crack, connectivity=8)
    assert n == 2  # one network
    assert ((crack > 0) & seen).sum() / ((crack > 0) | seen).sum() > 0.8  # still the photo's line
    # Two cracks the model drew apart (two parts of one segment's mask, 100 px apart) stay apart:
    # no line is drawn across the surface between them.
    far = main | polyline(shape, [(300, 300), (300, 380)])
    rgb = draw(surface(shape, seed=5), far)
    out = refine_thin(ribbon_annotation(far, half=6), rgb, CATS, cell=8)
    n, _ = cv2.connectedComponents((out.id_map == 2).astype(np.uint8), connectivity=8)
    assert n == 3


def test_a_dark_pore_beside_a_faint_stretch_does_not_give_the_stretch_away_at_the_heads_resolution():
    """Real concrete: the thin head drew a crack at the photo's own resolution (cell 1, a 3-px mask
    on the line), the photo shows it too faintly to be found, and a dark pore below it touches the
    mask and is found as "the line". The mask's pixels beside the pore go back to the surface (a
    band and one cell: 5 px); the faint crack farther along stays (two bands, 8 px, gave it away)."""
    shape = (200, 300)
    crack = polyline(shape, [(10, 100), (290, 100)])
    rgb = draw(surface(shape, seed=3), crack, depth=6)  # too faint for the darkness response
    pore = np.zeros(shape, bool)
    pore[104:109, 148:153] = True
    rgb[pore] = 60
    ids = np.where(crack, 2, 1).astype(np.int32)
    ids[101:106, 148:153] = 2  # the head's mask reaches the pore
    out = refine_thin(PanopticAnnotation(ids, {1: Segment(1, CONCRETE), 2: Segment(2, CRACK)}), rgb, CATS, cell=1.0)
    from_pore = cv2.distanceTransform((~pore).astype(np.uint8), cv2.DIST_L2, 5)
    ys, xs = crack.nonzero()
    still_crack = out.id_map[ys, xs] == 2
    assert not still_crack[from_pore[ys, xs] <= 3].any()  # the ribbon beside the found line
    assert still_crack[from_pore[ys, xs] > 5.5].all()  # the faint crack past it
