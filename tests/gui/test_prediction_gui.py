"""Prediction, the confidence slider, evaluation and their failures, driven through the window.

A tiny random DETR (tests/core/inference/conftest.py) on small synthetic photos: fast, and its
queries have varied classes and scores, so moving the slider really drops segments. Every test
watches the event loop with a 5 ms heartbeat: the GUI thread must never stall over 200 ms.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt

from core.inference import Predictor
from core.project import Project
from tests.support.models import INPUT, TINY, tiny_model, write_photo
from tests.support.dialogs import press_dialog_button
from tests.support.gui import LoopWatch, open_project

MAX_STALL_MS = 200


@pytest.fixture(autouse=True)
def _single_torch_thread(one_torch_thread):
    """See ``tests/conftest.py``."""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    from core.model import save_checkpoint

    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    model, categories = tiny_model()
    save_checkpoint(path, model, TINY, categories, {"training": {"train_config": {"eval_size": INPUT}}})
    return path


def make_model_project(folder: Path, checkpoint: Path, n: int = 4, annotate: bool = True) -> Path:
    """Photos (160 x 120) with a registered model. Annotated photos (all in the val split) are
    chosen so that PQ differs per photo: the model's own result at 0.5 (PQ 100 at that threshold),
    at 0.8 (fewer segments), and the synthetic truth (the random model gets it wrong)."""
    folder.mkdir(parents=True, exist_ok=True)
    files, truths = [], []
    for i in range(n):
        path = folder / f"photo_{i}.jpg"
        _, truth = write_photo(path, i, (160, 120), quality=95)
        files.append(path)
        truths.append(truth)
    predictor = Predictor.from_checkpoint(checkpoint, device="cpu")
    project_path = folder / "model.pinspect"
    with Project.create(project_path) as project:
        project.images.add_files(files)
        project.models.add("tiny detector", checkpoint=checkpoint, config=TINY.to_dict(),
                           categories=predictor.categories)
        if annotate:
            recs = project.images.list()
            for rec, truth, kind in zip(recs, truths, ("self@0.5", "self@0.8", "truth")):
                ann = predictor.predict(rec.path).panoptic(float(kind[5:])) if kind.startswith("self") else truth
                project.annotations.save(rec.id, ann)
            project.images.set_split([r.id for r in recs[:3]], "val")
    return project_path


def wait_quiet(qtbot, window, timeout=20_000):
    ui = window.prediction
    qtbot.waitUntil(lambda: not ui.controller.busy and not ui.live.busy and not window.runner.busy, timeout=timeout)


def test_predict_the_open_photo_and_slide_the_threshold(qtbot, window, tmp_path, checkpoint):
    path = make_model_project(tmp_path / "p", checkpoint)
    open_project(qtbot, window, path)
    ui = window.prediction
    assert ui.models.model_id is not None and "tiny detector" in ui.panel.model_label.text()
    assert ui.slider.segments_shown() is None  # nothing predicted yet
    image_id = window.photo.record.id
    with LoopWatch() as watch:
        with qtbot.waitSignal(ui.live.rethresholded, timeout=30_000):
            ui.panel.predict_button.click()
        wait_quiet(qtbot, window)
        assert image_id in window.session.predicted
        pred = ui.live.prediction
        assert pred is not None and len(pred.score_levels()) >= 3
        assert ui.slider.slider.levels == pred.score_levels()  # marked on the slider
        from core.imageio import load_image
        from core.inference.thin_refine import ThinRefiner

        refiner = ThinRefiner(pred, load_image(window.photo.record.path))
        counts, thresholds = [], []
        for t in np.linspace(0.30, 0.99, 24):
            units = int(round(t * 100))
            if units == ui.slider.slider.value():
                continue
            with qtbot.waitSignal(ui.live.rethresholded, timeout=10_000) as sig:
                ui.slider.slider.setValue(units)
            threshold, n = sig.args
            shown = window.controller.prediction
            assert n == len(shown.segments) == ui.slider.segments_shown()
            assert window.view.prediction_item.annotation is shown
            expected = pred.panoptic(threshold)  # the core's answer, computed here independently
            if not np.array_equal(shown.id_map, expected.id_map):  # a level refined already: its cracks redrawn
                expected = refiner.panoptic(threshold)
            np.testing.assert_array_equal(shown.id_map, expected.id_map)
            assert shown.segments == expected.segments
            counts.append(n)
            thresholds.append(threshold)
        wait_quiet(qtbot, window)
    assert thresholds == sorted(thresholds)
    assert all(a >= b for a, b in zip(counts, counts[1:])), counts  # never more segments when raised
    assert counts[0] > counts[-1] and len(set(counts)) >= 3, counts
    assert watch.max_gap_ms < MAX_STALL_MS, f"GUI thread stalled {watch.max_gap_ms} ms"
    # The segment panel lists what survives, with full-size areas; the project keeps the last result.
    from core.editing import compute_areas

    assert window.segments_panel.pred_root.childCount() == counts[-1]
    assert window.segments_panel._pred_areas == compute_areas(window.controller.prediction.id_map)
    qtbot.waitUntil(lambda: window.session.project.get_setting("prediction.threshold") == pytest.approx(thresholds[-1]),
                    timeout=5000)
    stored = window.session.project.predictions.load(image_id, ui.models.model_id, with_payload=False)
    assert stored.meta["threshold"] == pytest.approx(thresholds[-1]) and len(stored.annotation.segments) == counts[-1]


def test_accepting_the_shown_prediction_uses_the_slider_threshold(qtbot, window, tmp_path, checkpoint):
    path = make_model_project(tmp_path / "p", checkpoint, annotate=False)
    open_project(qtbot, window, path)
    ui = window.prediction
    ui.slider.set_threshold(0.6)
    with qtbot.waitSignal(ui.live.rethresholded, timeout=30_000):
        ui.controller.predict("current")
    wait_quiet(qtbot, window)
    shown = window.controller.prediction
    assert shown.segments and ui.panel.accept_button.isEnabled()
    ui.panel.accept_button.click()
    doc = window.photo.document
    qtbot.waitUntil(lambda: len(doc.annotation.segments) == len(shown.segments), timeout=10_000)
    assert all(s.source == "model" for s in doc.annotation.segments.values())
    np.testing.assert_array_equal(doc.annotation.id_map > 0, shown.id_map > 0)


def test_predict_selected_and_unlabeled_photos_in_the_background(qtbot, window, tmp_path, checkpoint):
    path = make_model_project(tmp_path / "p", checkpoint, n=5)
    open_project(qtbot, window, path)
    ui = window.prediction
    unlabeled = [r.id for r in window.session.images if r.status == "unlabeled"]
    assert ui.controller.image_ids("unlabeled") == unlabeled and len(unlabeled) == 2
    with LoopWatch() as watch:
        with qtbot.waitSignal(ui.controller.finished, timeout=30_000) as sig:
            window.actions.a["predict_unlabeled"].trigger()
        assert sorted(sig.args[0].predicted) == unlabeled
        wait_quiet(qtbot, window)
        browser = window.browser
        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        assert browser.proxy.rowCount() == 5
        # The first two rows, as a Ctrl-click would select them; then the event loop runs, so a
        # late list refresh would show up here (it must keep the selection).
        both = QItemSelection(browser.proxy.index(0, 0), browser.proxy.index(1, 0))
        browser.list.selectionModel().select(both, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        qtbot.wait(100)
        chosen = browser.selected_ids()
        assert len(chosen) == 2, (chosen, browser.current_id())
        with qtbot.waitSignal(ui.controller.finished, timeout=30_000) as sig:
            ui.panel.scope.setCurrentIndex(ui.panel.scope.findData("selected"))
            ui.panel.predict_button.click()
        assert sorted(sig.args[0].predicted) == sorted(chosen)
        wait_quiet(qtbot, window)
    assert watch.max_gap_ms < MAX_STALL_MS, f"GUI thread stalled {watch.max_gap_ms} ms"
    assert window.session.predicted == set(unlabeled) | set(chosen)
    stored = {i for i, _m, _t in window.session.project.predictions.list()}
    assert stored == window.session.predicted


def test_evaluation_table_equals_the_core_evaluator(qtbot, window, tmp_path, checkpoint):
    from core.evaluation.project_eval import evaluate_project, evaluation_photos
    from gui.prediction.evaluation_tables import ID_ROLE, VALUE_ROLE

    path = make_model_project(tmp_path / "p", checkpoint)
    open_project(qtbot, window, path)
    ui = window.prediction
    with LoopWatch() as watch:
        dialog = ui.open_evaluation()
        assert dialog.photos.currentData() == "val" and "(3)" in dialog.photos.currentText()
        dialog.threshold.setValue(0.5)
        with qtbot.waitSignal(dialog.evaluated, timeout=30_000) as sig:
            dialog.run_button.click()
        wait_quiet(qtbot, window)
    assert watch.max_gap_ms < MAX_STALL_MS, f"GUI thread stalled {watch.max_gap_ms} ms"
    shown = sig.args[0]
    project = window.session.project
    ids = [r.id for r in evaluation_photos(project, "val")]
    assert dialog.thin.isChecked()  # the default categories have cracks and rebar
    core = evaluate_project(project, Predictor.from_checkpoint(checkpoint, device="cpu"), ids, threshold=0.5,
                            thin_tolerance=dialog.thin_tolerance.value())
    # Thin structures: one row per thin class, then all of them, as the core computed them.
    thin_rows = [*core.thin.per_class, core.thin.overall]
    assert dialog.thin_model.rowCount() == len(thin_rows) and thin_rows[0].name == "crack"
    for r, row in enumerate(thin_rows):
        got = [dialog.thin_model.value(r, c) for c in range(1, 7)]
        want = [row.precision, row.recall, row.f1, row.cliou, row.gt_length, row.pred_length]
        assert all((math.isnan(g) and math.isnan(w)) or g == w for g, w in zip(got, want)), row.name
    # PQ table: All, Things, Stuff, then every class, as the core computed them.
    rows = list(core.pq.groups) + list(core.pq.per_class)
    assert dialog.pq_model.rowCount() == len(rows)
    for r, row in enumerate(rows):
        assert dialog.pq_model.value(r, 0) == row.name
        for c, attr in ((1, "pq"), (2, "sq"), (3, "rq")):
            got, want = dialog.pq_model.value(r, c), getattr(row, attr)
            assert (math.isnan(got) and math.isnan(want)) or got == want, (row.name, attr)
            text = dialog.pq_model.index(r, c).data()
            assert text == "–" or text == f"{100 * want:.1f}"
        assert [dialog.pq_model.value(r, c) for c in (4, 5, 6)] == [row.tp, row.fp, row.fn]
    assert 0 < core.pq.all.pq < 1  # the photos were built to make this non-trivial
    # Box and mask AP.
    assert [dialog.coco_model.value(r, 1) for r in range(12)] == list(core.coco.bbox)
    assert [dialog.coco_model.value(r, 2) for r in range(12)] == list(core.coco.segm)
    # Photos, worst first; clicking the PQ header sorts the other way.
    view = dialog.photo_view
    order = [view.model().index(r, 0).data(ID_ROLE) for r in range(view.model().rowCount())]
    assert order == [p.image_id for p in core.worst()]
    pqs = [view.model().index(r, 1).data(VALUE_ROLE) for r in range(len(order))]
    assert pqs == [p.pq.pq for p in core.worst()] and pqs[0] < pqs[-1]
    header = view.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(1) + header.sectionSize(1) // 2, header.height() // 2))
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert [view.model().index(r, 0).data(ID_ROLE) for r in range(len(order))][0] == order[-1]
    assert shown.pq.all == core.pq.all
    # Double-clicking the worst photo opens it, with the prediction the evaluation stored.
    worst = core.worst()[0].image_id
    row = [view.model().index(r, 0).data(ID_ROLE) for r in range(len(order))].index(worst)
    with qtbot.waitSignal(ui.live.rethresholded, timeout=20_000):
        view.doubleClicked.emit(view.model().index(row, 0))
    assert window.photo.record.id == worst and window.controller.prediction is not None
    dialog.close()


def test_broken_and_diverged_models_are_messages_and_the_app_lives_on(qtbot, window, tmp_path, checkpoint):
    from core.model import save_checkpoint

    bad = tmp_path / "bad.pt"
    data = checkpoint.read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # a copy cut short
    model, categories = tiny_model()
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    nan_path = tmp_path / "nan.pt"
    save_checkpoint(nan_path, model, TINY, categories, {})
    path = make_model_project(tmp_path / "p", checkpoint, annotate=False)
    with Project.open(path) as project:
        bad_id = project.models.add("broken", checkpoint=bad, config={}, categories=categories)
        nan_id = project.models.add("diverged", checkpoint=nan_path, config={}, categories=categories)
    open_project(qtbot, window, path)
    ui = window.prediction
    reports = window.reporter.history
    model_class = type(Predictor.from_checkpoint(checkpoint, device="cpu").model)
    with LoopWatch() as watch:
        for model_id, words in ((bad_id, "bad.pt"), (nan_id, "NaN")):
            ui.models.set_active(model_id)
            before = len(reports)
            ui.controller.predict("all")
            qtbot.waitUntil(lambda before=before: len(reports) > before, timeout=20_000)
            wait_quiet(qtbot, window)
            assert words in reports[-1].text and not reports[-1].unexpected, reports[-1]
        assert not window.session.project.predictions.list()  # nothing stored
        # Out of memory in the network: said plainly, with a suggestion.

        def no_memory(*args, **kwargs):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

        ui.models.set_active(1)
        before = len(reports)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(model_class, "predict", no_memory)
            ui.controller.predict("all")
            qtbot.waitUntil(lambda: len(reports) > before, timeout=20_000)
            wait_quiet(qtbot, window)
        assert "out of memory" in reports[-1].text.lower() and "smaller" in reports[-1].hint
        assert not reports[-1].unexpected
        # The window still works: the good model predicts.
        with qtbot.waitSignal(ui.controller.finished, timeout=30_000):
            ui.controller.predict("current")
        wait_quiet(qtbot, window)
    assert watch.max_gap_ms < MAX_STALL_MS, f"GUI thread stalled {watch.max_gap_ms} ms"
    assert window.isVisible() and window.photo.record.id in window.session.predicted


def test_export_dialog_from_the_file_menu_with_split_options(qtbot, window, make_project, tmp_path, monkeypatch):
    import json

    from core.formats.export import split_ids
    from gui.dialogs.export_dialog import ExportDialog

    path = make_project(6, annotated=4)
    open_project(qtbot, window, path)
    assert window.actions.a["export"] in window.actions.file_menu.actions()
    shown = []
    monkeypatch.setattr(ExportDialog, "open", lambda self: shown.append(self))
    window.actions.a["export"].trigger()
    dialog = shown[0]
    assert "4 annotated photos" in dialog.count.text()
    dialog.dest.set_path(tmp_path / "seeded")
    dialog.val.setValue(0.5)
    dialog.seed.setValue(7)
    assert dialog.seed.isEnabled() and not dialog.include_stuff.isVisibleTo(dialog)
    with LoopWatch() as watch:
        press_dialog_button(dialog, "Export")
        assert window.status.progress.isVisibleTo(window.status)  # progress and cancel in the status bar
        qtbot.waitUntil(lambda: (tmp_path / "seeded" / "panoptic_val.json").exists(), timeout=20_000)
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=10_000)
    assert watch.max_gap_ms < MAX_STALL_MS
    annotated = window.session.project.annotations.image_ids()
    want = split_ids(annotated, 0.5, 7)
    got = {img["id"]: "val" for img in json.loads((tmp_path / "seeded" / "panoptic_val.json").read_text())["images"]}
    assert set(got) == {i for i, s in want.items() if s == "val"} and len(got) == 2
    # The photos' own splits: the share and seed no longer apply.
    window.session.project.images.set_split(annotated[:1], "val")
    dialog = ExportDialog(window.session, window)
    dialog.dest.set_path(tmp_path / "own")
    dialog.use_project_splits.setChecked(True)
    assert not dialog.val.isEnabled() and not dialog.seed.isEnabled()
    dialog.format.setCurrentIndex(dialog.format.findData("coco-instances"))
    assert dialog.include_stuff.isVisibleTo(dialog)
    press_dialog_button(dialog, "Export")
    qtbot.waitUntil(lambda: (tmp_path / "own").exists() and not window.runner.busy, timeout=20_000)
    names = sorted(p.name for p in (tmp_path / "own").glob("*.json"))
    assert names and any("val" in n for n in names), names
    val = json.loads(next((tmp_path / "own").glob("*val*.json")).read_text())
    assert [img["id"] for img in val["images"]] == annotated[:1]


def test_the_training_panels_active_model_is_followed(qtbot, window, tmp_path, checkpoint):
    training = window.training
    path = make_model_project(tmp_path / "p", checkpoint, annotate=False)
    with Project.open(path) as project:
        other = project.models.add("other", checkpoint=checkpoint, config={}, categories=project.categories.get())
    open_project(qtbot, window, path)
    ui = window.prediction  # the window links it to training's choice
    training.activeModelChanged.emit(1)
    assert ui.models.model_id == 1 and window.loader.model_id == 1 and "tiny detector" in ui.panel.model_label.text()
    training.activeModelChanged.emit(other)
    assert ui.models.model_id == other and "other" in ui.panel.model_label.text()
    training.activeModelChanged.emit(None)
    assert ui.models.model_id is None and not ui.panel.predict_button.isEnabled()


def test_read_only_projects_evaluate_without_writing_and_a_bad_model_stops_the_evaluation(
        qtbot, window, tmp_path, checkpoint, monkeypatch):
    path = make_model_project(tmp_path / "p", checkpoint)
    monkeypatch.setattr("gui.shell.main_window.QMessageBox.information", lambda *a, **k: None)
    with Project.open(path):  # another window holds it: this one gets it read-only
        open_project(qtbot, window, path)
        ui = window.prediction
        notices = []
        ui.controller.notice.connect(notices.append)
        assert ui.controller.predict("current") is None and "read-only" in notices[-1]
        dialog = ui.open_evaluation()
        with qtbot.waitSignal(dialog.evaluated, timeout=30_000) as sig:
            dialog.run_button.click()
        wait_quiet(qtbot, window)
        assert len(sig.args[0].photos) == 3 and not window.session.project.predictions.list()
        window.session.close()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(checkpoint.read_bytes()[:4000])
    with Project.open(path) as project:
        bad = project.models.add("cut short", checkpoint=cut, config={}, categories=project.categories.get())
    open_project(qtbot, window, path)
    dialog = ui.open_evaluation()
    dialog.model.setCurrentIndex(dialog.model.findData(bad))
    before = len(window.reporter.history)
    dialog.run_button.click()
    qtbot.waitUntil(lambda: len(window.reporter.history) > before, timeout=20_000)
    wait_quiet(qtbot, window)
    assert "stopped" in dialog.summary.text() and "cut.pt" in window.reporter.history[-1].text
    assert dialog.run_button.isEnabled() and not dialog.progress.isVisible()
    dialog.close()
