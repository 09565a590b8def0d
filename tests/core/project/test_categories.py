"""Category edits never relabel pixels silently; deleting a used class needs a decision."""
import numpy as np
import pytest

from core.categories import Category, CategorySet
from core.errors import CategoryError
from core.panoptic import PanopticAnnotation, Segment
from core.project import CategoryInUseError

from tests.support.project import same_annotation


@pytest.fixture
def annotated(project, photos):
    """Two images: cracks (thing 1) id 10 and 11, spalling (thing 2) id 20, concrete (stuff 4) id 7."""
    imgs = project.images.add_files(photos(2, size=(20, 30))).added
    anns = {}
    for im in imgs:
        m = np.full((20, 30), 7, np.int32)
        m[0:3, :] = 10
        m[5:8, :] = 11
        m[10:14, 0:10] = 20
        m[18:, :] = 0
        segs = {7: Segment(7, 4), 10: Segment(10, 1), 11: Segment(11, 1, source="model", score=0.8),
                20: Segment(20, 2)}
        anns[im.id] = PanopticAnnotation(m, segs)
        project.annotations.save(im.id, anns[im.id])
    return imgs, anns


def test_rename_recolour_reorder_keep_pixels(project, annotated):
    imgs, anns = annotated
    crack = project.categories.get().by_id(1)
    project.categories.update(Category(1, "Riss", True, (1, 2, 3), "defect"))
    project.categories.reorder([5, 4, 3, 2, 1])
    cats = project.categories.get()
    assert cats.ids == [5, 4, 3, 2, 1] and cats.by_id(1).name == "Riss" and cats.by_id(1).color == (1, 2, 3)
    assert crack.name == "crack"
    for im in imgs:
        assert same_annotation(project.annotations.load(im.id), anns[im.id])
    with pytest.raises(CategoryError, match="duplicate category name"):
        project.categories.update(Category(2, "Riss", True, (0, 0, 0)))
    with pytest.raises(CategoryError, match="every category id once"):
        project.categories.reorder([1, 2])


def test_swapping_two_names_in_one_edit(project):
    cats = project.categories.get()
    a, b = cats.by_id(1), cats.by_id(2)
    swapped = CategorySet(tuple(Category(1, b.name, a.isthing, a.color) if c.id == 1 else
                                Category(2, a.name, b.isthing, b.color) if c.id == 2 else c for c in cats))
    project.categories.replace_all(swapped)  # one edit: UNIQUE(name) must not trip half-way
    got = project.categories.get()
    assert (got.by_id(1).name, got.by_id(2).name) == ("spalling", "crack")


def test_add_gives_fresh_ids_never_reused(project):
    rust = project.categories.add("rust", True, (200, 100, 0))
    assert rust.id == 6 and project.categories.get().by_id(6) == rust
    project.categories.delete(6)
    assert project.categories.add("efflorescence", False).id == 7  # 6 stays retired
    with pytest.raises(CategoryError, match="duplicate category name"):
        project.categories.add("crack", True)


def test_deleting_a_used_category_without_a_decision_is_refused(project, annotated):
    imgs, anns = annotated
    with pytest.raises(CategoryInUseError) as e:
        project.categories.delete(1)
    err = e.value
    assert (err.segments, err.images, err.pixels) == (4, 2, 2 * 2 * 3 * 30)
    assert "reassign_to" in str(err)
    assert 1 in project.categories.get()
    for im in imgs:
        assert same_annotation(project.annotations.load(im.id), anns[im.id])


def test_delete_unused_category_needs_no_decision(project, annotated):
    project.categories.delete(3)
    assert 3 not in project.categories.get()


def test_delete_reassigning_to_void_clears_exactly_those_pixels(project, annotated):
    imgs, anns = annotated
    project.categories.delete(1, reassign_to=None)
    for im in imgs:
        back = project.annotations.load(im.id)
        old = anns[im.id]
        cleared = np.isin(old.id_map, [10, 11])
        assert (back.id_map[cleared] == 0).all()
        assert np.array_equal(back.id_map[~cleared], old.id_map[~cleared])
        assert set(back.segments) == {7, 20}
        assert project.annotations.revision(im.id) == 2


def test_delete_reassigning_to_a_thing_keeps_instances(project, annotated):
    imgs, anns = annotated
    project.categories.delete(1, reassign_to=2)
    for im in imgs:
        back = project.annotations.load(im.id)
        assert np.array_equal(back.id_map, anns[im.id].id_map)
        assert {k: s.category_id for k, s in back.segments.items()} == {7: 4, 10: 2, 11: 2, 20: 2}
        assert back.segments[11].score == 0.8 and back.segments[11].source == "model"


def test_delete_reassigning_to_stuff_merges_into_the_one_stuff_segment(project, annotated):
    imgs, anns = annotated
    project.categories.delete(1, reassign_to=4)  # cracks become concrete
    for im in imgs:
        back = project.annotations.load(im.id)
        old = anns[im.id]
        assert set(back.segments) == {7, 20}
        assert (back.id_map[np.isin(old.id_map, [7, 10, 11])] == 7).all()
        assert project.annotations.segments(im.id)[7].category_id == 4
    assert project.categories.usage(4)[0] == 2  # one concrete segment per image


def test_reassign_to_itself_or_unknown_is_refused(project, annotated):
    with pytest.raises(CategoryError, match="cannot reassign"):
        project.categories.delete(1, reassign_to=1)
    with pytest.raises(CategoryError, match="cannot reassign"):
        project.categories.delete(1, reassign_to=42)
    assert 1 in project.categories.get()
