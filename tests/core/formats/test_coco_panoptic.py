"""COCO panoptic export and import: identical round trips, panopticapi accepts it, atomic, split."""
import contextlib
import io
import json
import os
import re

import numpy as np
import pytest
from PIL import Image

from core.errors import AnnotationError, CancelledError, DatasetError
from core.formats import (ExportRecord, ImportItem, ImportProblem, export_coco_panoptic, import_coco_panoptic,
                          split_ids)
from core.formats.build import canonical
from core.imageio import load_image
from core.idpng import encode_ids
from core.panoptic import PanopticAnnotation, Segment


def annotation(h=30, w=40, seed=0, n_cracks=3, big_ids=False):
    """Concrete stuff, a void band, some crack instances (one crowd), ids possibly > 255."""
    rng = np.random.default_rng(seed)
    id_map = np.full((h, w), 9, np.int32)
    id_map[:3] = 0
    segs = {9: Segment(9, 4)}
    for k in range(n_cracks):
        sid = (70_000 + k) if big_ids else (20 + k)
        y, x = 5 + 4 * k, int(rng.integers(0, w - 10))
        id_map[y:y + 2, x:x + 10] = sid
        segs[sid] = Segment(sid, 1, iscrowd=(k == 1))
    segs[9] = Segment(9, 4, source="model", score=0.75)
    return PanopticAnnotation(id_map, segs)


def records(make, n=3, **kw):
    names = ["Brücke_Nord/Riss 1.jpg", "裂缝.jpg", "a.png", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "f.jpg", "g.jpg",
             "h.jpg"]
    out = []
    for k in range(n):
        photo = make.photo("photos/" + names[k])
        out.append(ExportRecord(100 + k, photo, 40, 30, annotation(seed=k, **kw)))
    return out


def items_of(run):
    res = run.collect()
    return [r for r in res if isinstance(r, ImportItem)], [r for r in res if isinstance(r, ImportProblem)]


def test_export_then_import_is_identical_with_kept_ids(make, cats, tmp_path):
    recs = records(make, big_ids=True)
    export_coco_panoptic(recs, cats, tmp_path / "out", renumber=False)
    items, problems = items_of(import_coco_panoptic(tmp_path / "out" / "panoptic_all.json"))
    assert problems == [] and len(items) == 3
    for rec, item in zip(recs, items):
        np.testing.assert_array_equal(item.annotation.id_map, rec.annotation.id_map)
        assert item.annotation.segments == rec.annotation.segments      # crowd, source, score included
        assert item.photo_path.parent == tmp_path / "out" / "all"
        assert item.photo_path.read_bytes() == rec.photo_path.read_bytes()


def test_canonical_ids_are_deterministic_and_round_trip(make, cats, tmp_path):
    recs = records(make)
    export_coco_panoptic(recs, cats, tmp_path / "one")
    export_coco_panoptic(list(reversed(recs)), cats, tmp_path / "two")
    one = json.loads((tmp_path / "one" / "panoptic_all.json").read_text(encoding="utf-8"))
    two = json.loads((tmp_path / "two" / "panoptic_all.json").read_text(encoding="utf-8"))
    assert one == two
    items, _ = items_of(import_coco_panoptic(tmp_path / "one" / "panoptic_all.json"))
    for rec, item in zip(recs, items):
        expected, _ = canonical(rec.annotation)
        np.testing.assert_array_equal(item.annotation.id_map, expected.id_map)
        assert item.annotation.segments == expected.segments
    for ann in one["annotations"]:
        infos = ann["segments_info"]
        assert [s["id"] for s in infos] == list(range(1, len(infos) + 1))
        for s in infos:  # plain Python numbers only
            assert all(type(v) is int for v in s["bbox"] + [s["id"], s["area"], s["category_id"]])


def test_panopticapi_scores_the_export_100_against_itself(make, cats, tmp_path):
    from panopticapi.evaluation import pq_compute

    export_coco_panoptic(records(make, n=4), cats, tmp_path / "out")
    gt = str(tmp_path / "out" / "panoptic_all.json")
    with contextlib.redirect_stdout(io.StringIO()):
        result = pq_compute(gt, gt)
    assert result["All"]["pq"] == pytest.approx(1.0)
    assert result["Things"]["n"] == 1 and result["Stuff"]["n"] == 1


