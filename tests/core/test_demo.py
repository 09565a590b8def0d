"""``main.py demo`` end to end with a small budget, its figures, its export, Ctrl-C, and the demo
model put into the sample project.

One demo run (8 + 4 photos, 15 s of training) serves the module: it goes through the command
line as a user runs it; its trained model, exported as the shipped model is, is the stand-in for
``resources/models/demo_cpu_fast.pt`` (never written by the tests).
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import signal
import threading

import numpy as np
import pytest

from core.cli import EXIT_CANCELLED, main as cli_main
from core.demo import run_demo, sample_model
from core.errors import CancelledError, DatasetError
from core.evaluation.pq import PQAccumulator
from core.idpng import read_ids
from core.inference.project_model import active_model_id
from core.project import Project

N_TRAIN, N_VAL, MINUTES = 8, 4, 0.25

# One demo run (training included) serves the module: the whole module is the slow lane's.
pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]  # the machine has 2 shared cores


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``(exit code, stdout, figures.json, work folder)`` of ``main.py demo --keep``."""
    work = tmp_path_factory.mktemp("demo") / "run"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli_main(["demo", "--minutes", str(MINUTES), "--photos", str(N_TRAIN), "--held-out", str(N_VAL),
                       "--threshold", "0.3", "--keep", str(work)])
    assert rc == 0, err.getvalue()[-2000:]
    return rc, out.getvalue(), json.loads((work / "figures.json").read_text()), work


@pytest.fixture(scope="module")
def stand_in(demo, tmp_path_factory):
    """The demo run's model exported as the shipped model is (float16 weights)."""
    from core.model.checkpoint import export_model

    figures = demo[2]
    return export_model(figures["paths"]["checkpoint"], tmp_path_factory.mktemp("model") / "demo_cpu_fast.pt")


def _stored_pq(project_path, model_id):
    """PQ of the predictions the demo stored in the project against the truth, recomputed here."""
    with Project.open(project_path, read_only=True) as project:
        acc = PQAccumulator(project.categories.get())
        val = [r for r in project.images.list() if r.split == "val"]
        for rec in val:
            pred = project.predictions.load_annotation(rec.id, model_id)
            assert pred is not None, f"no stored prediction for {rec.name}"
            acc.process(project.annotations.load(rec.id), pred, image_id=rec.id)
    return acc.evaluate(), len(val)


def test_demo_runs_end_to_end_and_prints_the_evaluation_figures(demo):
    rc, printed, figures, work = demo
    with Project.open(work / "demo.pinspect", read_only=True) as project:
        model_id = active_model_id(project)
        model = project.models.get(model_id)
        assert model.checkpoint is not None and model.checkpoint_exists
        assert model.training["status"] == "time_limit" and model.training["epochs_done"] >= 1
        assert len(project.images.list()) == N_TRAIN + N_VAL
    assert figures["training"]["status"] == "time_limit" and figures["training"]["steps"] >= 1
    assert 0.9 * 60 * MINUTES <= figures["training"]["seconds"] <= 60 * MINUTES + 30
    # The figures, recomputed from the predictions the project holds, are the ones printed.
    pq, n_val = _stored_pq(work / "demo.pinspect", model_id)
    assert n_val == N_VAL and pq.num_images == N_VAL
    assert sum(r.fn for r in pq.per_class) > 0  # the truth has segments: the table is not empty
    for row in list(pq.groups) + list(pq.per_class):
        line = re.search(rf"^{row.name}\s*\|(.*)$", printed, re.M)
        assert line, f"no {row.name} row in:\n{printed}"
        cells = line.group(1).split()
        assert cells[:3] == [f"{100 * v:.1f}" for v in (row.pq, row.sq, row.rq)] or row.n == 0, (row.name, cells)
        if row.category_id is not None:
            assert [int(c) for c in cells[3:6]] == [row.tp, row.fp, row.fn], (row.name, cells)
    ev = figures["evaluation"]["pq"]
    assert ev["All"]["tp"] == pq.all.tp and ev["All"]["fp"] == pq.all.fp and ev["All"]["fn"] == pq.all.fn
    # Each stage's wall time is printed, and they add up to the total.
    stages = {s["name"]: s["seconds"] for s in figures["stages"]}
    assert list(stages) == ["make data", "import", "train", "predict + evaluate", "export"]
    for name, seconds in stages.items():
        line = re.search(rf"^  {re.escape(name)}\s+([0-9.]+) s", printed, re.M)
        assert line and float(line.group(1)) == pytest.approx(seconds, abs=0.06), name
    assert figures["total_seconds"] == pytest.approx(sum(stages.values()), abs=0.05)
    assert str(work / "export") in printed


