"""Nothing is lost without a word: duplicate photos with their own annotations, NaN models,
photos with nothing left in them, one bad prediction in a batch, segments that vanish at the
photo's size."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from core.categories import default_categories
from core.inference.result import PanopticPrediction, PredictionMeta
from core.model import save_checkpoint
from core.model.postprocess import PanopticPostProcessor
from core.project import Project
from tests.faults.helpers import read_json


@pytest.fixture
def tiny_checkpoint(tmp_path_factory):
    from tests.support.models import INPUT, TINY, tiny_model

    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    model, categories = tiny_model()
    save_checkpoint(path, model, TINY, categories, {"training": {"train_config": {"eval_size": INPUT}}})
    return path, model, categories


def _photos_with_two_masks(root):
    photos, masks = root / "photos", root / "masks"
    photos.mkdir(parents=True)
    masks.mkdir()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(photos / "a.jpg")
    shutil.copyfile(photos / "a.jpg", photos / "b.jpg")          # the same picture, twice
    first, second = np.zeros((30, 40), np.uint8), np.zeros((30, 40), np.uint8)
    first[2:5, 2:12] = 1                                          # a crack in one annotation
    second[10:18, 15:24] = 2                                      # spalling in the other
    Image.fromarray(first).save(masks / "a.png")
    Image.fromarray(second).save(masks / "b.png")
    return photos, masks


def test_identical_photos_with_different_annotations_are_both_kept(tmp_path, cli):
    photos, masks = _photos_with_two_masks(tmp_path)
    project = tmp_path / "p.pinspect"
    code, out, _err = cli("import", "masks", photos, "--masks", masks, "--project", project, "--strict")
    assert code == 0 and "duplicate: " in out and "b.jpg" in out and "2 annotations saved" in out
    with Project.open(project, read_only=True) as p:
        found = {img.name: p.annotations.load(img.id) for img in p.images.list()}
        statuses = {img.name: img.status for img in p.images.list()}
    assert set(found) == {"a.jpg", "b.jpg"} and set(statuses.values()) == {"done"}
    cats = {c.name: c.id for c in default_categories()}
    assert [s.category_id for s in found["a.jpg"].segments.values()] == [cats["crack"]]
    assert [s.category_id for s in found["b.jpg"].segments.values()] == [cats["spalling"]]
    # the same import again finds both where they are: nothing added, nothing doubled
    code, out, _err = cli("import", "masks", photos, "--masks", masks, "--project", project)
    assert code == 0 and "0 photos added, 2 already there" in out
    assert cli("export", project, "--out", tmp_path / "exp")[0] == 0
    assert len(read_json(tmp_path / "exp" / "panoptic_all.json")["images"]) == 2


def test_a_copy_with_the_same_annotation_is_not_doubled(tmp_path, cli):
    photos, masks = _photos_with_two_masks(tmp_path)
    shutil.copyfile(masks / "a.png", masks / "b.png")
    code, out, _err = cli("import", "masks", photos, "--masks", masks, "--project", tmp_path / "p.pinspect")
    assert code == 0 and "duplicate" not in out
    with Project.open(tmp_path / "p.pinspect", read_only=True) as p:
        assert p.images.count() == 1


def test_a_photo_whose_every_annotation_was_rejected_is_not_done(tmp_path, cli):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(tmp_path / "c.jpg")
    Image.fromarray(np.zeros((30, 40, 3), np.uint8) + 9).save(tmp_path / "d.jpg")
    coco = {"images": [{"id": 1, "file_name": "c.jpg", "width": 40, "height": 30},
                       {"id": 2, "file_name": "d.jpg", "width": 40, "height": 30}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 5, 5]],
                             "bbox": [1, 1, 4, 4], "area": 0, "iscrowd": 0},
                            {"id": 2, "image_id": 2, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9]],
                             "bbox": [1, 1, 8, 8], "area": 32, "iscrowd": 0}],
            "categories": [{"id": 1, "name": "crack"}]}
    (tmp_path / "c.json").write_text(json.dumps(coco))
    project = tmp_path / "p.pinspect"
    code, out, _err = cli("import", "coco", tmp_path / "c.json", "--images", tmp_path, "--project", project,
                          "--strict")
    assert code == 1 and "2 points" in out.replace("2 point(s)", "2 points")
    with Project.open(project, read_only=True) as p:
        status = {img.name: img.status for img in p.images.list()}
        annotated = {p.images.get(i).name for i in p.annotations.image_ids()}
    assert status == {"c.jpg": "unlabeled", "d.jpg": "done"} and annotated == {"d.jpg"}


def test_a_model_with_nan_weights_is_refused_on_every_path(tiny_checkpoint, tmp_path, cli):
    path, model, categories = tiny_checkpoint
    from tests.support.models import TINY

    with torch.no_grad():
        model.detr.class_embed.bias[0] = float("nan")
    bad = tmp_path / "nan.pt"
    save_checkpoint(bad, model, TINY, categories, {})
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(tmp_path / "x.jpg")
    code, _out, err = cli("predict", bad, tmp_path / "x.jpg", "--out", tmp_path / "pred")
    assert code == 1 and "NaN or infinite" in err and "class_embed.bias" in err
    assert not (tmp_path / "pred" / "panoptic_pred.json").exists()
    from core.errors import CheckpointError
    from core.model import load_model_from_checkpoint

    with pytest.raises(CheckpointError, match="NaN"):
        load_model_from_checkpoint(bad)


def _vanishing_prediction(image_size):
    """Two queries at a 384-px input: stuff everywhere, and a thing that owns input rows 12-15
    only, which nearest-neighbour shrinking to a 40-px photo skips entirely (rows 0, 9, 19 ...)."""
    cats = default_categories()
    thing = next(i for i, c in enumerate(cats) if c.isthing)
    stuff = next(i for i, c in enumerate(cats) if not c.isthing)
    logits = np.full((2, len(cats) + 1), -5.0, np.float32)
    logits[0, stuff] = logits[1, thing] = 5.0
    masks = np.full((2, 96, 96), -10.0, np.float16)
    masks[0] = 0.0
    masks[1, 3, :] = 10.0
    return PanopticPrediction(logits, masks, cats, PredictionMeta(image_size, (384, 384), 0.3))


def test_a_segment_that_vanishes_at_the_photos_size_leaves_the_table_too():
    pred = _vanishing_prediction((40, 40))
    small, segments = pred.label_map(0.5)
    assert len(segments) == 2                               # at the input size the thing is there
    ann = pred.panoptic(0.5)
    ann.validate(pred.categories, 1)                         # panopticapi's check: table == PNG
    assert len(ann.segments) == 1
    assert len(pred.panoptic(0.5, shape=(384, 384)).segments) == 2
    # the model's own post-processor follows the same rule
    post = PanopticPostProcessor(len(pred.categories), pred.categories)
    outputs = {"pred_logits": torch.from_numpy(pred.logits)[None],
               "pred_masks": torch.from_numpy(pred.masks.astype(np.float32))[None]}
    (ann2,) = post(outputs, [(384, 384)], [(40, 40)], threshold=0.5)
    ann2.validate(pred.categories, 1)
    assert len(ann2.segments) == 1


def test_one_failed_photo_does_not_lose_the_batch(tiny_checkpoint, tmp_path, cli, monkeypatch):
    from tests.support.models import write_photo

    path, _model, _cats = tiny_checkpoint
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        write_photo(photos / f"p{i}.jpg", i, (120, 90))
    real = PanopticPrediction.panoptic
    calls = {"n": 0}

    def flaky(self, threshold, shape=None, keep=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ValueError("simulated post-processing fault")
        return real(self, threshold, shape, keep)

    monkeypatch.setattr(PanopticPrediction, "panoptic", flaky)
    code, out, err = cli("predict", path, photos, "--out", tmp_path / "pred", "--no-overlays", "--threads", "1")
    assert code == 1 and "simulated post-processing fault" in err and "p1.jpg" in err
    data = read_json(tmp_path / "pred" / "panoptic_pred.json")
    assert [img["file_name"] for img in data["images"]] == ["p0.jpg", "p2.jpg"]
    assert "predicted 2 of 3" in out


def test_evaluation_compares_categories_by_name_not_only_by_id(tmp_path):
    from core.errors import DatasetError
    from core.evaluation import evaluate_files
    from core.panoptic import PanopticAnnotation, Segment
    try:
        from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic
    except ImportError:
        from core.panoptic import PanopticRecord, write_coco_panoptic

    cats = default_categories()
    thing = next(c for c in cats if c.isthing)
    ids = np.zeros((30, 40), np.int32)
    ids[5:10, 5:20] = 1
    ann = PanopticAnnotation(ids, {1: Segment(1, thing.id)})
    write_coco_panoptic(tmp_path / "gt.json", tmp_path / "gt", [PanopticRecord(1, "a.jpg", 40, 30, ann)], cats)
    write_coco_panoptic(tmp_path / "pred.json", tmp_path / "pred", [PanopticRecord(1, "a.jpg", 40, 30, ann)], cats)
    assert evaluate_files(tmp_path / "gt.json", tmp_path / "pred.json").pq.groups[0].pq == 1.0
    data = json.loads((tmp_path / "pred.json").read_text())
    for c in data["categories"]:
        if c["id"] == thing.id:
            c["name"] = "graffiti"                     # same id, another class: never scored silently
    (tmp_path / "pred.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="graffiti"):
        evaluate_files(tmp_path / "gt.json", tmp_path / "pred.json")
