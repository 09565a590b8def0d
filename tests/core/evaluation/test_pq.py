"""The in-memory PQ accumulator: panopticapi's numbers on every scenario, and its contract."""
import json
import math

import numpy as np
import pytest

from core.categories import Category, CategorySet
from core.errors import AnnotationError
from core.evaluation import PQAccumulator, PQResult
from core.evaluation.pq import _histogram_bincount, _histogram_u8
from core.panoptic import PanopticAnnotation, Segment
from tests.core.evaluation.cases import (CATS, CONCRETE, CRACK, SCENARIOS, SPALLING, Painter, random_pairs,
                                         reference_stats, write_pairs)


def evaluate(pairs, **kwargs) -> PQResult:
    acc = PQAccumulator(CATS, **kwargs)
    for gt, pred in pairs:
        acc.process(gt, pred)
    return acc.evaluate()


def assert_equals_panopticapi(pairs, folder):
    """Counts, IoU sums and all averages equal panopticapi's pq_compute_single_core + pq_average."""
    stat, cats = reference_stats(*write_pairs(folder, pairs))
    ours = evaluate(pairs)
    for row in ours.per_class:
        ref = stat[row.category_id]
        assert (row.tp, row.fp, row.fn) == (ref.tp, ref.fp, ref.fn), row.name
        assert row.iou == pytest.approx(ref.iou, abs=1e-12)
    for row, isthing in zip(ours.groups, (None, True, False)):
        try:
            ref, ref_per_class = stat.pq_average(cats, isthing=isthing)
        except ZeroDivisionError:  # panopticapi has no number for an empty group; we say NaN
            assert row.n == 0 and math.isnan(row.pq), row.name
            continue
        assert row.n == ref["n"], row.name
        for key in ("pq", "sq", "rq"):
            assert getattr(row, key) == pytest.approx(ref[key], abs=1e-9), (row.name, key)
        for cat_id, ref_row in ref_per_class.items():
            for key in ("pq", "sq", "rq"):
                assert getattr(ours.class_row(cat_id), key) == pytest.approx(ref_row[key], abs=1e-9)
    return ours


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_equals_panopticapi(name, tmp_path):
    assert_equals_panopticapi(SCENARIOS[name](), tmp_path)


@pytest.mark.parametrize("seed", range(8))
def test_random_pairs_equal_panopticapi(seed, tmp_path):
    assert_equals_panopticapi(random_pairs(seed), tmp_path)