def test_demo_export_is_valid_coco_panoptic_matching_the_truth(demo):
    work = demo[3]
    export = work / "export"
    truth = {}
    for split in ("train", "val"):
        data = json.loads((work / "data" / f"panoptic_{split}.json").read_text())
        truth.update({a["file_name"]: (split, a) for a in data["annotations"]})
    seen = 0
    for split, n in (("train", N_TRAIN), ("val", N_VAL)):
        data = json.loads((export / f"panoptic_{split}.json").read_text())
        assert len(data["images"]) == len(data["annotations"]) == n
        assert {c["name"] for c in data["categories"]} == {"crack", "spalling", "exposed_rebar", "concrete",
                                                             "background"}
        photos = {im["id"]: im for im in data["images"]}
        for ann in data["annotations"]:
            im = photos[ann["image_id"]]
            assert (export / split / im["file_name"]).is_file()
            ids = read_ids(export / f"panoptic_{split}" / ann["file_name"])
            assert ids.shape == (im["height"], im["width"])
            infos = {s["id"]: s for s in ann["segments_info"]}
            assert set(np.unique(ids)) - {0} == set(infos)
            for sid, s in infos.items():
                ys, xs = np.nonzero(ids == sid)
                assert s["area"] == len(ys)
                assert s["bbox"] == [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
                                     int(ys.max() - ys.min() + 1)]
            # The same photo's truth as generated: same split, same class per pixel.
            gt_split, gt = truth[ann["file_name"]]
            assert gt_split == split
            gt_ids = read_ids(work / "data" / f"panoptic_{split}" / gt["file_name"])
            cls = {s["id"]: s["category_id"] for s in gt["segments_info"]}
            gt_cls = np.vectorize(lambda v, cls=cls: cls.get(v, 0))(gt_ids)
            ex_cls = np.vectorize(lambda v, infos=infos: infos[v]["category_id"] if v else 0)(ids)
            np.testing.assert_array_equal(ex_cls, gt_cls)
            seen += 1
    assert seen == N_TRAIN + N_VAL


def test_ctrl_c_stops_the_demo_with_a_clear_message(tmp_path, monkeypatch):
    """A real SIGINT while training: the run stops after its step, the command says where it
    stopped and what is kept, exit code 130."""
    from core.commands import demo_cmd

    original = demo_cmd._StageBars.progress
    sent = []

    def progress(self, done, total, message=""):
        if self._label == "train" and "step" in message and not sent:
            sent.append(True)
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C in the terminal does
        original(self, done, total, message)

    monkeypatch.setattr(demo_cmd._StageBars, "progress", progress)
    work = tmp_path / "run"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli_main(["demo", "--minutes", "1", "--photos", "2", "--held-out", "1", "--keep", str(work)])
    assert sent and rc == EXIT_CANCELLED
    text = err.getvalue()
    assert "stopping the demo after the current step" in text
    assert "cancelled: the demo was cancelled while it was at 'train'" in text and str(work) in text
    assert "PQ" not in out.getvalue()
    with Project.open(work / "demo.pinspect", read_only=True) as project:  # the stopped run is resumable
        [model] = project.models.list()
        assert model.training["status"] == "cancelled" and (model.checkpoint.parent / "last.pt").is_file()


def test_cancel_and_bad_folders_lose_nothing(tmp_path):
    stop = threading.Event()
    stop.set()
    with pytest.raises(CancelledError, match="'make data'"):
        run_demo(tmp_path / "a", minutes=0.1, n_train=2, n_val=1, cancel=stop)
    assert not (tmp_path / "a" / "data").exists()  # no half-written dataset
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="new or empty"):
        run_demo(busy, minutes=0.1, n_train=2, n_val=1)
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]
    with pytest.raises(ValueError, match="threshold"):
        run_demo(tmp_path / "b", minutes=0.1, n_train=2, n_val=1, threshold=0.1)
    with pytest.raises(SystemExit) as usage:  # argparse: a one-line message, exit code 2
        cli_main(["demo", "--minutes", "0", "--keep", str(tmp_path / "c")])
    assert usage.value.code == 2 and not (tmp_path / "c").exists()


