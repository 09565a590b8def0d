"""Semantic PNG export read back by the mask importer; a project imported into and exported from."""
import json

import numpy as np
import pytest
from PIL import Image

from core.errors import CategoryError
from core.formats import (ImportItem, MaskFolderOptions, export_semantic, import_coco_panoptic, import_mask_folder,
                          load_class_mapping, records_from_import)
from core.formats.project_io import export_project, import_into_project


def _dataset(make, n=3):
    names = ["Brücke_Nord/Riss 1", "裂缝", "c", "d", "e"]
    for rel in names[:n]:
        make.photo(f"photos/{rel}.jpg")
        make.mask(f"masks/{rel}.png", make.defect())
    return import_mask_folder(make.root / "photos", make.root / "masks", options=MaskFolderOptions(fill="concrete"))


def test_semantic_export_is_a_coloured_palette_that_imports_back_unchanged(make, tmp_path):
    run = _dataset(make)
    recs = list(records_from_import(run))
    export_semantic(recs, run.categories, tmp_path / "sem")
    png = tmp_path / "sem" / "semantic_all" / "Riss 1.png"
    with Image.open(png) as img:
        assert img.mode == "P"
        assert tuple(img.getpalette()[3:6]) == run.categories.by_id(1).color
    back = import_mask_folder(tmp_path / "sem" / "all", tmp_path / "sem" / "semantic_all",
                              load_class_mapping(tmp_path / "sem" / "classes.json")).collect()
    assert len(back) == 3
    for rec, item in zip(recs, back):
        assert isinstance(item, ImportItem)
        np.testing.assert_array_equal(item.annotation.id_map, rec.annotation.id_map)
        assert item.annotation.segments == rec.annotation.segments


def test_project_import_then_export_keeps_annotations_and_maps_classes_by_name(make, tmp_path, cats):
    from core.project import Project

    run = _dataset(make)
    expected = {item.photo_path.name: item.annotation for item in run.collect()}
    with Project.create(tmp_path / "p.pinspect", categories=cats.removed(4).removed(5)) as project:
        summary = import_into_project(project, _dataset(make))
        assert summary.annotations_saved == 3 and summary.photos_added == 3
        assert summary.categories_added == ["concrete", "background"]
        again = import_into_project(project, _dataset(make))            # nothing doubled
        assert again.photos_added == 0 and again.photos_existing == 3 and again.annotations_kept == 3
        project_cats = project.categories.get()
        export_project(project, "coco-panoptic", tmp_path / "out", val_fraction=None)
    items = [r for r in import_coco_panoptic(tmp_path / "out" / "panoptic_all.json").collect()]
    assert len(items) == 3
    names = {c.id: c.name for c in project_cats}
    for item in items:
        want = expected[item.photo_path.name]
        got = item.annotation
        np.testing.assert_array_equal(got.id_map, want.id_map)
        assert [names[s.category_id] for s in got.segments.values()] == \
               [run.categories.by_id(s.category_id).name for s in want.segments.values()]


def test_project_splits_are_used_when_asked(make, tmp_path):
    from core.project import Project

    with Project.create(tmp_path / "p.pinspect") as project:
        import_into_project(project, _dataset(make))
        first = project.images.list()[0]
        project.images.set_split([first.id], "val")
        summary = export_project(project, "coco-instances", tmp_path / "out", project_splits=True,
                                 split_name="train")
    assert summary.splits == {"val": 1, "train": 2}
    val = json.loads((tmp_path / "out" / "instances_val.json").read_text(encoding="utf-8"))
    assert [i["id"] for i in val["images"]] == [first.id]


def test_thing_stuff_conflict_is_refused_before_writing(make, tmp_path, cats):
    from core.categories import Category, CategorySet
    from core.project import Project

    conflicting = CategorySet(tuple(Category(c.id, c.name, not c.isthing if c.name == "concrete" else c.isthing,
                                             c.color) for c in cats))
    with Project.create(tmp_path / "p.pinspect", categories=conflicting) as project:
        with pytest.raises(CategoryError, match="'concrete' is stuff in the dataset but a thing in the project"):
            import_into_project(project, _dataset(make))
        assert project.images.count() == 0
