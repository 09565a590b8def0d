"""One defect, one segment: thing queries that split one instance are grouped before the argmax
(default categories: 0 crack, 1 spalling, 2 exposed_rebar (things), 3 concrete, 4 background
(stuff); logit 5 is "no object"). Masks are stride-4 logits of a 64 x 64 input (16 x 16 cells)."""
import numpy as np
import pytest
import torch

from core.categories import default_categories
from core.inference import PanopticPrediction, PredictionMeta
from core.model import PanopticPostProcessor
from core.model.thing_merge import binary_masks, group_leaders

CATS = default_categories()
SIZE = (64, 64)


def _logits(classes_scores):
    rows = []
    for cls, p in classes_scores:
        row = torch.full((6,), -20.0)
        row[cls], row[5] = np.log(p), np.log(1 - p)
        rows.append(row)
    return torch.stack(rows)


def _cells(rows, cols, inside=8.0):
    m = torch.full((16, 16), -8.0)
    m[rows, cols] = inside
    return m


def _outputs(classes_scores, masks):
    return {"pred_logits": _logits(classes_scores)[None], "pred_masks": torch.stack(masks)[None].half().float()}


def _run(classes_scores, masks, threshold=0.5, **kw):
    post = PanopticPostProcessor(5, CATS, **kw)
    return post(_outputs(classes_scores, masks), [SIZE], threshold=threshold)[0]


def _things(ann, name):
    cid = CATS.by_name(name).id
    return [s for s in ann.segments.values() if s.category_id == cid]


# One spall over cells rows 2-11, cols 2-11: query A covers all of it, query B its left part
# with a stronger logit there (the argmax alone would cut the spall in two).
SPALL_WHOLE = _cells(slice(2, 12), slice(2, 12))
SPALL_PART = _cells(slice(2, 12), slice(2, 6), inside=12.0)
CONCRETE = torch.full((16, 16), 1.0)


def test_two_queries_that_split_one_spall_give_one_segment():
    ann = _run([(1, 0.9), (1, 0.8), (3, 0.95)], [SPALL_WHOLE, SPALL_PART, CONCRETE])
    spalls = _things(ann, "spalling")
    assert len(spalls) == 1
    assert spalls[0].score == pytest.approx(0.9, abs=1e-5)  # the group's best query
    # The whole spall (cells 2-11 = pixels 8-47, give or take the bilinear rim), both queries' pixels.
    assert (ann.id_map[10:46, 10:46] == spalls[0].id).all()
    assert abs(int((ann.id_map == spalls[0].id).sum()) - 40 * 40) < 80
    # Without grouping the same outputs tile the spall (what the shipped model's users saw).
    assert len(_things(_run([(1, 0.9), (1, 0.8), (3, 0.95)], [SPALL_WHOLE, SPALL_PART, CONCRETE],
                            merge_overlap=None), "spalling")) == 2


def test_two_separate_spalls_stay_two_even_when_touching():
    left, right = _cells(slice(2, 12), slice(0, 8)), _cells(slice(2, 12), slice(7, 16))  # share one column
    ann = _run([(1, 0.9), (1, 0.85), (3, 0.95)], [left, right, CONCRETE])
    assert len(_things(ann, "spalling")) == 2


def test_only_the_same_class_is_grouped():
    rebar = _cells(slice(5, 7), slice(2, 12), inside=12.0)  # a bar lying inside the spall
    ann = _run([(1, 0.9), (2, 0.8), (3, 0.95)], [SPALL_WHOLE, rebar, CONCRETE])
    assert len(_things(ann, "spalling")) == 1 and len(_things(ann, "exposed_rebar")) == 1


def test_a_query_joins_the_leader_it_overlaps_most_and_groups_do_not_chain():
    # A (best) and C are separate spalls; B straddles them, 60 % in A: B joins A, never C to A.
    a, c = _cells(slice(0, 8), slice(0, 8)), _cells(slice(8, 16), slice(0, 8))
    b = _cells(slice(3, 11), slice(0, 4))  # 5 rows in A, 3 in C
    bits = binary_masks(torch.stack([a, b, c]).numpy(), *SIZE)
    leaders = group_leaders(bits, np.array([0.9, 0.8, 0.85]), np.array([1, 1, 1]),
                            np.array([True, True, True, False, False]), 0.6)
    assert leaders.tolist() == [0, 0, 2]
    assert group_leaders(bits, np.array([0.9, 0.8, 0.85]), np.array([1, 1, 1]),
                         np.array([True, True, True, False, False]), None).tolist() == [0, 1, 2]


def test_a_bad_overlap_is_refused():
    with pytest.raises(ValueError, match="merge overlap"):
        group_leaders(np.ones((2, 4), bool), np.array([0.9, 0.8]), np.array([1, 1]), np.array([True] * 5), 0.0)


def _prediction(classes_scores, masks, merge_overlap=0.65):
    logits = _logits(classes_scores)
    meta = PredictionMeta(SIZE, SIZE, 0.3, merge_overlap=merge_overlap)
    return PanopticPrediction(logits.numpy(), torch.stack(masks).half().numpy(), CATS, meta)


def test_rethresholding_groups_as_the_post_processor_and_never_adds_a_segment():
    qs = [(1, 0.9), (1, 0.6), (1, 0.55), (1, 0.7), (3, 0.95)]
    other = _cells(slice(12, 16), slice(10, 16))
    masks = [SPALL_WHOLE, SPALL_PART, _cells(slice(8, 12), slice(8, 12), inside=12.0), other, CONCRETE]
    pred = _prediction(qs, masks)
    for t in (0.3, 0.5, 0.65, 0.8):
        got = pred.panoptic(t)
        ref = _run(qs, masks, threshold=t)
        assert np.array_equal(got.id_map, ref.id_map) and got.segments == ref.segments, t
    counts = [len(pred.panoptic(t).segments) for t in (0.3, 0.5, 0.65, 0.8, 0.92)]
    assert counts == sorted(counts, reverse=True) and counts[0] == 3  # spall, other spall, concrete


def test_the_grouping_rule_is_stored_with_the_prediction():
    qs, masks = [(1, 0.9), (1, 0.8), (3, 0.95)], [SPALL_WHOLE, SPALL_PART, CONCRETE]
    for overlap, spalls in ((None, 2), (0.65, 1)):
        back = PanopticPrediction.from_bytes(_prediction(qs, masks, overlap).to_bytes())
        assert back.meta.merge_overlap == overlap
        assert len(_things(back.panoptic(0.5), "spalling")) == spalls