# --- the demo model in the sample project ----------------------------------------------------------

def test_sample_project_gets_the_demo_model_active_with_every_photo_predicted(stand_in, tmp_path, monkeypatch):
    from core.inference.store import load_prediction
    from core.demo.sample_project import SAMPLE_PHOTOS, build_sample_project

    monkeypatch.setattr(sample_model, "demo_model_path", lambda: stand_in)
    path = build_sample_project(tmp_path / "Sample.pinspect", with_demo_model=True)
    with Project.open(path, read_only=True) as project:
        [model] = project.models.list()
        assert active_model_id(project) == model.id and model.name == sample_model.DEMO_MODEL_NAME
        assert model.checkpoint == tmp_path / "Sample_models" / "demo" / "demo_cpu_fast.pt"
        assert model.checkpoint.read_bytes() == stand_in.read_bytes()
        assert "resources/models/README.md" in model.notes
        stored = project.predictions.list(model_id=model.id)
        assert len(stored) == len(SAMPLE_PHOTOS) == len(project.images.list())
        rec = project.images.list()[0]
        shown = project.predictions.load_annotation(rec.id, model.id)
        assert shown.shape == (rec.height, rec.width)
        # Re-thresholdable without the network, as the slider does; higher never adds a segment.
        pred = load_prediction(project, rec.id, model.id)
        assert len(pred.panoptic(0.9).segments) <= len(pred.panoptic(0.3).segments)
        assert len(project.annotations.image_ids()) == 7  # the sample's own annotations are untouched


def test_sample_project_without_a_usable_demo_model_is_made_without_it(tmp_path, monkeypatch, caplog):
    from core.demo.sample_project import build_sample_project

    monkeypatch.setattr(sample_model, "demo_model_path", lambda: None)
    with caplog.at_level(logging.INFO):
        path = build_sample_project(tmp_path / "A.pinspect", with_demo_model=True)
    assert "without a demo model" in caplog.text
    with Project.open(path, read_only=True) as project:
        assert project.models.list() == [] and len(project.annotations.image_ids()) == 7
    broken = tmp_path / "demo_cpu_fast.pt"
    broken.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(sample_model, "demo_model_path", lambda: broken)
    caplog.clear()
    path = build_sample_project(tmp_path / "B.pinspect", with_demo_model=True)
    assert "made without the demo model" in caplog.text and "demo_cpu_fast.pt" in caplog.text
    with Project.open(path, read_only=True) as project:
        assert project.models.list() == [] and len(project.images.list()) == 12
    assert not (tmp_path / "B_models" / "demo" / "demo_cpu_fast.pt").exists()


def test_the_shipped_demo_model_fits_the_sample_project():
    """``resources/models/demo_cpu_fast.pt``: found by ``demo_model_path``, small, float16 on disk,
    loaded as float32 with finite weights, for 384-px input, on the sample's categories."""
    import torch

    from core.inference import Predictor
    from core.inference.project_model import check_finite_weights
    from core.model.checkpoint import load_checkpoint
    from core.synthetic.generator import categories_of
    from core.demo.sample_project import SAMPLE_CONFIG

    path = sample_model.demo_model_path()
    assert path is not None and path.name == "demo_cpu_fast.pt", "the repository ships the demo model"
    assert path.stat().st_size < 50e6
    stored = load_checkpoint(path)["model"]
    assert {t.dtype for t in stored.values() if t.is_floating_point()} == {torch.float16}
    predictor = Predictor.from_checkpoint(path, device="cpu")
    assert predictor.input_size == 384
    # Ids, names and thing/stuff decide whether a model fits a project; colours are the project's.
    def key(cats):
        return [(c.id, c.name, bool(c.isthing)) for c in cats]
    assert key(predictor.categories) == key(categories_of(SAMPLE_CONFIG))
    assert all(p.dtype == torch.float32 for p in predictor.model.parameters())
    check_finite_weights(predictor, path)