def test_many_segments_and_ids_above_255_equal_panopticapi(tmp_path):
    """More than 255 segments (the bincount histogram) and ids in the G channel (raw-id bins)."""
    g, p = Painter(60, 80), Painter(60, 80)
    for y in range(0, 60, 3):
        for x in range(0, 80, 4):
            g.rect(y, y + 3, x, x + 4, CRACK)
            p.rect(y, y + 3, x + (x // 4) % 3, x + 4, CRACK)  # a third of them shifted off
    big_ids = Painter(id_base=300)
    big_ids.rect(5, 20, 5, 40, SPALLING)
    big_pred = Painter(id_base=500)
    big_pred.rect(6, 20, 5, 40, SPALLING)
    pairs = [(g.build(), p.build()), (big_ids.build(), big_pred.build())]
    assert len(pairs[0][0].segments) > 256
    result = assert_equals_panopticapi(pairs, tmp_path)
    assert result.class_row(CRACK).tp > 200


def test_perfect_prediction_scores_100_and_counts_every_segment():
    gt, pred = SCENARIOS["perfect"]()[0]
    result = evaluate([(gt, pred)])
    assert (result.all.pq, result.all.sq, result.all.rq) == (1.0, 1.0, 1.0)
    assert result.all.n == 5 and result.all.tp == len(gt.segments) and result.all.fp == result.all.fn == 0


def test_iou_of_exactly_one_half_does_not_match():
    (gt, pred), (gt2, pred2) = SCENARIOS["exact_half_iou"]()
    half = evaluate([(gt, pred)]).class_row(CRACK)
    assert (half.tp, half.fp, half.fn) == (0, 1, 1)
    more = evaluate([(gt2, pred2)]).class_row(CRACK)
    assert (more.tp, more.fp, more.fn) == (1, 0, 0) and more.sq == pytest.approx(0.6)


def test_crowd_and_void_are_ignored_as_panopticapi_does():
    crack = evaluate(SCENARIOS["crowd_regions"]()).class_row(CRACK)
    # TP: the normal crack; FP: the prediction on the first crack crowd (only the last one counts)
    assert (crack.tp, crack.fp, crack.fn) == (1, 1, 0)
    assert evaluate(SCENARIOS["crowd_regions"]()).class_row(SPALLING).fp == 0
    void = evaluate(SCENARIOS["void_regions"]()).class_row(CRACK)
    assert void.fp == 1  # only the prediction with exactly half of it on void


def test_categories_without_segments_are_left_out_of_the_mean():
    result = evaluate(SCENARIOS["absent_from_gt"]())
    rebar, spalling = result.class_row(3), result.class_row(SPALLING)
    assert (rebar.n, rebar.fp, rebar.rq) == (1, 1, 0.0)  # predicted but never in GT: counts, with PQ 0
    assert (spalling.n, spalling.pq) == (0, 0.0)  # in neither: excluded
    assert result.things.n == 2 and result.all.n == 3


def test_empty_evaluation_and_empty_groups_are_nan_not_an_error():
    result = PQAccumulator(CATS).evaluate()
    assert result.num_images == 0 and result.all.n == 0 and math.isnan(result.all.pq)
    stuff_only = evaluate(SCENARIOS["stuff_only"]())
    assert stuff_only.things.n == 0 and math.isnan(stuff_only.things.pq) and stuff_only.stuff.n == 2


def test_per_image_pq_finds_the_worst_image():
    perfect = SCENARIOS["perfect"]()[0]
    bad = SCENARIOS["missed_and_hallucinated"]()[0]
    empty = SCENARIOS["empty_images"]()[0]
    acc = PQAccumulator(CATS)
    acc.process(*perfect, image_id="a.jpg")
    acc.process(*bad, image_id="b.jpg")
    acc.process(*empty, image_id="c.jpg")
    result = acc.evaluate()
    assert [r.image_id for r in result.per_image] == ["a.jpg", "b.jpg", "c.jpg"]
    assert result.per_image[0].pq == 1.0 and math.isnan(result.per_image[2].pq)
    assert [r.image_id for r in result.worst_images()] == ["b.jpg", "a.jpg", "c.jpg"]
    assert PQAccumulator(CATS, keep_per_image=False).evaluate().per_image == ()


def test_reset_and_merge():
    pairs = random_pairs(3)
    whole = evaluate(pairs)
    a, b = PQAccumulator(CATS), PQAccumulator(CATS)
    a.process(*SCENARIOS["perfect"]()[0])
    a.reset()
    for k, pair in enumerate(pairs):
        (a if k % 2 else b).process(*pair)
    a.merge(b)
    merged = a.evaluate()
    assert merged.num_images == len(pairs)
    for ours, ref in zip(merged.groups + merged.per_class, whole.groups + whole.per_class):
        assert (ours.tp, ours.fp, ours.fn, ours.n) == (ref.tp, ref.fp, ref.fn, ref.n)
        assert ours.pq == pytest.approx(ref.pq, abs=1e-12)


def test_inconsistent_inputs_raise_with_panopticapi_wording():
    gt, pred = SCENARIOS["perfect"]()[0]
    acc = PQAccumulator(CATS)
    missing = PanopticAnnotation(pred.id_map, {k: v for k, v in pred.segments.items() if k != 3})
    with pytest.raises(AnnotationError, match="In the image with ID 7 segment with ID 3 is presented in PNG and "
                                              "not presented in JSON"):
        acc.process(gt, missing, image_id=7)
    with pytest.raises(AnnotationError, match=r"the following segment IDs \[99\] are presented in JSON and not"):
        acc.process(gt, pred.with_segment(Segment(99, CRACK)))
    with pytest.raises(AnnotationError, match="segment with ID 3 has unknown category_id 42"):
        acc.process(gt, pred.relabelled(3, 42))
    with pytest.raises(AnnotationError, match="the prediction is 28x40 but the ground truth is 56x40"):
        acc.process(gt, PanopticAnnotation(pred.id_map[:, :28], pred.segments).pruned())
    negative = gt.id_map.copy()
    negative[0, 0] = -5
    with pytest.raises(AnnotationError, match="outside"):
        acc.process(PanopticAnnotation(negative, gt.segments), pred)
    assert acc.num_images == 0  # nothing half-added


@pytest.mark.parametrize("seed", range(3))
def test_both_histograms_count_the_same(seed):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 40, (37, 53)).astype(np.int32)
    p = rng.integers(0, 200, (37, 53)).astype(np.int32)
    np.testing.assert_array_equal(_histogram_u8(g, p, 40, 200), _histogram_bincount(g, p, 40, 200))


def test_u8_histogram_stays_exact_beyond_float32_integers():
    """OpenCV counts in float32; a count above 2**24 must still be exact (odd on purpose)."""
    ones = np.ones((4099, 4101), np.uint8)
    assert ones.size > 2 ** 24 and ones.size % 2 == 1
    assert _histogram_u8(ones, ones, 2, 2)[1, 1] == ones.size


def test_result_json_round_trip_holds_plain_numbers():
    result = evaluate(SCENARIOS["stuff_only"]() + SCENARIOS["empty_images"]())
    text = json.dumps(result.to_json(), allow_nan=False)
    back = PQResult.from_json(json.loads(text))
    assert back.to_json() == result.to_json() and back.per_class == result.per_class and back.all == result.all
    assert any(math.isnan(r.pq) for r in back.per_image)  # null came back as NaN
    data = json.loads(text)
    assert set(data) >= {"All", "Things", "Stuff", "per_class"}  # readable by panopticapi-style scripts
    assert data["per_class"][str(CONCRETE)]["name"] == "concrete"


def test_categories_of_a_custom_set_and_their_order():
    cats = CategorySet((Category(10, "pipe", False, (1, 2, 3)), Category(7, "hole", True, (3, 2, 1))))
    gt = PanopticAnnotation(np.array([[1, 1, 2, 2]], np.int32), {1: Segment(1, 10), 2: Segment(2, 7)})
    acc = PQAccumulator(cats)
    acc.process(gt, gt)
    result = acc.evaluate()
    assert [r.name for r in result.per_class] == ["pipe", "hole"]
    assert result.stuff.n == 1 and result.things.n == 1 and result.all.pq == 1.0


def test_memory_stays_flat_while_streaming():
    import tracemalloc

    pair = SCENARIOS["missed_and_hallucinated"]()[0]
    acc = PQAccumulator(CATS, keep_per_image=False)
    for _ in range(20):
        acc.process(*pair)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(400):
            acc.process(*pair)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert acc.num_images == 420
    assert grown < 20_000  # bytes, for 400 images: nothing per image is kept


# --- the lookup from segment ids to small labels ---------------------------------------------------
def _positions(ids: np.ndarray, id_map: np.ndarray) -> np.ndarray:
    """Reference labels: k + 1 for the k-th listed id (every pixel id is listed)."""
    pos = {int(v): k + 1 for k, v in enumerate(ids)}
    return np.vectorize(pos.get)(id_map)


def test_table_labels_map_listed_ids_void_and_unlisted_ids():
    from core.evaluation.pq import UNLISTED, table_labels

    big, other, stray = 2 ** 24 - 1, 123_456, 654_321
    id_map = np.array([[0, big, other], [stray, other, 0]], np.uint32)
    np.testing.assert_array_equal(table_labels(id_map, np.array([other, big])), [[0, 2, 1], [UNLISTED, 1, 0]])
    # The lookup is cleared after each use: ids listed before are unlisted now.
    np.testing.assert_array_equal(table_labels(id_map, np.array([stray])),
                                  [[0, UNLISTED, UNLISTED], [1, UNLISTED, 0]])
    np.testing.assert_array_equal(table_labels(id_map, np.array([], np.int64)),
                                  [[0, UNLISTED, UNLISTED], [UNLISTED, UNLISTED, 0]])
    # Tables it cannot label: the general path decides (and names the error).
    assert table_labels(id_map, np.arange(1, 256)) is None
    assert table_labels(id_map, np.array([0, big])) is None
    assert table_labels(id_map, np.array([2 ** 24])) is None


def test_table_labels_are_thread_safe():
    from concurrent.futures import ThreadPoolExecutor

    from core.evaluation.pq import table_labels

    def one(seed: int) -> bool:
        rng = np.random.default_rng(seed)
        ids = rng.choice(2 ** 24 - 1, 50, replace=False) + 1
        id_map = ids[rng.integers(0, 50, (64, 64))]
        expected = _positions(ids, id_map)
        for _ in range(20):
            np.testing.assert_array_equal(table_labels(id_map, ids), expected)
        return True

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(one, range(8)))


def test_colour_ids_in_memory_equal_panopticapi(tmp_path):
    from tests.core.evaluation.cases import coco_style

    pairs = coco_style(SCENARIOS["crowd_regions"]() + SCENARIOS["split_and_merged"]() + random_pairs(4), seed=2)
    assert_equals_panopticapi(pairs, tmp_path)