def test_split_is_seeded_exact_and_independent_of_order(make, cats, tmp_path):
    ids = list(range(1, 101))
    a = split_ids(ids, 0.2, seed=3)
    assert a == split_ids(list(reversed(ids)), 0.2, seed=3)
    assert sum(v == "val" for v in a.values()) == 20
    assert a != split_ids(ids, 0.2, seed=4)
    recs = records(make, n=10)
    summary = export_coco_panoptic(recs, cats, tmp_path / "out", val_fraction=0.2, seed=1)
    assert summary.splits == {"train": 8, "val": 2}
    val = json.loads((tmp_path / "out" / "panoptic_val.json").read_text(encoding="utf-8"))
    expected_val = sorted(i for i, s in split_ids([r.image_id for r in recs], 0.2, 1).items() if s == "val")
    assert [i["id"] for i in val["images"]] == expected_val
    for img, ann in zip(val["images"], val["annotations"]):
        assert (tmp_path / "out" / "val" / img["file_name"]).is_file()
        assert (tmp_path / "out" / "panoptic_val" / ann["file_name"]).is_file()
    assert not (tmp_path / "out" / ".staging").exists()


def test_exif_rotated_photos_are_exported_upright(make, cats, tmp_path):
    photo = make.photo("photos/phone.jpg", w=40, h=30, orientation=6)    # upright 30 x 40
    rec = ExportRecord(1, photo, 30, 40, annotation(h=40, w=30))
    export_coco_panoptic([rec], cats, tmp_path / "out")
    out = tmp_path / "out" / "all" / "phone.jpg"
    with Image.open(out) as img:
        assert img.size == (30, 40) and img.getexif().get(0x0112, 1) == 1
    diff = np.abs(load_image(out).astype(int) - load_image(photo).astype(int)).mean()
    assert diff < 8  # the same picture, re-encoded


def test_name_clashes_get_the_image_id(make, cats, tmp_path):
    a = make.photo("x/Riss.jpg")
    b = make.photo("y/riss.JPG")
    recs = [ExportRecord(1, a, 40, 30, annotation()), ExportRecord(2, b, 40, 30, annotation(seed=1))]
    export_coco_panoptic(recs, cats, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "panoptic_all.json").read_text(encoding="utf-8"))
    assert [i["file_name"] for i in data["images"]] == ["Riss.jpg", "riss_2.jpg"]


def test_a_failed_export_leaves_nothing_that_looks_complete(make, cats, tmp_path):
    recs = records(make)
    bad = ExportRecord(7, recs[0].photo_path, 40, 30, PanopticAnnotation(np.full((30, 40), 5, np.int32), {}))
    dest = tmp_path / "out"
    with pytest.raises(AnnotationError, match="segment with ID 5 is presented in PNG"):
        export_coco_panoptic(recs + [bad], cats, dest)
    assert os.listdir(tmp_path) == ["photos"]          # neither dest nor a .partial folder remains
    # an existing export survives a failed overwrite, and a good one replaces it
    export_coco_panoptic(recs, cats, dest)
    before = (dest / "panoptic_all.json").read_bytes()
    with pytest.raises(AnnotationError):
        export_coco_panoptic(recs + [bad], cats, dest, overwrite=True)
    assert (dest / "panoptic_all.json").read_bytes() == before
    with pytest.raises(DatasetError, match="not empty"):
        export_coco_panoptic(recs, cats, dest)
    export_coco_panoptic(recs[:1], cats, dest, overwrite=True)
    assert len(json.loads((dest / "panoptic_all.json").read_text(encoding="utf-8"))["images"]) == 1
    assert sorted(os.listdir(tmp_path)) == ["out", "photos"]


def test_disk_errors_and_cancel_leave_nothing(make, cats, tmp_path, monkeypatch):
    import threading

    recs = records(make)
    stop = threading.Event()
    with pytest.raises(CancelledError):
        export_coco_panoptic(recs, cats, tmp_path / "out", progress=lambda *a: stop.set(), cancel=stop)

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("core.formats.coco_panoptic.encode_ids", full)
    with pytest.raises(DatasetError, match="No space left on device"):
        export_coco_panoptic(recs, cats, tmp_path / "out")
    assert os.listdir(tmp_path) == ["photos"]


def write_panoptic(tmp_path, segments_info, id_map, categories):
    (tmp_path / "p").mkdir(exist_ok=True)
    (tmp_path / "p" / "a.png").write_bytes(encode_ids(id_map))
    (tmp_path / "images").mkdir(exist_ok=True)
    Image.fromarray(np.zeros(id_map.shape + (3,), np.uint8)).save(tmp_path / "images" / "a.jpg")
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": id_map.shape[1], "height": id_map.shape[0]}],
            "annotations": [{"image_id": 1, "file_name": "a.png", "segments_info": segments_info}],
            "categories": categories.to_json()}
    (tmp_path / "p.json").write_text(json.dumps(data))
    return tmp_path / "p.json"


