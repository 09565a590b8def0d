"""Files saved before the package moves still open: a project (photos, an annotation, a scale with
the store's former method names, a registered model and its prediction) and a checkpoint, written by
the code of that time (``tests/fixtures/before_layout/make.py`` says how), plus the shipped model."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.calibration import Calibration
from core.project import Project
from core.project.active_model import active_model_id

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "before_layout"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def old(tmp_path):
    """A copy (opening a project may write to it), and what the writer recorded."""
    dest = tmp_path / "before_layout"
    shutil.copytree(FIXTURE, dest)
    return dest, json.loads((dest / "expected.json").read_text(encoding="utf-8"))


def test_an_old_project_opens_with_its_photos_annotation_scale_and_prediction(old):
    from core.inference.store import load_prediction

    folder, expected = old
    with Project.open(folder / "before_layout.pinspect") as project:
        assert not project.read_only and project.integrity_check() == ["ok"]
        records = {r.name: r for r in project.images.list()}
        assert sorted(records) == expected["photos"] and all(r.exists for r in records.values())
        annotated = records[expected["annotated"]]
        ann = project.annotations.load(annotated.id)
        crack = project.categories.get().by_name("crack").id
        assert int((ann.semantic() == crack).sum()) == expected["crack_pixels"]
        cal = project.calibration.get(annotated.id)
        assert cal == Calibration(expected["calibration_mm_per_pixel"], "line", {"length": 50, "unit": "mm"})
        assert active_model_id(project) == expected["model_id"]
        pred = load_prediction(project, records[expected["predicted"]].id, expected["model_id"])
        assert pred is not None and pred.panoptic(0.3).shape == (48, 64)


def test_an_old_checkpoint_and_the_shipped_model_load_and_predict(old):
    from core.demo import demo_model_path
    from core.inference import Predictor

    folder, _ = old
    photo = folder / "photos" / "wall_0.jpg"
    for checkpoint in (folder / "tiny_cpu_fast.pt", demo_model_path()):
        predictor = Predictor.from_checkpoint(checkpoint, "cpu")
        ann = predictor.predict(photo).panoptic(0.3)
        assert ann.shape == (48, 64) and np.isin(ann.id_map, [0, *ann.segments]).all()
