"""COCO instances: polygons and RLE in, validated; export accepted by pycocotools; pixels survive."""
import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from core.errors import AnnotationError, DatasetError
from core.formats import (ImportItem, ImportProblem, MaskFolderOptions, export_coco_instances,
                          import_coco_instances, import_mask_folder, records_from_import)
from core.formats.rle import rle_string_counts, segmentation_to_mask


def write_coco(path, images, annotations, categories=None):
    cats = categories if categories is not None else [{"id": 1, "name": "crack"}, {"id": 2, "name": "spalling"},
                                                      {"id": 4, "name": "concrete"}]
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": cats}),
                    encoding="utf-8")
    return path


def rle_of(mask, compressed=True):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    if compressed:
        return {"size": rle["size"], "counts": rle["counts"].decode()}
    flat = mask.astype(np.uint8).ravel(order="F")
    change = np.flatnonzero(np.diff(np.concatenate([[0], flat, [2]])) != 0)
    counts = np.diff(np.concatenate([[0], change])).tolist()
    return {"size": list(mask.shape), "counts": counts}


def split(res):
    return ([r for r in res if isinstance(r, ImportItem)], [r for r in res if isinstance(r, ImportProblem)])


def test_polygons_rle_crowd_overlap_and_fill(make, tmp_path):
    make.photo("images/Riss 1.jpg", w=40, h=30)
    big = np.zeros((30, 40), bool)
    big[5:25, 5:35] = True
    small = np.zeros((30, 40), bool)
    small[10:14, 10:20] = True
    crowd = np.zeros((30, 40), bool)
    crowd[0:3, 0:40] = True
    anns = [
        {"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0,
         "segmentation": [[10, 10, 19.9, 10, 19.9, 13.9, 10, 13.9]]},                     # small polygon, listed first
        {"id": 2, "image_id": 7, "category_id": 2, "iscrowd": 0, "segmentation": rle_of(big)},   # compressed
        {"id": 3, "image_id": 7, "category_id": 1, "iscrowd": 1, "segmentation": rle_of(crowd, False)},
    ]
    path = write_coco(tmp_path / "instances_default.json",
                      [{"id": 7, "file_name": "Riss 1.jpg", "width": 40, "height": 30}], anns)
    run = import_coco_instances(path, fill="concrete")
    (item,), problems = split(run.collect())
    assert problems == []
    sem = item.annotation.semantic()
    assert sem[11, 12] == 1          # the small crack is on top of the large spalling
    assert sem[20, 30] == 2 and sem[1, 1] == 1 and sem[28, 1] == 4
    crowd_segs = [s for s in item.annotation.segments.values() if s.iscrowd]
    assert len(crowd_segs) == 1 and crowd_segs[0].category_id == 1
    assert run.categories.by_name("concrete").isthing is False
    assert run.report.segments_by_name() == {"crack": 2, "spalling": 1, "concrete": 1}


@pytest.mark.parametrize("segm, message", [
    ([[1, 1, 5, 1, 5]], "odd number of coordinates"),
    ([[1, 1, 5, 1]], "at least 3 are needed"),
    ([], "empty segmentation"),
    ({"size": [30, 40], "counts": [5, 10]}, "sum to 15"),
    ({"size": [30, 40], "counts": "0j0"}, "sum to"),
    ({"size": [30, 40], "counts": "\x7f\x7f"}, "malformed"),
    ({"size": [40, 30], "counts": [1200]}, "differs from the image"),
    ("polygon", "must be a polygon list or an RLE"),
])
def test_bad_segmentations_are_rejected_clearly(segm, message):
    with pytest.raises(AnnotationError, match=message):
        segmentation_to_mask(segm, 30, 40)


def test_rle_string_decoder_matches_pycocotools():
    rng = np.random.default_rng(3)
    m = rng.random((17, 23)) > 0.6
    rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    counts = rle_string_counts(rle["counts"])
    assert sum(counts) == 17 * 23 and sum(counts[1::2]) == m.sum()
    np.testing.assert_array_equal(segmentation_to_mask({"size": [17, 23], "counts": rle["counts"].decode()}, 17, 23), m)


