"""Inputs are checked fully before they count: truncated and corrupt photos, special files and
symbolic link loops (never a hang), images whose header claims a huge size (refused before a
pixel is decoded)."""
from __future__ import annotations

import base64
import json
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from core.errors import BadImageError
from core.imageio import MAX_PIXELS, verify_image
from core.project import Project
from tests.faults.helpers import Dataset


def _truncate(path, keep: float = 0.6) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header says ``width`` x ``height`` RGB (its pixel data is a stub)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_and_corrupt_photos_are_refused_whole_ones_pass(tmp_path, suffix):
    rng = np.random.default_rng(0)
    path = tmp_path / f"p{suffix}"
    Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(path)
    assert verify_image(path).width == 80
    data = path.read_bytes()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(BadImageError, match="truncated or corrupt"):
        verify_image(tmp_path / f"cut{suffix}")
    if suffix == ".png":  # one flipped byte in the pixel data: the chunk's CRC says so
        bad = bytearray(data)
        bad[len(data) // 2] ^= 0xFF
        (tmp_path / "flip.png").write_bytes(bytes(bad))
        with pytest.raises(BadImageError, match="truncated or corrupt"):
            verify_image(tmp_path / "flip.png")


def test_truncated_photos_are_reported_at_import_and_never_done(dataset, tmp_path, cli):
    _truncate(dataset.photos / "p1.jpg")
    project = tmp_path / "p.pinspect"
    code, out, _err = cli(*dataset.import_args("--project", project, "--strict"))
    assert code == 1 and "p1.jpg" in out and "truncated" in out
    with Project.open(project, read_only=True) as p:
        assert sorted(img.name for img in p.images.list()) == ["p0.jpg", "p2.jpg"]
    # the conversion to a dataset leaves it out too, and adding photos to a project checks them
    code, out, _err = cli(*dataset.import_args("--out", tmp_path / "coco"))
    assert code == 0 and "truncated" in out
    data = json.loads((tmp_path / "coco" / "panoptic_all.json").read_text())
    assert sorted(i["file_name"] for i in data["images"]) == ["p0.jpg", "p2.jpg"]
    with Project.create(tmp_path / "q.pinspect") as p:
        report = p.images.add_folder(dataset.photos)
    assert [f[0].name for f in report.failed] == ["p1.jpg"] and "truncated" in report.failed[0][1]


@pytest.mark.timeout(60)
def test_special_files_and_link_loops_are_skipped_with_a_message(dataset, tmp_path, cli):
    os.mkfifo(dataset.photos / "pipe.jpg")
    os.mkfifo(dataset.masks / "pipe.png")
    (dataset.photos / "loop.jpg").symlink_to("loop.jpg")
    (dataset.photos / "sub").mkdir()
    (dataset.photos / "sub" / "up").symlink_to("..")         # a folder loop
    code, out, _err = cli(*dataset.import_args("--project", tmp_path / "p.pinspect"))
    assert code == 0 and "FIFO" in out and "symbolic link loop" in out
    with Project.open(tmp_path / "p.pinspect", read_only=True) as p:
        assert p.images.count() == 3
    with Project.create(tmp_path / "q.pinspect") as p:
        report = p.images.add_folder(dataset.photos)
    reasons = sorted(r for _p, r in report.failed)
    assert len(report.added) == 3 and any("FIFO" in r for r in reasons) and any("loop" in r for r in reasons)
    labelme = tmp_path / "lm"
    labelme.mkdir()
    os.mkfifo(labelme / "x.json")
    code, out, err = cli("import", "labelme", labelme, "--project", tmp_path / "r.pinspect")
    assert code == 1 and "FIFO" in out
    os.mkfifo(tmp_path / "pipe.json")
    code, _out, err = cli("import", "coco", tmp_path / "pipe.json", "--project", tmp_path / "r.pinspect")
    assert code == 1 and "FIFO" in err
    with pytest.raises(BadImageError, match="FIFO"):
        verify_image(dataset.photos / "pipe.jpg")


def test_an_id_png_claiming_a_huge_size_is_refused_from_its_header(tmp_path, cli):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(tmp_path / "a.jpg")
    (tmp_path / "pan").mkdir()
    (tmp_path / "pan" / "a.png").write_bytes(png_claiming(12000, 12000))
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 30}],
            "annotations": [{"image_id": 1, "file_name": "a.png", "segments_info": []}],
            "categories": [{"id": 1, "name": "crack", "isthing": 1}]}
    (tmp_path / "pan.json").write_text(json.dumps(data))
    code, out, _err = cli("import", "coco-panoptic", tmp_path / "pan.json", "--images", tmp_path,
                          "--project", tmp_path / "p.pinspect")
    assert code == 1 and "12000x12000" in out and "40x30" in out
    # above the one pixel limit, whatever the image: refused with the one message
    (tmp_path / "pan" / "a.png").write_bytes(png_claiming(20000, 20000))
    (tmp_path / "big.png").write_bytes(png_claiming(20000, 20000))
    with pytest.raises(BadImageError, match=f"above the limit of {MAX_PIXELS:,}"):
        verify_image(tmp_path / "big.png")


