"""Round trips of predictions, models with metrics, calibration and thumbnails."""
import io
import math
import zlib
from dataclasses import dataclass

import numpy as np
import pytest

from core.calibration import Calibration, CalibrationError
from core.errors import ProjectError
from core.project import Project

from tests.support.project import write_photo, annotation_for, same_annotation, file_sql


@pytest.fixture
def image(project, photos):
    return project.images.add_files(photos(1, size=(60, 80))).added[0]


@dataclass(frozen=True)
class TinyConfig:
    hidden_dim: int = 32
    num_queries: int = 20
    backbone: str = "resnet18"


def test_model_round_trip_with_dataclass_config_and_metric_curves(project, tmp_path):
    ckpt = tmp_path / "runs" / "model_0.pt"
    cats = project.categories.get()
    mid = project.models.add("first", checkpoint=ckpt, config=TinyConfig(), categories=cats,
                             training={"epochs": 3, "lr": 1e-4, "augment": ("flip",)}, notes="ü")
    m = project.models.get(mid)
    assert m.config == {"hidden_dim": 32, "num_queries": 20, "backbone": "resnet18"}
    assert m.categories == cats and m.training == {"epochs": 3, "lr": 1e-4, "augment": ["flip"]}
    assert m.checkpoint == ckpt and not m.checkpoint_exists and m.notes == "ü" and m.created_at
    for step in range(3):
        project.models.log_metrics(mid, step, {"train/loss": 3.0 - step, "val/PQ": 10.0 * step})
    project.models.log_metrics(mid, 2, {"val/PQ": 25.0, "val/SQ": float("nan")})  # replace + NaN
    curves = project.models.metrics(mid)
    assert curves["train/loss"] == [(0, 3.0), (1, 2.0), (2, 1.0)]
    assert curves["val/PQ"] == [(0, 0.0), (1, 10.0), (2, 25.0)]
    assert math.isnan(curves["val/SQ"][0][1])
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"weights")
    project.models.update(mid, checkpoint=ckpt, name="best")
    m = project.models.get(mid)
    assert m.name == "best" and m.checkpoint_exists
    assert [x.id for x in project.models.list()] == [mid]
    with pytest.raises(ProjectError, match="no model with id 99"):
        project.models.log_metrics(99, 0, {"x": 1.0})
    with pytest.raises(ProjectError, match="JSON"):
        project.models.add("bad", checkpoint=None, config={"f": object()}, categories=cats)


def _payload(k=5, h=16, w=20):
    """What an inference engine might keep: kept queries' classes, scores, low-res probabilities."""
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez_compressed(buf, labels=rng.integers(1, 5, k), scores=rng.random(k).astype(np.float32),
                        probs=rng.random((k, h, w)).astype(np.float16))
    return buf.getvalue()


def test_prediction_round_trip_and_rethreshold_without_rewriting_payload(project, image):
    mid = project.models.add("m", checkpoint=None, config={}, categories=project.categories.get())
    payload = _payload()
    ann = annotation_for(image.height, image.width, 4)
    project.predictions.save(image.id, mid, payload, {"min_threshold": 0.3, "threshold": 0.5}, ann)
    rec = project.predictions.load(image.id, mid)
    assert rec.payload == payload and rec.meta == {"min_threshold": 0.3, "threshold": 0.5}
    assert same_annotation(rec.annotation, ann)
    z = np.load(io.BytesIO(rec.payload))
    assert z["probs"].dtype == np.float16 and z["probs"].shape == (5, 16, 20)
    # Slider moved: a new result, the payload untouched.
    ann2 = annotation_for(image.height, image.width, 1)
    project.predictions.set_result(image.id, mid, ann2, {"threshold": 0.7})
    rec2 = project.predictions.load(image.id, mid)
    assert rec2.payload == payload and rec2.meta["threshold"] == 0.7 and rec2.meta["min_threshold"] == 0.3
    assert same_annotation(project.predictions.load_annotation(image.id, mid), ann2)
    assert project.predictions.load(image.id, mid, with_payload=False).payload == b""
    # Saving again replaces; without a result the annotation is None.
    project.predictions.save(image.id, mid, b"x" * 10, {"threshold": 0.5})
    assert project.predictions.load(image.id, mid).annotation is None
    assert [(i, m) for i, m, _ in project.predictions.list(model_id=mid)] == [(image.id, mid)]
    with pytest.raises(ProjectError, match="no model with id"):
        project.predictions.save(image.id, mid + 1, b"", {})
    with pytest.raises(ProjectError, match="JSON"):
        project.predictions.save(image.id, mid, b"", {"t": float("nan")})
    # Deleting the model deletes its predictions (and its metrics).
    project.models.delete(mid)
    assert project.predictions.list() == []


