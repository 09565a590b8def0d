"""A synthetic COCO panoptic dataset on disk: readable by our importer and by panopticapi,
identical to what ``generate_sample`` makes, split and sized as asked, cancellable."""
import contextlib
import io
import json
import threading

import numpy as np
import pytest

from core.categories import default_categories
from core.errors import CancelledError, DatasetError
from core.formats import import_coco_panoptic
from core.formats.records import ImportItem
from core.imageio import load_image
from core.synthetic import generate_sample, image_seed
from core.synthetic.writer import SizeRange, parse_size_spec, size_for, write_coco_dataset
from core.safety import MARKER

CATS = default_categories()


def test_dataset_matches_the_generator_and_imports_cleanly(tmp_path):
    out = tmp_path / "ds"
    seen = []
    summary = write_coco_dataset(out, 4, seed=7, size=(96, 80), progress=lambda d, t, m: seen.append((d, t)))
    assert summary.splits == {"all": 4} and seen[-1] == (4, 4)
    assert sorted(p.name for p in out.iterdir() if p.name != MARKER) == ["images", "panoptic", "panoptic.json"]
    run = import_coco_panoptic(out / "panoptic.json")
    items = run.collect()
    assert all(isinstance(i, ImportItem) for i in items) and len(items) == 4
    assert run.categories == CATS
    for item in items:
        index = int(item.photo_path.stem.split("_")[1])
        rgb, ann = generate_sample(image_seed(7, index), (96, 80))
        assert item.annotation.segments == ann.segments
        assert np.array_equal(item.annotation.id_map, ann.id_map)
        photo = load_image(item.photo_path)
        assert photo.shape == rgb.shape
        assert np.abs(photo.astype(int) - rgb.astype(int)).mean() < 4  # JPEG q92 of the same photo


def test_panopticapi_reads_it_and_scores_it_against_itself_as_perfect(tmp_path):
    from panopticapi.evaluation import pq_compute

    out = tmp_path / "ds"
    summary = write_coco_dataset(out, 3, seed=1, size=96)
    js, png = str(out / "panoptic.json"), str(out / "panoptic")
    with contextlib.redirect_stdout(io.StringIO()):
        result = pq_compute(js, js, png, png)
    assert result["All"]["pq"] == pytest.approx(1.0)
    present = {c for c, n in summary.segments.items() if n}
    assert result["All"]["n"] == len(present)


@pytest.mark.slow
def test_split_is_seeded_exact_and_independent_of_workers(tmp_path):
    a = write_coco_dataset(tmp_path / "a", 8, seed=3, size=64, val_fraction=0.25)
    b = write_coco_dataset(tmp_path / "b", 8, seed=3, size=64, val_fraction=0.25, workers=2)
    assert a.splits == b.splits == {"train": 6, "val": 2}
    for name in ("panoptic_train.json", "panoptic_val.json"):
        ja, jb = (json.loads((tmp_path / d / name).read_text()) for d in "ab")
        assert ja == jb
    for f in sorted((tmp_path / "a").rglob("*.*")):
        if f.name == MARKER:  # says when and by which process the folder was written: differs by design
            continue
        assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes(), f
    val = json.loads((tmp_path / "a" / "panoptic_val.json").read_text())
    train = json.loads((tmp_path / "a" / "panoptic_train.json").read_text())
    assert not {i["id"] for i in val["images"]} & {i["id"] for i in train["images"]}
    assert len(list((tmp_path / "a" / "panoptic_val").iterdir())) == 2


def test_cancel_leaves_nothing_and_existing_folders_are_kept(tmp_path):
    stop = threading.Event()
    out = tmp_path / "ds"
    with pytest.raises(CancelledError):
        write_coco_dataset(out, 10, size=64, progress=lambda d, t, m: stop.set() if d >= 2 else None, cancel=stop)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not empty"):
        write_coco_dataset(out, 1, size=64)
    assert (out / "keep.txt").read_text() == "mine"


def test_size_specs():
    assert parse_size_spec("512") == 512
    assert parse_size_spec("640x480") == (640, 480)
    assert parse_size_spec("256-1024") == SizeRange(256, 1024)
    for bad in ("", "0", "10x", "900-300", "large"):
        with pytest.raises(ValueError):
            parse_size_spec(bad)
    sizes = {size_for(SizeRange(256, 1024), 0, i) for i in range(50)}
    assert len(sizes) > 20
    assert all(256 <= max(s) <= 1024 and min(s) >= 256 * 9 / 16 - 1 for s in sizes)
    assert any(w > h for w, h in sizes) and any(w < h for w, h in sizes)
    assert size_for(SizeRange(256, 1024), 0, 5) == size_for(SizeRange(256, 1024), 0, 5)
    assert size_for((300, 200), 0, 5) == (300, 200)
