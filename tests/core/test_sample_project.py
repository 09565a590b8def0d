"""The shipped sample and projects made from synthetic data."""
import json

import numpy as np
import pytest

from core.categories import default_categories
from core.errors import ProjectError
from core.formats.coco_panoptic_io import iter_coco_panoptic
from core.imageio import load_image
from core.project import Project
from core.demo.sample_project import SAMPLE_PHOTOS, build_sample_project, dataset_to_project, sample_dir
from core.synthetic.writer import write_coco_dataset

CATS = default_categories()


def _truth() -> dict:
    return {rec.file_name: rec for rec in iter_coco_panoptic(sample_dir() / "panoptic.json")}


def test_shipped_sample_is_small_complete_and_shows_every_class():
    src = sample_dir()
    photos = sorted(p.name for p in (src / "images").iterdir())
    assert photos == sorted(p.name for p in SAMPLE_PHOTOS) and len(photos) == 12
    total = sum(f.stat().st_size for f in src.rglob("*") if f.is_file())
    assert total < 4_000_000, f"the sample must stay small, it is {total / 1e6:.1f} MB"
    truth = _truth()
    assert sorted(truth) == sorted(p.name for p in SAMPLE_PHOTOS if p.annotated) and len(truth) == 7
    seen = set()
    for name, rec in truth.items():
        photo = load_image(src / "images" / name)
        assert photo.shape[:2] == rec.annotation.shape and 768 <= max(photo.shape) <= 1024
        cats = {s.category_id for s in rec.annotation.segments.values()}
        assert cats & {c.id for c in CATS.things}, f"{name} has no defect"
        assert (rec.annotation.id_map > 0).all()
        seen |= cats
    assert seen == set(CATS.ids)


def test_sample_project_has_seven_done_and_five_unlabelled(tmp_path):
    path = build_sample_project(tmp_path / "Sample.pinspect")
    truth = _truth()
    with Project.open(path, read_only=True) as project:
        images = project.images.list()
        assert len(images) == 12 and all(i.exists for i in images)
        assert all(i.path.parent == tmp_path / "Sample photos" for i in images)
        done = {i.path.name: i for i in images if i.status == "done"}
        assert sorted(done) == sorted(truth)
        for name, image in done.items():
            ann = project.annotations.load(image.id)
            assert np.array_equal(ann.id_map, truth[name].annotation.id_map)
            assert {k: s.category_id for k, s in ann.segments.items()} == \
                   {k: s.category_id for k, s in truth[name].annotation.segments.items()}
        rest = [i for i in images if i.path.name not in truth]
        assert len(rest) == 5 and all(i.status == "unlabeled" for i in rest)
        assert all(project.annotations.load(i.id) is None for i in rest)


def test_sample_project_never_overwrites(tmp_path):
    path = tmp_path / "Sample.pinspect"
    path.write_bytes(b"someone else's file")
    with pytest.raises(ProjectError, match="already exists"):
        build_sample_project(path)
    assert path.read_bytes() == b"someone else's file"
    assert not (tmp_path / "Sample photos").exists()


def test_dataset_to_project_keeps_the_split(tmp_path):
    write_coco_dataset(tmp_path / "ds", 5, seed=2, size=64, val_fraction=0.4)
    path = dataset_to_project(tmp_path / "synth.pinspect", tmp_path / "ds")
    val = {i["file_name"] for i in json.loads((tmp_path / "ds" / "panoptic_val.json").read_text())["images"]}
    with Project.open(path, read_only=True) as project:
        images = project.images.list()
        assert len(images) == 5 and all(i.status == "done" for i in images)
        assert {i.path.name for i in images if i.split == "val"} == val
        assert {i.split for i in images if i.path.name not in val} == {"train"}
