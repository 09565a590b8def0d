"""Panoptic annotation type and COCO panoptic files, checked against panopticapi."""
import contextlib
import io
import json

import numpy as np
import pytest

from core.categories import default_categories
from core.errors import AnnotationError, DatasetError
from core.formats.coco_panoptic_io import PanopticRecord, iter_coco_panoptic, write_coco_panoptic
from core.panoptic import PanopticAnnotation, Segment, segment_stats

CATS = default_categories()


def make_annotation(h=48, w=64, seed=0) -> PanopticAnnotation:
    rng = np.random.default_rng(seed)
    id_map = np.full((h, w), 7, np.int32)             # concrete stuff, id 7
    id_map[: h // 4] = 0                                # void band
    segs = {7: Segment(7, 4)}
    for k in range(3):                                  # three crack instances
        y, x = rng.integers(h // 4, h - 8), rng.integers(0, w - 12)
        seg_id = 300 + k                                # ids above 255 need G channel
        id_map[y:y + 3, x:x + 12] = seg_id
        segs[seg_id] = Segment(seg_id, 1, iscrowd=(k == 2))
    return PanopticAnnotation(id_map, segs).pruned()


def test_segment_stats_bbox_and_area_are_exact():
    id_map = np.zeros((10, 20), np.int32)
    id_map[2:5, 3:9] = 1_000_000
    id_map[9, 19] = 2
    stats = segment_stats(id_map)
    assert stats == {1_000_000: (18, [3, 2, 6, 3]), 2: (1, [19, 9, 1, 1])}


def test_segments_info_holds_plain_python_numbers():
    ann = make_annotation()
    infos = ann.segments_info()
    json.dumps(infos)  # would fail on numpy scalars
    for info in infos:
        assert all(type(v) is int for v in info["bbox"]) and type(info["area"]) is int
        assert info["area"] == int((ann.id_map == info["id"]).sum())


def test_semantic_map():
    ann = make_annotation()
    sem = ann.semantic()
    assert set(np.unique(sem)) == {0, 1, 4}
    assert (sem[ann.id_map == 0] == 0).all()


def test_validation_uses_panopticapi_wording():
    ann = make_annotation()
    missing_json = PanopticAnnotation(ann.id_map, {k: v for k, v in ann.segments.items() if k != 7})
    with pytest.raises(AnnotationError, match="segment with ID 7 is presented in PNG and not presented in JSON"):
        missing_json.validate(CATS, image_id=5)
    extra = ann.with_segment(Segment(999, 1))
    with pytest.raises(AnnotationError, match=r"following segment IDs \[999\] are presented in JSON"):
        extra.validate(CATS, image_id=5)
    unknown = ann.relabelled(7, 42)
    with pytest.raises(AnnotationError, match="has unknown category_id 42"):
        unknown.validate(CATS, image_id=5)


def write_dataset(folder, annotations):
    records = [PanopticRecord(i + 1, f"photo_{i}.jpg", a.shape[1], a.shape[0], a) for i, a in enumerate(annotations)]
    json_path = folder / "panoptic.json"
    write_coco_panoptic(json_path, folder / "panoptic", records, CATS)
    return json_path


def test_write_then_read_is_identical_including_many_segments_and_empty_images(tmp_path):
    many = np.arange(40 * 40, dtype=np.int32).reshape(40, 40) // 4 + 1   # 400 segments
    many_ann = PanopticAnnotation(many, {int(i): Segment(int(i), 1 + int(i) % 5) for i in np.unique(many)})
    anns = [make_annotation(seed=1), many_ann, PanopticAnnotation.empty(16, 24)]
    json_path = write_dataset(tmp_path, anns)
    back = list(iter_coco_panoptic(json_path, tmp_path / "panoptic"))
    assert [r.image_id for r in back] == [1, 2, 3]
    for rec, ann in zip(back, anns):
        np.testing.assert_array_equal(rec.annotation.id_map, ann.id_map)
        assert rec.annotation.segments == ann.segments
    assert len(back[1].annotation.segments) == 400 and back[1].annotation.id_map.max() == 400


def test_panopticapi_scores_an_export_against_itself_as_perfect(tmp_path):
    from panopticapi.evaluation import pq_compute

    anns = [make_annotation(seed=s) for s in range(3)] + [PanopticAnnotation.empty(48, 64)]
    json_path = write_dataset(tmp_path, anns)
    with contextlib.redirect_stdout(io.StringIO()):
        result = pq_compute(str(json_path), str(json_path), str(tmp_path / "panoptic"), str(tmp_path / "panoptic"))
    assert result["All"]["pq"] == pytest.approx(1.0)
    assert result["Things"]["n"] == 1 and result["Stuff"]["n"] == 1


def test_reading_reports_missing_keys_and_bad_pngs(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": [], "categories": []}))
    with pytest.raises(DatasetError, match="'annotations'"):
        list(iter_coco_panoptic(bad))
    json_path = write_dataset(tmp_path, [make_annotation()])
    (tmp_path / "panoptic" / "photo_0.png").write_bytes(b"garbage")
    with pytest.raises(AnnotationError, match="photo_0.png"):
        list(iter_coco_panoptic(json_path, tmp_path / "panoptic"))


def test_writer_refuses_size_mismatch(tmp_path):
    rec = PanopticRecord(1, "a.jpg", 10, 10, PanopticAnnotation.empty(5, 10))
    with pytest.raises(AnnotationError, match="a.jpg"):
        write_coco_panoptic(tmp_path / "p.json", tmp_path / "png", [rec], CATS)
    assert not (tmp_path / "p.json").exists()


def test_atomic_writes_get_normal_permissions_and_keep_existing_ones(tmp_path):
    import os
    import stat

    from core.atomic import atomic_write_text

    fresh = tmp_path / "fresh.json"
    atomic_write_text(fresh, "{}")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    kept = tmp_path / "kept.json"
    kept.write_text("old")
    os.chmod(kept, 0o640)
    atomic_write_text(kept, "new")
    assert kept.read_text() == "new" and stat.S_IMODE(kept.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