def test_prediction_delete_by_image_or_model(project, photos):
    imgs = project.images.add_files(photos(2)).added
    cats = project.categories.get()
    m1 = project.models.add("a", checkpoint=None, config={}, categories=cats)
    m2 = project.models.add("b", checkpoint=None, config={}, categories=cats)
    for im in imgs:
        for m in (m1, m2):
            project.predictions.save(im.id, m, zlib.compress(b"p"), {})
    assert project.predictions.delete(model_id=m1) == 2
    assert project.predictions.delete(image_id=imgs[0].id) == 1
    assert [(i, m) for i, m, _ in project.predictions.list()] == [(imgs[1].id, m2)]
    with pytest.raises(ProjectError):
        project.predictions.delete()


def test_calibration_round_trip_and_validation(project, image):
    assert project.calibration.get(image.id) is None
    details = {"p0": [1, 2], "p1": [50, 2], "length_px": 49.0, "length": 100.0, "unit": "mm"}
    project.calibration.set(image.id, Calibration(100 / 49, "line", details))
    assert project.calibration.get(image.id) == Calibration(100 / 49, "line", details)
    assert "49.0 px = 100 mm" in project.calibration.get(image.id).describe()
    project.calibration.set(image.id, Calibration(0.1, "gsd"))
    assert project.calibration.get(image.id) == Calibration(0.1, "gsd", {})
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(CalibrationError, match="positive number"):
            Calibration(bad, "gsd")
    with pytest.raises(ProjectError, match="must be a core.calibration.Calibration"):
        project.calibration.set(image.id, 0.1)
    with pytest.raises(ProjectError, match="no image with id"):
        project.calibration.set(999, Calibration(0.1))
    project.calibration.clear(image.id)
    assert project.calibration.all() == {}


def test_calibrations_stored_by_earlier_versions_read_as_todays(project, image):
    """Rows written with the store's former method names, and a damaged one, as found in old files."""
    path = project.path
    project.close()
    rows = [("INSERT INTO calibration VALUES (?, ?, ?, ?, ?)",
             (image.id, 0.25, "reference_length", '{"length": 50}', "2026-01-01T00:00:00")),
            ("UPDATE calibration SET method = 'entered', mm_per_pixel = 0.5", ()),
            ("UPDATE calibration SET details = '{not json'", ())]
    expected = [Calibration(0.25, "line", {"length": 50}), Calibration(0.5, "gsd", {"length": 50}), None]
    for (sql, args), want in zip(rows, expected):
        with file_sql(path) as conn:
            conn.execute(sql, args)
        with Project.open(path) as reopened:
            if want is None:
                with pytest.raises(ProjectError, match="damaged"):
                    reopened.calibration.get(image.id)
            else:
                assert reopened.calibration.get(image.id) == want
                assert reopened.calibration.all() == {image.id: want}


def test_thumbnail_cache_is_ignored_once_the_photo_changes(project, image, photos, tmp_path):
    project.thumbnails.put(image.id, b"jpeg-bytes", 128)
    assert project.thumbnails.get(image.id) == b"jpeg-bytes"
    assert project.thumbnails.get(image.id, min_side=256) is None
    other = write_photo(tmp_path / "re-exported.jpg", 60, 80, seed=77)
    project.images.relink_image(image.id, other, require_same_content=False)
    assert project.thumbnails.get(image.id) is None


def test_every_table_survives_close_and_reopen(tmp_path, photos):
    path = tmp_path / "p.pinspect"
    with Project.create(path) as p:
        (im,) = p.images.add_files(photos(1)).added
        p.images.set_split([im.id], "test")
        ann = annotation_for(im.height, im.width, 2)
        p.annotations.save(im.id, ann, status="done")
        mid = p.models.add("m", checkpoint=tmp_path / "m.pt", config={"a": 1}, categories=p.categories.get())
        p.models.log_metrics(mid, 0, {"loss": 1.5})
        p.predictions.save(im.id, mid, b"payload", {"threshold": 0.4}, ann)
        p.calibration.set(im.id, Calibration(0.3, "marker", {"marker": "A4"}))
        p.thumbnails.put(im.id, b"t", 64)
        rust = p.categories.add("rust", True)
    with Project.open(path) as p:
        im2 = p.images.get(im.id)
        assert (im2.split, im2.status, im2.sha256) == ("test", "done", im.sha256)
        assert same_annotation(p.annotations.load(im.id), ann)
        assert p.models.metrics(mid) == {"loss": [(0, 1.5)]} and p.models.get(mid).config == {"a": 1}
        assert p.predictions.load(im.id, mid).payload == b"payload"
        assert p.calibration.get(im.id) == Calibration(0.3, "marker", {"marker": "A4"})
        assert p.thumbnails.get(im.id) == b"t"
        assert p.categories.get().by_id(rust.id) == rust
        assert p.integrity_check() == ["ok"]
