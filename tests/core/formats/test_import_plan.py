"""The plan of an import into a project says what the import then does, case by case."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from core.categories import default_categories
from core.formats import ImportItem, ImportRun
from core.formats.import_plan import plan_project_import
from core.formats.import_run import Job
from core.formats.project_io import import_into_project
from core.imageio import encode_jpeg
from core.panoptic import PanopticAnnotation, Segment
from core.project import Project

H, W = 20, 30


def _photo(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_jpeg(np.random.default_rng(seed).integers(0, 255, (H, W, 3), dtype=np.uint8)))
    return path


def _ann(cid: int, box: tuple[int, int, int, int] = (2, 8, 2, 8)) -> PanopticAnnotation:
    """One segment of category ``cid`` on rows ``box[0]:box[1]``, columns ``box[2]:box[3]``."""
    m = np.zeros((H, W), np.int32)
    m[box[0]:box[1], box[2]:box[3]] = 1
    return PanopticAnnotation(m, {1: Segment(1, cid)})


def _empty() -> PanopticAnnotation:
    return PanopticAnnotation(np.zeros((H, W), np.int32), {})


def _run(items: list[ImportItem]) -> ImportRun:
    cats = default_categories()
    jobs = [Job(it.photo_path, lambda it=it: [it]) for it in items]
    return ImportRun(cats, len(jobs), jobs, source="test")


@pytest.fixture
def scene(tmp_path):
    """A project holding two annotated photos, and a dataset that meets them in every way an
    import can: a new photo, one already there by path, copies elsewhere with the same, another
    and an empty annotation, a photo without annotation, a new photo listed twice."""
    cats = default_categories()
    crack, spall = cats.by_name("crack").id, cats.by_name("spalling").id
    a = _photo(tmp_path / "proj" / "a.jpg", 1)
    b = _photo(tmp_path / "proj" / "b.jpg", 2)
    path = tmp_path / "p.pinspect"
    with Project.create(path, cats) as project:
        recs = project.images.add_files([a, b]).added
        for rec in recs:
            project.annotations.save(rec.id, _ann(crack), status="done")
    data = tmp_path / "data"
    items = [
        ImportItem(_photo(data / "new.jpg", 3), _ann(spall)),                            # new photo
        ImportItem(a, _ann(spall)),                                                       # there by path
        ImportItem(Path(shutil.copy(a, data / "a_same.jpg")), _ann(crack)),              # copy, same annotation
        ImportItem(Path(shutil.copy(b, data / "b_other.jpg")), _ann(spall, (9, 15, 9, 15))),  # copy, another
        ImportItem(Path(shutil.copy(b, data / "b_empty.jpg")), _empty()),                # copy, no segment
        ImportItem(_photo(data / "bare.jpg", 4), None),                                   # no annotation
        ImportItem(_photo(data / "new_empty.jpg", 5), _empty()),                         # new, no segment
        ImportItem(Path(shutil.copy(data / "new.jpg", data / "new_again.jpg")), _ann(spall)),  # a new one again
    ]
    return path, items


@pytest.mark.parametrize("replace_existing", [False, True])
def test_the_plan_counts_exactly_what_the_import_then_does(scene, replace_existing):
    path, items = scene
    with Project.open(path) as project:
        plan = plan_project_import(project, _run(items), replace_existing=replace_existing)
        assert project.images.count() == 2  # the plan writes nothing
        done = import_into_project(project, _run(items), replace_existing=replace_existing)
    assert not done.problems
    assert (plan.photos_new, plan.photos_existing) == (done.photos_added, done.photos_existing)
    assert (plan.annotations_saved, plan.annotations_kept) == (done.annotations_saved, done.annotations_kept)
    assert plan.duplicates == len(done.duplicates)
    assert plan.categories_new == done.categories_added == []
    if replace_existing:
        # a's annotation is replaced first, so its copy a_same (a's old annotation) now differs: a duplicate
        assert (plan.photos_new, plan.photos_existing, plan.duplicates) == (5, 3, 2)
        assert (plan.annotations_saved, plan.annotations_kept) == (5, 0)
    else:
        # added: new, b_other (a copy with another annotation), bare, new_empty
        assert (plan.photos_new, plan.photos_existing, plan.duplicates) == (4, 4, 1)
        assert (plan.annotations_saved, plan.annotations_kept) == (2, 3)


def test_the_plan_refuses_what_the_import_refuses_and_names_new_classes(scene):
    from core.categories import Category, CategorySet
    from core.errors import CategoryError

    path, items = scene
    cats = default_categories()
    # the dataset calls concrete a thing (the project: stuff) and brings a class the project lacks
    theirs = CategorySet(tuple(Category(c.id, c.name, c.isthing or c.name == "concrete", c.color) for c in cats))
    theirs = theirs.added("efflorescence", False)
    run = ImportRun(theirs, len(items), [Job(it.photo_path, lambda it=it: [it]) for it in items])
    with Project.open(path) as project:
        plan = plan_project_import(project, run, replace_existing=False)
        assert plan.refused and plan.conflicts == ["concrete"] and plan.categories_new == ["efflorescence"]
        with pytest.raises(CategoryError, match="'concrete' is a thing in the dataset but stuff in the project"):
            import_into_project(project, ImportRun(theirs, 0, []))
        assert "efflorescence" not in [c.name for c in project.categories.get()]  # nothing written
