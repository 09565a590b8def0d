"""The open photo's cracks are redrawn at full resolution after the model's result is shown: the
canvas, the measurements and the stored result follow the crack in the photo, not the ribbon."""
from __future__ import annotations

import cv2
import numpy as np

from core.categories import default_categories
from core.inference.store import store_prediction
from core.project import Project
from core.project.active_model import set_active_model
from tests.core.inference.test_thin_refine import CRACK, draw, polyline, ribbon_prediction, surface
from tests.support.gui import LoopWatch, open_project


def test_cracks_are_refined_shown_measured_and_stored(qtbot, window, tmp_path):
    shape = (480, 640)
    truth = polyline(shape, [(40, 100), (600, 380)])
    photo = tmp_path / "wall.png"
    cv2.imwrite(str(photo), cv2.cvtColor(draw(surface(shape, seed=7), truth), cv2.COLOR_RGB2BGR))
    pred = ribbon_prediction(truth, (96, 128))
    path = tmp_path / "p.pinspect"
    with Project.create(path, default_categories()) as project:
        project.images.add_files([photo])
        (rec,) = project.images.list()
        model_id = project.models.add("hand-made", checkpoint=None, config={}, categories=pred.categories)
        set_active_model(project, model_id)
        store_prediction(project, rec.id, model_id, pred, 0.5)  # the model's coarse result
    live = window.prediction.live
    with LoopWatch() as watch, qtbot.waitSignal(live.refined, timeout=20_000) as sig:
        open_project(qtbot, window, path)
    assert watch.max_gap_ms < 300, f"GUI thread stalled {watch.max_gap_ms} ms"
    assert sig.args[0] == 0.5
    shown = window.photo.controller.prediction
    crack = np.isin(shown.id_map, [s for s, seg in shown.segments.items() if seg.category_id == CRACK])
    coarse = pred.panoptic(0.5)
    ribbon = np.isin(coarse.id_map, [s for s, seg in coarse.segments.items() if seg.category_id == CRACK])
    assert ribbon.sum() > 5 * crack.sum() and (crack & truth).sum() / (crack | truth).sum() > 0.8
    # A later threshold of the same level comes straight from the cache, refined.
    with qtbot.waitSignal(live.rethresholded, timeout=10_000):
        window.prediction.slider.set_threshold(0.55, emit=True)
    assert (window.photo.controller.prediction.id_map == shown.id_map).all()
    # The refined result is what the project keeps for the photo.
    qtbot.waitUntil(lambda: not live.busy and not window.runner.busy, timeout=10_000)
    qtbot.wait(900)  # the store timer
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=10_000)
    stored = window.session.project.predictions.load_annotation(rec.id, model_id)
    assert (stored.id_map == shown.id_map).all()