def test_bad_annotations_are_reported_and_the_image_still_imports(make, tmp_path):
    make.photo("images/a.jpg", w=40, h=30)
    make.photo("images/b.jpg", w=40, h=30)
    good = [[2, 2, 20, 2, 20, 10, 2, 10]]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": good},
        {"id": 1, "image_id": 1, "category_id": 2, "segmentation": [[25, 15, 35, 15, 35, 25]]},   # duplicate id
        {"id": 0, "image_id": 1, "category_id": 2, "segmentation": [[0, 20, 5, 20, 5, 29]]},      # id 0
        {"id": 4, "image_id": 1, "category_id": 99, "segmentation": good},                        # unknown class
        {"id": 5, "image_id": 42, "category_id": 1, "segmentation": good},                        # unknown image
        {"id": 6, "image_id": 1, "category_id": 1},                                               # no segmentation
        {"id": 7, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 2, 2]]},               # 2 points
        {"id": 8, "image_id": 3, "category_id": 1, "segmentation": good},                         # duplicate image id
    ]
    images = [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 30},
              {"id": 3, "file_name": "a.jpg", "width": 40, "height": 30},
              {"id": 3, "file_name": "b.jpg", "width": 40, "height": 30},
              {"id": 5, "file_name": "missing.jpg", "width": 40, "height": 30},
              {"file_name": "no_id.jpg"}]
    path = write_coco(tmp_path / "instances.json", images, anns)
    items, problems = split(import_coco_instances(path, tmp_path / "images").collect())
    assert [i.photo_path.name for i in items] == ["a.jpg"]
    assert len(items[0].annotation.segments) == 3
    text = "\n".join(p.message() for p in problems)
    assert "category_id 99 does not exist" in text
    assert "image_id 42 does not exist" in text
    assert "missing the key 'segmentation'" in text
    assert "annotation 7 (image 1): polygon 0 has 2 point(s)" in text
    assert "image id 3 appears more than once" in text
    assert "missing.jpg" in text and "file not found" in text
    assert "images[4] is missing the key 'id'" in text
    assert any("id 1 is used twice; renumbered" in w for w in items[0].warnings)
    assert any("has id 0; renumbered" in w for w in items[0].warnings)


@pytest.mark.parametrize("key", ["images", "annotations", "categories"])
def test_missing_top_level_keys_are_named(tmp_path, key):
    data = {"images": [], "annotations": [], "categories": []}
    del data[key]
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=f"missing the key '{key}'"):
        import_coco_instances(path)


def test_size_mismatch_with_exif_hint(make, tmp_path):
    make.photo("images/phone.jpg", w=40, h=30, orientation=8)       # upright 30 x 40
    path = write_coco(tmp_path / "i.json", [{"id": 1, "file_name": "phone.jpg", "width": 40, "height": 30}], [])
    _, (problem,) = split(import_coco_instances(path, tmp_path / "images").collect())
    assert "EXIF orientation 8" in problem.hint


def _masks_dataset(make):
    for rel in ("Brücke_Nord/Riss 1", "裂缝", "plain"):
        make.photo(f"photos/{rel}.jpg")
        m = make.defect()
        m[0:2, 30:40] = 1
        make.mask(f"masks/{rel}.png", m)
    return import_mask_folder(make.root / "photos", make.root / "masks", options=MaskFolderOptions(fill="concrete"))


def test_masks_to_panoptic_to_coco_instances_to_panoptic_keeps_every_pixel(make, tmp_path):
    run = _masks_dataset(make)
    records = list(records_from_import(run))
    summary = export_coco_instances(records, run.categories, tmp_path / "out", include_stuff=True)
    assert summary.splits == {"all": 3}
    back = [r for r in import_coco_instances(tmp_path / "out" / "instances_all.json").collect()]
    items, problems = split(back)
    assert problems == [] and len(items) == 3
    for rec, item in zip(records, items):
        np.testing.assert_array_equal(item.annotation.id_map, rec.annotation.id_map)
        assert item.annotation.segments == rec.annotation.segments


def test_export_is_read_by_pycocotools_and_scores_ap_1_against_itself(make, tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    run = _masks_dataset(make)
    export_coco_instances(records_from_import(run), run.categories, tmp_path / "out")
    gt_path = tmp_path / "out" / "instances_all.json"
    data = json.loads(gt_path.read_text(encoding="utf-8"))
    assert {a["category_id"] for a in data["annotations"]} <= {1, 2, 3}      # things only by default
    assert [a["id"] for a in data["annotations"]] == list(range(1, len(data["annotations"]) + 1))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        dt = gt.loadRes([{**a, "score": 1.0} for a in data["annotations"]])
        ev = COCOeval(gt, dt, "segm")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)
    for a in data["annotations"]:
        assert int(mask_utils.area(a["segmentation"])) == a["area"]


def test_bad_categories_are_a_clear_error_naming_the_entry(tmp_path):
    path = write_coco(tmp_path / "c.json", [], [], categories=[{"id": 1, "name": "crack"}, {"name": "spalling"}])
    with pytest.raises(DatasetError, match=r"categories\[1\] is missing the key 'id'"):
        import_coco_instances(path)
    path = write_coco(tmp_path / "d.json", [], [], categories=[{"id": 1, "name": "a"}, {"id": 1, "name": "b"}])
    with pytest.raises(DatasetError, match="duplicate category id 1"):
        import_coco_instances(path)
