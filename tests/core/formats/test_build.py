"""Class maps and instance masks to panoptic annotations; canonical segment ids."""
import numpy as np
import pytest

from core.formats.build import (IGNORE, LATER_ON_TOP, SMALLER_ON_TOP, Instance, canonical, from_class_map,
                                from_instances, is_canonical, segment_table)
from core.panoptic import PanopticAnnotation, Segment, segment_stats

THINGS = {1, 2, 3}


def test_things_split_by_connectivity_stuff_one_segment_per_class():
    cm = np.zeros((8, 8), np.int32)
    cm[0, 0] = cm[1, 1] = 1          # diagonal neighbours: one crack with 8-, two with 4-connectivity
    cm[5:7, 0:3] = 4                 # two stuff blobs of one class -> one segment
    cm[5:7, 5:8] = 4
    ann8, _ = from_class_map(cm, THINGS, connectivity=8)
    ann4, _ = from_class_map(cm, THINGS, connectivity=4)
    assert sorted(s.category_id for s in ann8.segments.values()) == [1, 4]
    assert sorted(s.category_id for s in ann4.segments.values()) == [1, 1, 4]
    np.testing.assert_array_equal(ann8.semantic(), cm)
    ann8.validate()


def test_min_area_and_fill_and_ignore():
    cm = np.zeros((6, 6), np.int32)
    cm[0:3, 0:3] = 1                 # 9 px crack
    cm[5, 5] = 1                     # 1 px crack: below min_area
    cm[0, 5] = IGNORE                # border pixel that must stay void
    ann, warnings = from_class_map(cm, THINGS, min_area=2, fill=4)
    sem = ann.semantic()
    assert len([s for s in ann.segments.values() if s.category_id == 1]) == 1
    assert sem[5, 5] == 4 and sem[0, 5] == 0 and sem[3, 3] == 4
    assert "smaller than 2 px" in warnings[0]
    no_fill, _ = from_class_map(cm, THINGS, min_area=2)
    assert no_fill.semantic()[5, 5] == 0 and no_fill.semantic()[3, 3] == 0


def test_fill_joins_an_existing_stuff_segment_of_that_class():
    cm = np.zeros((4, 4), np.int32)
    cm[0, :] = 4
    cm[3, 3] = 1
    ann, _ = from_class_map(cm, THINGS, fill=4)
    assert sorted(s.category_id for s in ann.segments.values()) == [1, 4]
    assert (ann.id_map > 0).all()


def test_canonical_ids_depend_only_on_pixels_and_classes():
    rng = np.random.default_rng(1)
    cm = np.zeros((20, 20), np.int32)
    for _ in range(12):
        y, x = rng.integers(0, 18, 2)
        cm[y:y + 2, x:x + 2] = rng.integers(1, 5)
    ann, _ = from_class_map(cm, THINGS)
    assert is_canonical(ann)
    # the same partition with scrambled (and huge) ids renumbers to exactly the same thing
    perm = rng.permutation(len(ann.segments)) + 1
    scrambled_ids = {old: int(new) * 100_003 for old, new in zip(sorted(ann.segments), perm)}
    lut = np.zeros(max(ann.segments) + 1, np.int64)
    for old, new in scrambled_ids.items():
        lut[old] = new
    scrambled = PanopticAnnotation(lut[ann.id_map], {new: Segment(new, ann.segments[old].category_id)
                                                     for old, new in scrambled_ids.items()})
    back, stats = canonical(scrambled)
    np.testing.assert_array_equal(back.id_map, ann.id_map)
    assert back.segments == ann.segments
    # ids run 1..N by category, then by first pixel in row-major order
    order = [(ann.segments[s].category_id, stats[s].first) for s in sorted(ann.segments)]
    assert order == sorted(order) and sorted(ann.segments) == list(range(1, len(ann.segments) + 1))


def test_segment_table_agrees_with_the_reference_stats():
    id_map = np.zeros((9, 11), np.int32)
    id_map[1:4, 2:9] = 5
    id_map[6, 0] = 70_000_000 // 10  # a large id takes the compaction path
    id_map[8, 3:5] = 2
    table = segment_table(id_map)
    ref = segment_stats(id_map)
    assert {k: (v.area, list(v.bbox)) for k, v in table.items()} == ref
    assert table[5].first == (1, 2)


