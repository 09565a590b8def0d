"""Evaluating a model on a project (core.evaluation.project_eval) gives the file evaluator's numbers."""
from __future__ import annotations

import math
import threading

import pytest

from core.categories import default_categories
from core.errors import CancelledError
from core.evaluation import evaluate_files
from core.evaluation.project_eval import evaluate_project, evaluation_photos
from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic
from core.project import Project
from tests.support.models import write_photo


@pytest.fixture
def project(tmp_path, predictor):
    """Four annotated photos: two with the model's own result (at 0.5 and 0.8), two with the
    synthetic truth; three in the val split; one more photo without annotation."""
    p = Project.create(tmp_path / "eval.pinspect", default_categories())
    files, truths = [], []
    for i in range(5):
        path = tmp_path / f"photo_{i}.jpg"
        _, truth = write_photo(path, 10 + i, (120 + 20 * i, 100), quality=95)
        files.append(path)
        truths.append(truth)
    p.images.add_files(files)
    recs = p.images.list()
    for rec, truth, kind in zip(recs[:4], truths, (0.5, 0.8, None, None)):
        p.annotations.save(rec.id, predictor.predict(rec.path).panoptic(kind) if kind else truth)
    p.images.set_split([r.id for r in recs[:3]], "val")
    yield p
    p.close()


def _files(project, folder, annotations, categories):
    recs = {r.id: r for r in project.images.list()}
    records = [PanopticRecord(i, recs[i].name, recs[i].width, recs[i].height, a) for i, a in annotations.items()]
    write_coco_panoptic(folder / "p.json", folder / "p", records, categories)
    return folder / "p.json"


def test_project_evaluation_equals_the_file_evaluator(project, predictor, tmp_path):
    val = [r.id for r in evaluation_photos(project, "val")]
    assert len(val) == 3 and len(evaluation_photos(project, "annotated")) == 4
    model_id = project.models.add("tiny", checkpoint=None, config={}, categories=predictor.categories)
    done = []
    ev = evaluate_project(project, predictor, val, threshold=0.5, model_id=model_id,
                          progress=lambda i, n, name: done.append((i, n)))
    assert done[-1] == (3, 3) and ev.threshold == 0.5 and not ev.skipped
    cats = project.categories.get()
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    gt = _files(project, tmp_path / "gt", {i: project.annotations.load(i) for i in val}, cats)
    preds = {i: project.predictions.load_annotation(i, model_id) for i in val}  # stored by the evaluation
    ref = evaluate_files(gt, _files(project, tmp_path / "pred", preds, cats), coco_ap=True)
    assert ev.pq.all == ref.pq.all and ev.pq.things == ref.pq.things and ev.pq.stuff == ref.pq.stuff
    assert ev.pq.per_class == ref.pq.per_class
    assert ev.coco.bbox == ref.coco.bbox and ev.coco.segm == ref.coco.segm
    assert 0 < ev.pq.all.pq < 1
    worst = ev.worst()
    assert worst[0].pq.pq <= worst[-1].pq.pq and math.isclose(worst[-1].pq.pq, 1.0)  # its own result at 0.5
    assert {p.image_id for p in ev.photos} == set(val) and all(p.name.endswith(".jpg") for p in ev.photos)


def test_missing_photos_are_skipped_and_cancel_stops(project, predictor):
    recs = evaluation_photos(project, "annotated")
    recs[0].path.unlink()
    ev = evaluate_project(project, predictor, [r.id for r in recs], threshold=0.6, coco_ap=False)
    assert [s[0] for s in ev.skipped] == [recs[0].id] and "missing" in ev.skipped[0][2]
    assert len(ev.photos) == 3 and ev.coco is None
    assert not project.predictions.list()  # no model id: nothing stored
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        evaluate_project(project, predictor, [r.id for r in recs[1:]], threshold=0.6, cancel=cancel)
    with pytest.raises(ValueError):
        evaluate_project(project, predictor, [], threshold=0.6)
    with pytest.raises(ValueError):
        evaluate_project(project, predictor, [recs[1].id], threshold=0.1)


def test_the_command_line_evaluates_a_project_as_the_application_does(project, predictor, checkpoint, tmp_path,
                                                                       capsys):
    import json

    from core.cli import main

    model_id = project.models.add("tiny", checkpoint=checkpoint, config={}, categories=predictor.categories)
    val = [r.id for r in evaluation_photos(project, "val")]
    ev = evaluate_project(project, predictor, val, threshold=0.5)
    out = tmp_path / "metrics.json"
    code = main(["evaluate", "--project", str(project.path), "--threshold", "0.5", "--worst", "2", "--per-class",
                 "--device", "cpu", "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and f"model {model_id} (tiny) on 3 val photos" in text and "lowest PQ of 3 photos" in text
    data = json.loads(out.read_text())
    assert data["pq"]["All"]["pq"] == ev.pq.all.pq and data["coco"]["bbox"]["AP"] == ev.coco.stats("bbox")["AP"]
    assert not project.predictions.list()  # the command line does not write the project
    assert main(["evaluate", "--project", str(project.path), "--gt", "x.json"]) == 2
    assert main(["evaluate", "--project", str(project.path), "--model", "99"]) == 1
    assert "no model with id 99" in capsys.readouterr().err


def test_thin_measures_only_when_asked_and_equal_to_the_file_pass(project, predictor, tmp_path):
    from core.evaluation.thin_files import evaluate_thin_files

    val = [r.id for r in evaluation_photos(project, "val")]
    plain = evaluate_project(project, predictor, val, threshold=0.5, coco_ap=False)
    assert plain.thin is None and "thin" not in plain.to_json()
    model_id = project.models.add("tiny", checkpoint=None, config={}, categories=predictor.categories)
    ev = evaluate_project(project, predictor, val, threshold=0.5, coco_ap=False, thin_tolerance=3.0,
                          model_id=model_id)
    cats = project.categories.get()
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    gt = _files(project, tmp_path / "gt", {i: project.annotations.load(i) for i in val}, cats)
    preds = {i: project.predictions.load_annotation(i, model_id) for i in val}
    ref = evaluate_thin_files(gt, _files(project, tmp_path / "pred", preds, cats), tolerance=3.0)
    assert ev.thin.tolerance == 3.0 and ev.thin.num_images == len(val)
    assert [r.name for r in ev.thin.per_class] == [r.name for r in ref.per_class]
    assert ev.thin.overall.pred_length == ref.overall.pred_length and ev.thin.overall.gt_length > 0
    assert ev.to_json()["thin"]["overall"] == ref.overall.to_json()
