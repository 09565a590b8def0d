"""Property-based fuzzing of every importer: random and mutated JSON and PNG bytes.

For any input, importing into a project must end in one of two ways: items imported and problems
reported, or a typed error (``InspectorError``), never another exception; within a time bound
(a hang fails the test through its timeout); and the project is never left partial: it opens,
every stored annotation loads and agrees with its segment table, and a photo is ``done`` only
with a segment in it.
"""
from __future__ import annotations

import base64
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.errors import InspectorError
from core.formats import import_coco_instances, import_coco_panoptic, import_labelme, import_mask_folder
from core.formats.project_io import import_into_project
from core.idpng import encode_ids
from core.project import Project

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)


def _photo(folder: Path, name: str = "a.jpg", w: int = 40, h: int = 30) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(path)
    return path


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    """Flip bytes at positions (modulo the length) and optionally cut the data short."""
    out = bytearray(data)
    for pos, value in edits:
        if out:
            out[pos % len(out)] = value
    if cut is not None and out:
        out = out[: cut % (len(out) + 1)]
    return bytes(out)


byte_edits = st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 255)), max_size=6)
cuts = st.one_of(st.none(), st.integers(0, 2**20))


def replace_at(doc, path: list[int], value):
    """``doc`` with the node reached by following ``path`` (indices modulo each container's size)
    replaced by ``value``: a structure-aware mutation of a valid document."""
    if not path or not isinstance(doc, (dict, list)) or not doc:
        return value
    if isinstance(doc, dict):
        key = sorted(doc, key=str)[path[0] % len(doc)]
        return {**doc, key: replace_at(doc[key], path[1:], value)}
    i = path[0] % len(doc)
    return doc[:i] + [replace_at(doc[i], path[1:], value)] + doc[i + 1:]


def check_import(run_factory) -> None:
    """Import into a fresh project; the outcome must be clean and the project whole."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.pinspect"
        with Project.create(path) as project:
            try:
                run = run_factory()
                import_into_project(project, run)
            except InspectorError:
                pass
        with Project.open(path, read_only=True) as project:
            cats = project.categories.get()
            for img in project.images.list():
                ann = project.annotations.load(img.id)
                if ann is not None:
                    ann.validate(cats, img.id)
                    assert ann.shape == (img.height, img.width)
                if img.status == "done":
                    assert ann is not None and ann.segments


def _coco_doc() -> dict:
    return {"images": [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 30}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 60,
                             "segmentation": [[2, 2, 20, 2, 20, 8, 2, 8]], "bbox": [2, 2, 18, 6]}],
            "categories": [{"id": 1, "name": "crack"}, {"id": 2, "name": "concrete", "isthing": 0}]}


@pytest.mark.timeout(120)
@FUZZ
@given(mutation=st.one_of(
    st.tuples(st.just("replace"), st.lists(st.integers(0, 50), max_size=5), json_values),
    st.tuples(st.just("bytes"), byte_edits, cuts),
    st.tuples(st.just("whole"), st.just(None), json_values)))
@pytest.mark.slow
def test_coco_instances_importer_survives_any_json(mutation):
    kind, a, b = mutation
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _photo(root / "images")
        text = json.dumps(_coco_doc())
        if kind == "replace":
            text = json.dumps(replace_at(_coco_doc(), a, b))
        elif kind == "bytes":
            text = mutate(text.encode(), a, b).decode("latin-1")
        else:
            text = json.dumps(b)
        (root / "c.json").write_text(text, encoding="latin-1" if kind == "bytes" else "utf-8")
        check_import(lambda: import_coco_instances(root / "c.json", root / "images"))


def _panoptic_files(root: Path, png: bytes, doc: dict | None = None) -> Path:
    _photo(root / "images")
    (root / "pan").mkdir(exist_ok=True)
    (root / "pan" / "a.png").write_bytes(png)
    doc = doc or {"images": [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 30}],
                  "annotations": [{"image_id": 1, "file_name": "a.png",
                                   "segments_info": [{"id": 1, "category_id": 1, "iscrowd": 0},
                                                     {"id": 2, "category_id": 2, "iscrowd": 0}]}],
                  "categories": [{"id": 1, "name": "crack", "isthing": 1},
                                 {"id": 2, "name": "concrete", "isthing": 0}]}
    (root / "pan.json").write_text(json.dumps(doc))
    return root / "pan.json"


def _valid_ids() -> np.ndarray:
    ids = np.full((30, 40), 2, np.int32)
    ids[5:10, 5:30] = 1
    return ids


@pytest.mark.timeout(120)
@FUZZ
@given(edits=byte_edits, cut=cuts, path=st.lists(st.integers(0, 50), max_size=5), value=json_values,
       which=st.sampled_from(["png", "json"]))
@pytest.mark.slow
def test_coco_panoptic_importer_survives_any_png_and_json(edits, cut, path, value, which):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        png = encode_ids(_valid_ids())
        if which == "png":
            json_path = _panoptic_files(root, mutate(png, edits, cut))
        else:
            json_path = _panoptic_files(root, png)
            doc = json.loads(json_path.read_text())
            json_path.write_text(json.dumps(replace_at(doc, path, value)))
        check_import(lambda: import_coco_panoptic(json_path, root / "pan", root / "images"))


@pytest.mark.timeout(120)
@FUZZ
@given(path=st.lists(st.integers(0, 50), max_size=5), value=json_values, edits=byte_edits, cut=cuts,
       where=st.sampled_from(["json", "imageData", "mask"]))
@pytest.mark.slow
def test_labelme_importer_survives_any_file(path, value, edits, cut, where):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _photo(root)
        small = _png(np.full((6, 6), 255, np.uint8))
        doc = {"shapes": [{"label": "crack", "shape_type": "polygon", "points": [[2, 2], [20, 2], [20, 9]]},
                          {"label": "spalling", "shape_type": "mask", "points": [[10, 10], [16, 16]],
                           "mask": base64.b64encode(mutate(small, edits, cut) if where == "mask" else small).decode()}],
               "imagePath": "a.jpg", "imageHeight": 30, "imageWidth": 40,
               "imageData": base64.b64encode(mutate((root / "a.jpg").read_bytes(), edits, cut)).decode()
               if where == "imageData" else None}
        if where == "json":
            doc = replace_at(doc, path, value)
        (root / "a.json").write_text(json.dumps(doc))
        check_import(lambda: import_labelme(root / "a.json"))


@pytest.mark.slow
@pytest.mark.timeout(120)
@FUZZ
@given(edits=byte_edits, cut=cuts, values=st.lists(st.integers(0, 300), min_size=1, max_size=4))
def test_mask_folder_importer_survives_any_mask_bytes(edits, cut, values):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _photo(root / "photos")
        (root / "masks").mkdir()
        mask = np.zeros((30, 40), np.uint16 if max(values) > 255 else np.uint8)
        for k, v in enumerate(values):
            mask[k * 5:(k + 1) * 5, :] = v
        (root / "masks" / "a.png").write_bytes(mutate(_png(mask), edits, cut))
        check_import(lambda: import_mask_folder(root / "photos", root / "masks"))
