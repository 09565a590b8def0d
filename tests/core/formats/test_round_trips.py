"""Property tests: what we write as COCO (panoptic, instances) reads back as the same segments.

Random id maps include the empty map, one-pixel photos and segments, and ids up to 2^24 - 1
(the largest an id PNG holds). Areas and boxes in the JSON are checked against numpy on the id
map, and the instances file against pycocotools' own reading of it.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.categories import default_categories
from core.formats import ExportRecord, ImportItem, export_coco_instances, export_coco_panoptic
from core.formats import import_coco_instances, import_coco_panoptic
from core.formats.build import canonical
from core.idpng import MAX_SEGMENT_ID
from core.panoptic import PanopticAnnotation, Segment

CATS = default_categories()
THINGS = [c.id for c in CATS.things]
STUFF = [c.id for c in CATS.stuff]

segment_id = st.one_of(st.integers(1, 300), st.integers(MAX_SEGMENT_ID - 300, MAX_SEGMENT_ID),
                       st.integers(1, MAX_SEGMENT_ID))


@st.composite
def annotations(draw) -> PanopticAnnotation:
    """A panoptic annotation: ``[H, W]`` int32 ids (0 = void), things with crowd flags, at most one
    segment per stuff class (the panoptic rule)."""
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    n = draw(st.integers(0, 5))
    labels = np.asarray(draw(st.lists(st.integers(0, n), min_size=h * w, max_size=h * w)), np.int32).reshape(h, w)
    present = sorted(int(v) for v in np.unique(labels) if v)
    ids = draw(st.lists(segment_id, min_size=len(present), max_size=len(present), unique=True))
    stuff_left = list(STUFF)
    lut = np.zeros(n + 1, np.int32)
    segments = {}
    for label, sid in zip(present, ids):
        lut[label] = sid
        if stuff_left and draw(st.booleans()):
            segments[sid] = Segment(sid, stuff_left.pop(0))
        else:
            segments[sid] = Segment(sid, draw(st.sampled_from(THINGS)), iscrowd=draw(st.booleans()))
    return PanopticAnnotation(lut[labels], segments)


EMPTY = PanopticAnnotation(np.zeros((1, 1), np.int32), {})
ONE_PIXEL_TOP_ID = PanopticAnnotation(np.full((1, 1), MAX_SEGMENT_ID, np.int32),
                                      {MAX_SEGMENT_ID: Segment(MAX_SEGMENT_ID, 1, iscrowd=True)})


def _partition(ann: PanopticAnnotation) -> set[tuple[int, bool, bytes]]:
    """What an annotation says, whatever its ids: ``(category, crowd, pixel mask)`` per segment."""
    return {(s.category_id, bool(s.iscrowd), (ann.id_map == sid).tobytes()) for sid, s in ann.segments.items()}


def _numpy_stats(id_map: np.ndarray, sid: int) -> tuple[int, list[int]]:
    """``(area, [x, y, w, h])`` of ``sid`` in ``id_map``, counted directly."""
    ys, xs = np.nonzero(id_map == sid)
    return int(ys.size), [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def _record(folder: Path, ann: PanopticAnnotation, image_id: int = 7) -> ExportRecord:
    h, w = ann.shape
    photo = folder / "photo.png"
    Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(photo)
    return ExportRecord(image_id, photo, w, h, ann)


def _only_item(run) -> ImportItem:
    results = run.collect()
    assert [type(r) for r in results] == [ImportItem], [getattr(r, "reason", r) for r in results]
    return results[0]


@settings(max_examples=40, deadline=None)
@given(ann=annotations(), renumber=st.booleans())
@example(ann=EMPTY, renumber=False)
@example(ann=ONE_PIXEL_TOP_ID, renumber=False)
@example(ann=ONE_PIXEL_TOP_ID, renumber=True)
def test_coco_panoptic_write_then_read_gives_the_same_segments(ann, renumber):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        export_coco_panoptic([_record(root, ann)], CATS, root / "out", renumber=renumber)
        doc = json.loads((root / "out" / "panoptic_all.json").read_text(encoding="utf-8"))
        item = _only_item(import_coco_panoptic(root / "out" / "panoptic_all.json"))
    expected = canonical(ann)[0] if renumber else ann
    np.testing.assert_array_equal(item.annotation.id_map, expected.id_map)  # ids kept, or canonical
    assert item.annotation.segments == expected.segments  # categories and crowd flags
    assert _partition(item.annotation) == _partition(ann)
    assert [c["id"] for c in doc["categories"]] == CATS.ids
    assert doc["images"] == [{"id": 7, "file_name": doc["images"][0]["file_name"], "width": ann.shape[1],
                              "height": ann.shape[0]}]
    (entry,) = doc["annotations"]
    assert entry["image_id"] == 7
    assert sorted(s["id"] for s in entry["segments_info"]) == sorted(expected.segments)
    for info in entry["segments_info"]:
        assert (info["area"], info["bbox"]) == _numpy_stats(expected.id_map, info["id"])
        assert info["category_id"] == expected.segments[info["id"]].category_id
        assert info["iscrowd"] == int(expected.segments[info["id"]].iscrowd)


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools under numpy 2
@settings(max_examples=30, deadline=None)
@given(ann=annotations())
@example(ann=EMPTY)
@example(ann=ONE_PIXEL_TOP_ID)
def test_coco_instances_write_then_read_gives_the_same_segments(ann):
    from pycocotools.coco import COCO

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        export_coco_instances([_record(root, ann)], CATS, root / "out", include_stuff=True)
        path = root / "out" / "instances_all.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        coco = COCO()  # pycocotools reads what we wrote: the masks, areas and boxes are its too
        coco.dataset = doc
        coco.createIndex()
        item = _only_item(import_coco_instances(path))
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[7]))
    assert len(anns) == len(ann.segments)
    by_mask = {(s.category_id, bool(s.iscrowd), (ann.id_map == sid).tobytes()): sid for sid, s in ann.segments.items()}
    for a in anns:
        mask = coco.annToMask(a).astype(bool)
        sid = by_mask[(a["category_id"], bool(a["iscrowd"]), mask.tobytes())]
        assert (a["area"], a["bbox"]) == _numpy_stats(ann.id_map, sid)
    assert [c["id"] for c in doc["categories"]] == CATS.ids
    assert _partition(item.annotation) == _partition(ann)
    assert np.array_equal(item.annotation.id_map == 0, ann.id_map == 0)  # void stays void