def test_a_bomb_inside_a_labelme_file_keeps_the_photo_beside_it(tmp_path, cli):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(tmp_path / "a.jpg")
    shape = {"label": "crack", "shape_type": "polygon", "points": [[2, 2], [20, 2], [20, 10], [2, 10]]}
    doc = {"shapes": [shape], "imagePath": "a.jpg", "imageHeight": 30, "imageWidth": 40,
           "imageData": base64.b64encode(png_claiming(30000, 30000)).decode()}
    (tmp_path / "a.json").write_text(json.dumps(doc))
    code, out, _err = cli("import", "labelme", tmp_path / "a.json", "--project", tmp_path / "p.pinspect",
                          "--strict")
    assert code == 0 and "imageData is unusable" in out and "above the limit" in out
    with Project.open(tmp_path / "p.pinspect", read_only=True) as p:
        assert [img.status for img in p.images.list()] == ["done"]
    mask_shape = {"label": "crack", "shape_type": "mask", "points": [[0, 0], [10, 10]],
                  "mask": base64.b64encode(png_claiming(30000, 30000)).decode()}
    doc.update(shapes=[mask_shape], imageData=None)
    (tmp_path / "a.json").write_text(json.dumps(doc))
    code, out, _err = cli("import", "labelme", tmp_path / "a.json", "--out", tmp_path / "o")
    assert "above the limit" in out and "Traceback" not in out


def test_masks_are_size_checked_before_decoding(tmp_path, cli):
    ds = Dataset(tmp_path / "ds", n=1)
    (ds.masks / "p0.png").write_bytes(png_claiming(12000, 12000))
    code, out, _err = cli(*ds.import_args("--project", tmp_path / "p.pinspect"))
    assert code == 1 and "12000x12000" in out


@pytest.mark.timeout(60)
def test_no_reader_of_a_users_path_waits_on_a_fifo(dataset, tmp_path, cli):
    for name in ("gt.json", "pan.json", "classes.json", "m.pt"):
        os.mkfifo(tmp_path / name)
    (tmp_path / "pred.json").write_text("{}")
    runs = [("evaluate", "--gt", tmp_path / "gt.json", "--pred", tmp_path / "pred.json"),
            ("import", "coco-panoptic", tmp_path / "pan.json", "--project", tmp_path / "p.pinspect"),
            (*dataset.import_args("--project", tmp_path / "q.pinspect", "--classes", tmp_path / "classes.json"),),
            ("predict", tmp_path / "m.pt", dataset.photos, "--out", tmp_path / "o")]
    for argv in runs:
        code, _out, err = cli(*argv)
        assert code == 1 and "FIFO" in err, (argv, err)


def test_evaluation_refuses_a_prediction_png_of_another_size_from_its_header(tmp_path):
    from core.categories import default_categories
    from core.errors import AnnotationError
    from core.evaluation import evaluate_files
    from core.panoptic import PanopticAnnotation, Segment
    try:
        from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic
    except ImportError:
        from core.panoptic import PanopticRecord, write_coco_panoptic

    cats = default_categories()
    ids = np.ones((30, 40), np.int32)
    stuff = next(c for c in cats if not c.isthing)
    ann = PanopticAnnotation(ids, {1: Segment(1, stuff.id)})
    for name in ("gt", "pred"):
        write_coco_panoptic(tmp_path / f"{name}.json", tmp_path / name, [PanopticRecord(1, "a.jpg", 40, 30, ann)], cats)
    png = next((tmp_path / "pred").iterdir())
    png.write_bytes(png_claiming(12000, 12000))            # 144 MP: under the limit, but not this image's size
    with pytest.raises(AnnotationError, match="12000x12000 but the ground truth is 40x30"):
        evaluate_files(tmp_path / "gt.json", tmp_path / "pred.json")
