"""PanopticPrediction: re-thresholding without the network, against the model's post-processor."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.errors import AnnotationError
from core.inference import PanopticPrediction, PredictionMeta, expand_nearest
from tests.core.inference.cases import CATS, post_process, prediction_of, random_outputs, reference_levels, same

CASES = [(seed, 16, (61, 83), (200, 150)) for seed in range(12)] + \
        [(seed, 30, (97, 64), (301, 211)) for seed in range(12, 20)]


@pytest.mark.parametrize("seed, queries, size, image_size", CASES[:10])
def test_lowest_threshold_is_the_post_processor_on_every_kept_query(seed, queries, size, image_size):
    logits, masks = random_outputs(seed, queries, size)
    pred = prediction_of(logits, masks, size, image_size)
    ref = post_process(logits, masks, list(range(queries)), size, image_size, 0.3)
    got = pred.panoptic(0.3)
    assert got.shape == image_size
    assert same(ref, got)


def test_every_threshold_follows_the_documented_rule_exactly():
    """At each score level: the model's own post-processor on the queries that made the previous
    level's segments. These outputs hide queries, tie, and make tiny segments on purpose."""
    compared = 0
    for seed, queries, size, image_size in CASES:
        logits, masks = random_outputs(seed, queries, size)
        pred = prediction_of(logits, masks, size, image_size)
        levels = reference_levels(logits, masks, size, image_size)
        for (t, ref), nxt in zip(levels, [lv[0] for lv in levels[1:]] + [1.0]):
            for threshold in {t, (t + nxt) / 2}:  # at a score and between two scores
                if threshold < 1.0:
                    assert same(ref, pred.panoptic(threshold)), (seed, threshold)
                    compared += 1
    assert compared > 300


def test_equal_to_the_post_processor_at_any_threshold_when_masks_do_not_hide_each_other():
    """Blob-like masks as a trained DETR makes: raising the threshold hides nothing, so every
    threshold gives exactly what the post-processor gives when run afresh at it."""
    g = torch.Generator().manual_seed(7)
    q, size = 12, (64, 96)
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(24.0), indexing="ij")
    centres = torch.rand(q, 2, generator=g) * torch.tensor([16.0, 24.0])
    masks = (8 - ((yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2).sqrt()).half().float()
    logits = torch.randn(q, len(CATS) + 1, generator=g)
    logits[torch.arange(q), torch.randint(0, 3, (q,), generator=g)] += 2 + torch.rand(q, generator=g) * 4
    pred = prediction_of(logits, masks, size, size)
    for t in [0.3] + pred.score_levels()[:-1]:
        assert same(post_process(logits, masks, list(range(q)), size, size, t), pred.panoptic(t)), t


def _identities(ann):
    return {(s.category_id, s.score): k for k, s in ann.segments.items()}


@pytest.mark.parametrize("seed", range(20, 30))
def test_a_higher_threshold_never_adds_a_segment_and_remaining_things_keep_their_pixels(seed):
    logits, masks = random_outputs(seed, 20, (64, 80))
    pred = prediction_of(logits, masks, (64, 80), (64, 80))
    thresholds = [0.3] + [t for t in pred.score_levels() if t < 1.0]
    anns = [pred.panoptic(t) for t in thresholds]
    assert len(anns[0].segments) > len(anns[-1].segments)
    for i, low in enumerate(anns):
        for high, t in zip(anns[i + 1:], thresholds[i + 1:]):
            lo, hi = _identities(low), _identities(high)
            assert set(hi) <= set(lo)
            assert all(score > t for _, score in hi)
            for key in hi:
                # A thing keeps its pixels unless one of its own (grouped) queries dropped out:
                # that query's pixels are then decided afresh among the remaining ones.
                if CATS.by_id(key[0]).isthing and _members(pred, key[1], t) == _members(pred, key[1], thresholds[i]):
                    assert not ((low.id_map == lo[key]) & (high.id_map != hi[key])).any()


def _members(pred, score, threshold):
    """The kept queries above ``threshold`` in the thing group whose leader scores ``score``."""
    leader = int(np.flatnonzero(pred.scores == np.float32(score))[0])
    return set(np.flatnonzero((pred.thing_leaders() == leader) & (pred.scores > threshold)).tolist())


def test_threshold_outside_the_kept_range_is_refused():
    logits, masks = random_outputs(1)
    pred = prediction_of(logits, masks, (61, 83), (61, 83), min_threshold=0.5)
    with pytest.raises(ValueError, match="0.5"):
        pred.panoptic(0.4)
    with pytest.raises(ValueError):
        pred.panoptic(1.0)
    assert pred.candidate_count(0.5) == len(pred) > 0


def test_bytes_round_trip_gives_the_same_results():
    logits, masks = random_outputs(3)
    pred = prediction_of(logits, masks, (61, 83), (250, 180))
    data = pred.to_bytes()
    back = PanopticPrediction.from_bytes(data)
    assert back.image_size == (250, 180) and back.input_size == (61, 83) and back.categories == CATS
    np.testing.assert_array_equal(back.query_ids, pred.query_ids)
    for t in (0.3, 0.55, 0.8):
        assert same(pred.panoptic(t), back.panoptic(t))
    assert b"pickle" not in data[:64]
    with pytest.raises(AnnotationError, match="damaged"):
        PanopticPrediction.from_bytes(data[: len(data) // 2], "image 7")


def test_a_newer_payload_is_refused():
    import io
    import json

    logits, masks = random_outputs(3)
    pred = prediction_of(logits, masks, (61, 83), (61, 83))
    header = dict(pred.meta_json(), payload_version=99, categories=CATS.to_json())
    buf = io.BytesIO()
    np.savez_compressed(buf, logits=pred.logits, masks=pred.masks, query_ids=pred.query_ids,
                        header=np.frombuffer(json.dumps(header).encode(), np.uint8))
    with pytest.raises(AnnotationError, match="newer"):
        PanopticPrediction.from_bytes(buf.getvalue())


def test_no_query_above_the_threshold_gives_an_all_void_photo():
    meta = PredictionMeta((30, 40), (24, 32), 0.3)
    pred = PanopticPrediction(np.zeros((0, len(CATS) + 1), np.float32), np.zeros((0, 6, 8), np.float16), CATS, meta)
    ann = pred.panoptic(0.3)
    assert ann.shape == (30, 40) and not ann.segments and not ann.id_map.any()


@pytest.mark.parametrize("small, big", [((5, 7), (5, 7)), ((61, 83), (3000, 4000)), ((97, 64), (211, 301)),
                                        ((8, 8), (5, 3))])
def test_expand_nearest_follows_the_post_processors_index_rule(small, big):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 250, small).astype(np.uint8)
    ref = F.interpolate(torch.from_numpy(labels.astype(np.float32))[None, None], size=big, mode="nearest")[0, 0]
    got = expand_nearest(labels, *big)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, ref.numpy().astype(np.int32))


def test_any_output_size_shows_the_same_labels():
    logits, masks = random_outputs(5)
    pred = prediction_of(logits, masks, (61, 83), (610, 830))
    small, segments = pred.label_map(0.4)
    preview = pred.panoptic(0.4, shape=(122, 166))
    assert preview.segments == segments
    np.testing.assert_array_equal(preview.id_map, np.kron(small, np.ones((2, 2), np.int32)))
