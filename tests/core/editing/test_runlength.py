"""Property tests of run-length coding: the edit record's codec (``core.editing.runlength``) and
COCO RLE (``core.formats.rle``, checked against pycocotools)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.editing.runlength import DENSE_ID_LIMIT, RunLength, area_deltas, compute_areas, same_runs
from core.formats.rle import counts_to_mask, mask_to_rle, rle_string_counts, segmentation_to_mask
from core.idpng import MAX_SEGMENT_ID

shapes = st.tuples(st.integers(0, 9), st.integers(0, 9))
# few distinct values so that runs form; some ids past the dense-table limit and up to 24 bits
ids = st.one_of(st.integers(0, 3), st.sampled_from([DENSE_ID_LIMIT - 1, DENSE_ID_LIMIT, MAX_SEGMENT_ID]))
patches = arrays(np.int32, shapes, elements=ids)


def _counts(a: np.ndarray) -> dict[int, int]:
    v, c = np.unique(a, return_counts=True)
    return {int(x): int(n) for x, n in zip(v, c)}


@settings(max_examples=150, deadline=None)
@given(patches)
def test_run_length_decodes_to_the_patch_with_the_fewest_runs(patch):
    rl = RunLength.encode(patch)
    np.testing.assert_array_equal(rl.decode(), patch.ravel())
    assert rl.decode().dtype == np.int32
    flat = patch.ravel()
    assert rl.values.size == (0 if flat.size == 0 else 1 + int(np.count_nonzero(flat[1:] != flat[:-1])))
    assert np.all(np.diff(rl.ends) > 0) and (rl.ends[-1] == flat.size if flat.size else rl.ends.size == 0)
    assert rl.counts() == _counts(flat)
    assert same_runs(rl, RunLength.encode(patch.copy()))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_area_deltas_are_the_pixel_count_differences(data):
    shape = data.draw(shapes)
    before = data.draw(arrays(np.int32, shape, elements=ids))
    after = data.draw(arrays(np.int32, shape, elements=ids))
    a, b = _counts(before), _counts(after)
    expected = {v: b.get(v, 0) - a.get(v, 0) for v in set(a) | set(b)}
    assert area_deltas(RunLength.encode(before), RunLength.encode(after)) == {v: d for v, d in expected.items() if d}
    assert same_runs(RunLength.encode(before), RunLength.encode(after)) == np.array_equal(before, after)


@settings(max_examples=100, deadline=None)
@given(patches)
def test_areas_count_every_segment_and_never_void(id_map):
    assert compute_areas(id_map) == {v: n for v, n in _counts(id_map).items() if v != 0}


masks = arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 12)))


def _column_major_runs(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed counts: alternating 0/1 run lengths down the columns, starting with 0s."""
    flat = mask.T.ravel().astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], change, [flat.size]])).tolist()
    return ([0] + runs) if flat[0] else runs


@settings(max_examples=150, deadline=None)
@given(masks)
def test_coco_rle_round_trips_and_agrees_with_pycocotools(mask):
    from pycocotools import mask as mask_utils

    h, w = mask.shape
    rle = mask_to_rle(mask)
    assert rle["size"] == [h, w] and isinstance(rle["counts"], str)
    np.testing.assert_array_equal(segmentation_to_mask(rle, h, w), mask)
    counts = _column_major_runs(mask)
    assert rle_string_counts(rle["counts"]) == counts  # our parser reads pycocotools' strings
    np.testing.assert_array_equal(counts_to_mask(counts, h, w), mask)
    np.testing.assert_array_equal(segmentation_to_mask({"size": [h, w], "counts": counts}, h, w), mask)
    # pycocotools compresses the uncompressed form to the string we wrote, and measures it as we count
    compressed = mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    assert compressed["counts"].decode("ascii") == rle["counts"]
    assert int(mask_utils.area(compressed)) == int(mask.sum())