@pytest.mark.parametrize("infos, message", [
    ([{"id": 1, "category_id": 1}], "segment with ID 2 is presented in PNG and not presented in JSON"),
    ([{"id": 1, "category_id": 1}, {"id": 2, "category_id": 4}, {"id": 3, "category_id": 4}],
     r"segment IDs \[3\] are presented in JSON and not presented in PNG"),
    ([{"id": 1, "category_id": 1}, {"id": 2, "category_id": 77}], "has unknown category_id 77"),
    ([{"id": 1, "category_id": 1}, {"id": 2, "category_id": 4}, {"id": 2, "category_id": 1}],
     "appears twice in segments_info with different categories"),
])
def test_panoptic_inconsistencies_raise_panopticapis_errors_per_item(tmp_path, cats, infos, message):
    id_map = np.ones((6, 8), np.int32)
    id_map[3:] = 2
    items, (problem,) = items_of(import_coco_panoptic(write_panoptic(tmp_path, infos, id_map, cats)))
    assert items == [] and problem.path.endswith("a.png")
    assert re.search(message, problem.reason)


def test_void_and_duplicate_entries_are_dropped_with_warnings(tmp_path, cats):
    id_map = np.ones((6, 8), np.int32)
    infos = [{"id": 0, "category_id": 4}, {"id": 1, "category_id": 1}, {"id": 1, "category_id": 1}]
    (item,), problems = items_of(import_coco_panoptic(write_panoptic(tmp_path, infos, id_map, cats)))
    assert problems == [] and len(item.warnings) == 2


def test_missing_keys_and_photos(tmp_path, cats):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"images": [], "categories": []}))
    with pytest.raises(DatasetError, match="'annotations'"):
        import_coco_panoptic(path)
    id_map = np.ones((6, 8), np.int32)
    p = write_panoptic(tmp_path, [{"id": 1, "category_id": 1}], id_map, cats)
    data = json.loads(p.read_text())
    data["images"].append({"id": 2, "file_name": "gone.jpg"})
    data["annotations"].append({"image_id": 3, "file_name": "x.png", "segments_info": []})
    data["annotations"].append({"image_id": 1, "segments_info": []})
    p.write_text(json.dumps(data))
    items, problems = items_of(import_coco_panoptic(p))
    text = " | ".join(x.message() for x in problems)
    assert len(items) == 1
    assert "image_id 3, which is not in images" in text
    assert "annotations[2] is missing the key 'file_name'" in text
    assert "gone.jpg: file not found" in text


def test_renamed_recoloured_reordered_categories_keep_every_pixel(make, cats, tmp_path):
    from dataclasses import replace as dc_replace

    from core.categories import CategorySet

    recs = records(make, n=2)
    export_coco_panoptic(recs, cats, tmp_path / "before")
    changed = CategorySet(tuple(reversed([dc_replace(c, name=c.name.upper(), color=(1, 2, 3)) for c in cats])))
    export_coco_panoptic(recs, changed, tmp_path / "after")
    for name in ("Riss 1.png", "裂缝.png"):
        assert (tmp_path / "before" / "panoptic_all" / name).read_bytes() == \
               (tmp_path / "after" / "panoptic_all" / name).read_bytes()
    after = json.loads((tmp_path / "after" / "panoptic_all.json").read_text(encoding="utf-8"))
    assert {c["name"] for c in after["categories"]} == {c.name.upper() for c in cats}
    with pytest.raises(AnnotationError, match="unknown category_id 4"):   # a deleted class is not dropped silently
        export_coco_panoptic(recs, cats.removed(4), tmp_path / "deleted")
    assert not (tmp_path / "deleted").exists()


def test_an_image_id_listed_twice_skips_that_image_only(tmp_path, cats):
    id_map = np.ones((6, 8), np.int32)
    p = write_panoptic(tmp_path, [{"id": 1, "category_id": 1}], id_map, cats)
    data = json.loads(p.read_text())
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(tmp_path / "images" / "b.jpg")
    (tmp_path / "p" / "b.png").write_bytes(encode_ids(id_map))
    data["images"] += [{"id": 2, "file_name": "b.jpg"}, {"id": 2, "file_name": "a.jpg"}]
    data["annotations"].append({"image_id": 2, "file_name": "b.png", "segments_info": [{"id": 1, "category_id": 1}]})
    p.write_text(json.dumps(data))
    items, problems = items_of(import_coco_panoptic(p))
    assert [i.photo_path.name for i in items] == ["a.jpg"]
    assert [x.reason for x in problems] == ["image id 2 appears more than once in images; what refers to it cannot be "
                                            "attributed, all its entries are skipped"]


def test_a_json_that_is_not_an_object_or_not_json_is_a_dataset_error(tmp_path):
    from core.formats import import_coco_instances, import_labelme

    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "broken.json").write_text("{\"images\": [")
    with pytest.raises(DatasetError, match="a COCO file must be a JSON object"):
        import_coco_instances(tmp_path / "list.json")
    with pytest.raises(DatasetError, match="cannot read the COCO file"):
        import_coco_instances(tmp_path / "broken.json")
    folder = tmp_path / "labelme"
    folder.mkdir()
    (folder / "x.json").write_text("[]")
    (_items, problems) = items_of(import_labelme(folder))
    assert "a labelme file must be a JSON object" in problems[0].reason