def test_more_than_255_segments_keep_distinct_ids():
    cm = np.zeros((40, 40), np.int32)
    cm[::2, ::2] = 1                 # 400 isolated crack pixels (4-connectivity keeps them apart)
    ann, _ = from_class_map(cm, THINGS, connectivity=4)
    assert len(ann.segments) == 400 and int(ann.id_map.max()) == 400


def _inst(mask_slice, cat, shape=(10, 10), **kw):
    m = np.zeros(shape, bool)
    m[mask_slice] = True
    return Instance(m, cat, **kw)


def test_smaller_area_on_top_and_crowd_kept():
    big = _inst(np.s_[0:8, 0:8], 2, label="big")
    small = _inst(np.s_[2:4, 2:4], 1, iscrowd=True, label="small")
    for order in ([big, small], [small, big]):  # listing order does not matter
        ann, _ = from_instances((10, 10), order, THINGS, SMALLER_ON_TOP)
        sem = ann.semantic()
        assert sem[3, 3] == 1 and sem[0, 0] == 2
        assert [s.iscrowd for s in ann.segments.values() if s.category_id == 1] == [True]


def test_later_on_top_groups_and_hidden_warning():
    a = _inst(np.s_[0:4, 0:4], 1, label="a")
    b = _inst(np.s_[0:4, 0:4], 2, label="b")           # drawn later, covers a completely
    g1 = _inst(np.s_[6:8, 0:2], 1, group=7, label="g1")
    g2 = _inst(np.s_[6:8, 5:7], 1, group=7, label="g2")  # same group: one instance in two parts
    ann, warnings = from_instances((10, 10), [a, b, g1, g2], THINGS, LATER_ON_TOP)
    assert ann.semantic()[1, 1] == 2
    assert any("a is completely covered" in w for w in warnings)
    assert ann.id_map[6, 0] == ann.id_map[6, 5] != 0
    assert sorted(s.category_id for s in ann.segments.values()) == [1, 2]


def test_stuff_instances_merge_and_fill():
    s1 = _inst(np.s_[0:2, :], 4)
    s2 = _inst(np.s_[8:10, :], 4)
    ann, _ = from_instances((10, 10), [s1, s2], THINGS, fill=5)
    assert sorted(s.category_id for s in ann.segments.values()) == [4, 5]
    assert (ann.id_map > 0).all()


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError):
        from_instances((2, 2), [], THINGS, rule="random")


def test_from_class_map_agrees_with_a_plain_scipy_reference():
    from scipy import ndimage

    rng = np.random.default_rng(7)
    for _ in range(25):
        cm = rng.choice([0, 0, 0, 1, 2, 4, 5, IGNORE], size=(12, 15)).astype(np.int32)
        # the plain connected-components rule (no bridging through other things' pieces)
        ann, _ = from_class_map(cm, THINGS, connectivity=8, min_area=2, fill=4, bridge_share=None)
        expected = cm.copy()
        n_things = 0
        for cid in (1, 2):
            labels, n = ndimage.label(cm == cid, structure=np.ones((3, 3)))
            sizes = np.bincount(labels.ravel())
            for k in range(1, n + 1):
                if sizes[k] < 2:
                    expected[labels == k] = 0
                else:
                    n_things += 1
        expected[expected == 0] = 4
        expected[expected == IGNORE] = 0
        np.testing.assert_array_equal(ann.semantic(), expected)
        assert sum(s.category_id in THINGS for s in ann.segments.values()) == n_things
        assert is_canonical(ann)
        ann.validate()


def test_a_bar_across_a_spall_leaves_one_spall_and_a_crack_between_two_spalls_does_not_join_them():
    spall, bar, crack, concrete = 2, 3, 1, 4
    cm = np.full((20, 30), concrete, np.int32)
    cm[2:12, 2:14] = spall
    cm[2:12, 7:9] = bar                # a bar right across the spall: two spall parts in the map
    cm[14:18, 20:28] = spall           # a second spall ...
    cm[12:15, 10] = crack              # ... and a crack from the first towards it, through concrete
    cm[15, 10:20] = crack
    ann, _ = from_class_map(cm, THINGS)
    spalls = [s for s in ann.segments.values() if s.category_id == spall]
    assert len(spalls) == 2
    assert len({int(ann.id_map[5, 3]), int(ann.id_map[5, 12])}) == 1      # both parts: one spall
    assert (ann.semantic()[2:12, 7:9] == bar).all()                       # the bar stays a bar
    plain, _ = from_class_map(cm, THINGS, bridge_share=None)
    assert len([s for s in plain.segments.values() if s.category_id == spall]) == 3
