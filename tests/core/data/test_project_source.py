"""Training data from a project file: annotated photos by split, missing photos reported."""
from __future__ import annotations

import numpy as np
import pytest

from core.data import PanopticDataset, build_eval_transforms, open_sources
from core.imageio import encode_png
from core.project import Project
from tests.core.data.synth import CATEGORIES, make_photo


@pytest.fixture
def project_path(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "site.pinspect"
    files, anns = [], []
    for i in range(5):
        img, ann = make_photo(rng, 64, 80)
        f = tmp_path / "photos" / f"p{i}.png"
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(encode_png(img))
        files.append(f)
        anns.append(ann)
    project = Project.create(path, categories=CATEGORIES)
    try:
        ids = [r.id for r in project.images.add_files(files).added]
        for image_id, ann in zip(ids[:4], anns):  # the fifth photo stays unannotated
            project.annotations.save(image_id, ann, status="done")
        project.images.set_split([ids[1]], "val")
        project.images.set_split([ids[2]], "test")
    finally:
        project.close()
    (tmp_path / "photos" / "p3.png").unlink()  # annotated, but the photo has gone
    return path


def test_project_splits_and_annotated_photos_become_training_data(project_path):
    train, val = open_sources(project_path)
    assert train.categories.ids == CATEGORIES.ids
    assert [s.key.split(":")[1] for s in train.samples] == ["p0.png"]
    assert [s.key.split(":")[1] for s in val.samples] == ["p1.png"]
    assert len(train.skipped) == 1 and "p3.png" in train.skipped[0]
    ds = PanopticDataset(train, build_eval_transforms(80), base_size=80, keep_gt=True)
    sample = ds[0]
    assert sample.masks.shape[0] == len(sample.gt.segments) > 0
    # the loader works after pickling (data-loader workers, DDP processes)
    import pickle

    loader = pickle.loads(pickle.dumps(val.samples[0].load_annotation))
    assert loader().shape == (64, 80)
    from core.data.project_source import release_handles

    release_handles()
    assert loader().shape == (64, 80)  # reopened on demand
    release_handles()
