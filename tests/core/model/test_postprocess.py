"""Panoptic post-processing on hand-made model outputs (default categories: 0 crack, 1 spalling,
2 exposed_rebar (things), 3 concrete, 4 background (stuff); logit 5 is "no object")."""
import numpy as np
import pytest
import torch

from core.model import PanopticPostProcessor

NO_OBJECT = 5


def _logits(classes_scores):
    """One row of logits per (class index, probability) whose softmax gives that probability."""
    rows = []
    for cls, p in classes_scores:
        row = torch.full((6,), -20.0)
        # p on cls, the rest on "no object" (or on class 0 when cls is "no object")
        other = NO_OBJECT if cls != NO_OBJECT else 0
        row[cls], row[other] = np.log(p), np.log(1 - p)
        rows.append(row)
    return torch.stack(rows)[None]


def _outputs(classes_scores, masks):
    return {"pred_logits": _logits(classes_scores), "pred_masks": torch.stack(masks)[None].float(),
            "pred_boxes": torch.full((1, len(masks), 4), 0.5)}


def _region(rows, cols, h=8, w=8, inside=10.0, outside=-10.0):
    m = torch.full((h, w), outside)
    m[rows, cols] = inside
    return m


def test_kept_queries_merge_stuff_and_map_category_ids(categories):
    post = PanopticPostProcessor(5, categories)
    masks = [_region(slice(0, 8), slice(0, 4)),        # crack: left half
             _region(slice(0, 4), slice(4, 8)),        # concrete: top right
             _region(slice(4, 8), slice(4, 8)),        # concrete again: bottom right -> merged
             _region(slice(0, 8), slice(0, 8), inside=20.0),  # "no object": dropped whatever its mask
             _region(slice(0, 8), slice(0, 8), inside=30.0)]  # spalling below the threshold: dropped
    out = _outputs([(0, 0.9), (3, 0.8), (3, 0.95), (NO_OBJECT, 0.9), (1, 0.4)], masks)
    [ann] = post(out, [(32, 32)], threshold=0.7)
    ann.validate(categories)
    assert ann.shape == (32, 32)
    by_cat = {s.category_id: s for s in ann.segments.values()}
    assert set(by_cat) == {1, 4}  # crack, concrete (one segment)
    crack, concrete = by_cat[1], by_cat[4]
    assert (ann.id_map[:, :16] == crack.id).all() and (ann.id_map[:, 16:] == concrete.id).all()
    assert crack.score == pytest.approx(0.9) and concrete.score == pytest.approx(0.95)
    assert all(s.source == "model" and not s.iscrowd for s in ann.segments.values())


def test_two_things_of_one_class_stay_two_segments(categories):
    post = PanopticPostProcessor(5, categories)
    out = _outputs([(0, 0.9), (0, 0.9)], [_region(slice(0, 8), slice(0, 4)), _region(slice(0, 8), slice(4, 8))])
    [ann] = post(out, [(32, 32)], threshold=0.5)
    assert len(ann.segments) == 2 and all(s.category_id == 1 for s in ann.segments.values())


def test_tiny_segments_are_removed_and_their_pixels_reassigned(categories):
    post = PanopticPostProcessor(5, categories, min_area=20)
    big = _region(slice(0, 8), slice(0, 8), inside=5.0)
    tiny = _region(slice(3, 4), slice(3, 4), inside=10.0)  # one stride-4 cell: about 16 pixels
    out = _outputs([(3, 0.9), (1, 0.9)], [big, tiny])
    [ann] = post(out, [(32, 32)], threshold=0.5)
    assert [s.category_id for s in ann.segments.values()] == [4]
    assert (ann.id_map == next(iter(ann.segments))).all()


def test_padding_is_cropped_and_the_map_resized_to_the_original_photo(categories):
    post = PanopticPostProcessor(5, categories)
    # padded input 32 x 32; the image itself is 32 x 16 (left half), the photo 64 x 32
    out = _outputs([(0, 0.9), (3, 0.9)], [_region(slice(0, 4), slice(0, 8)), _region(slice(4, 8), slice(0, 8))])
    [ann] = post(out, [(32, 16)], [(64, 32)], threshold=0.5)
    assert ann.shape == (64, 32)
    crack = next(s.id for s in ann.segments.values() if s.category_id == 1)
    assert (ann.id_map[:32] == crack).all() and (ann.id_map[32:] != crack).all()


def test_masks_are_aligned_with_the_input_pixels(categories):
    # A query owning exactly stride-4 cells [1, 3) must own input pixels [4, 12) (+/- the blur of
    # the bilinear edge, which is symmetric).
    post = PanopticPostProcessor(5, categories)
    out = _outputs([(0, 0.9), (3, 0.9)], [_region(slice(0, 8), slice(1, 3)), torch.zeros(8, 8)])
    [ann] = post(out, [(32, 32)], threshold=0.5)
    crack = next(s.id for s in ann.segments.values() if s.category_id == 1)
    cols = np.flatnonzero((ann.id_map == crack).any(0))
    assert (cols.min() + cols.max() + 1) / 2 == pytest.approx(8.0)


def test_without_categories_class_i_is_category_i_plus_one():
    post = PanopticPostProcessor(5)
    out = _outputs([(2, 0.9)], [torch.zeros(8, 8)])
    [ann] = post(out, [(32, 32)], threshold=0.5)
    assert [s.category_id for s in ann.segments.values()] == [3]


def test_category_count_must_match_the_classes(categories):
    with pytest.raises(ValueError, match="5 categories"):
        PanopticPostProcessor(4, categories)
