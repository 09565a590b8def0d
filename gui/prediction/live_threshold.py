"""``LiveThreshold``: the confidence slider re-thresholds the open photo's prediction as it moves.

When a photo opens, its stored re-thresholdable prediction of the active model (the payload of
``core.inference.store``) is loaded on a worker, which also builds its score levels once (the
first ``panoptic`` call: ~0.1 s). Moving the slider then never runs the model: after a short
debounce, a worker computes ``prediction.panoptic(threshold)`` at full size (a lookup plus one
nearest-neighbour expansion: ~30 ms at 12 MP) and the segment areas (counted on the small map);
the GUI thread only swaps the overlay and the segment list. One re-threshold runs at a time; moves made meanwhile collapse into
one more run with the newest value. A moment after the slider rests, the result is stored in the
project (what the photo shows next time), off the GUI thread too.

Thin segments (cracks) come from the model as ribbons a grid cell wide; once a result is shown,
another worker redraws them at the photo's resolution (``core.inference.thin_refine``: the photo
is read once per open photo, each threshold level refined once and cached) and the canvas, the
measurements and the stored result switch to the refined one (``refined`` signal). The first
result after opening a photo is refined before it replaces the stored one, so a photo whose
stored result is already refined never flashes the ribbons.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from gui.photo_session import PhotoSession
from gui.prediction.confidence_slider import ConfidenceSlider
from gui.prediction.model_source import ModelSource
from gui.project_session import ProjectSession
from gui.workers.base import TaskRunner

log = logging.getLogger(__name__)

#: Settle time before re-thresholding (ms): a drag sends many values; only the last matters.
DEBOUNCE_MS = 30
#: Settle time before the result is written to the project (ms).
STORE_MS = 700
THRESHOLD_SETTING = "prediction.threshold"


class LiveThreshold(QObject):
    rethresholded = Signal(float, int)  # threshold, segments shown
    refined = Signal(float, int)        # threshold, segments shown: thin segments at full resolution
    predictionLoaded = Signal(object)   # PanopticPrediction or None (the open photo has none)

    def __init__(self, session: ProjectSession, photo: PhotoSession, models: ModelSource, slider: ConfidenceSlider,
                 runner: TaskRunner, parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.photo, self.models, self.slider = session, photo, models, slider
        self.runner = runner
        self.prediction = None     # PanopticPrediction of the open photo, or None
        self.image_id: int | None = None
        self.model_id: int | None = None
        self._token = 0            # bumps when the photo or model changes: late results are dropped
        self._busy = False
        self._pending = False
        self._shown: tuple | None = None  # (token, threshold, annotation) last put on the canvas
        self._refiner = None       # ThinRefiner of the open photo's prediction (built on first need)
        self._refining = False
        self._first = False        # the next run is the first since the prediction was loaded
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self._run)
        self._store_timer = QTimer(self, singleShot=True, interval=STORE_MS)
        self._store_timer.timeout.connect(self._store)
        slider.thresholdChanged.connect(lambda _t: self._debounce.start())
        photo.photoChanged.connect(lambda _rec: self._forget())
        photo.documentReady.connect(lambda doc: self.load(doc.image_id))
        session.opened.connect(self._opened)
        models.changed.connect(lambda *_: self.reload())

    @property
    def busy(self) -> bool:
        return self._busy or self._refining or self._debounce.isActive()

    # --- the open photo's prediction --------------------------------------------------------------
    def _opened(self, project) -> None:
        value = project.get_setting(THRESHOLD_SETTING)
        if isinstance(value, (int, float)) and 0 < value < 1:
            self.slider.set_threshold(float(value))

    def _forget(self) -> None:
        self._token += 1
        self._store_timer.stop()
        self.prediction, self.image_id, self._shown = None, None, None
        self._refiner = None
        self.slider.show_count(None)
        self.slider.set_levels([])

    def reload(self) -> None:
        """Load the open photo's prediction again (after predicting it, or another active model)."""
        rec = self.photo.record
        if rec is not None and self.photo.document is not None:
            self.load(rec.id)

    def load(self, image_id: int) -> None:
        """Load the stored prediction of ``image_id`` by the active model, then show it at the
        slider's threshold."""
        self._forget()
        project, model_id = self.session.project, self.models.model_id
        self.model_id = model_id
        if project is None or model_id is None:
            self.predictionLoaded.emit(None)
            return
        token = self._token
        threshold = self.slider.threshold()

        def work(progress, cancel):
            from core.inference.store import load_prediction

            pred = load_prediction(project, image_id, model_id)
            if pred is not None:
                pred.label_map(max(threshold, pred.min_threshold))  # builds the levels here, not on drag
            return pred

        def finished(pred):
            if token != self._token:
                return
            self.prediction, self.image_id = pred, image_id
            self.predictionLoaded.emit(pred)
            self.slider.set_levels(pred.score_levels() if pred is not None else [])
            if pred is None:
                self.slider.show_count(None)
                if self.photo.controller.prediction is not None:
                    self.photo.set_prediction(None)  # another model's result: the canvas shows the active one's
                return
            self.slider.set_minimum(pred.min_threshold)
            self._first = True
            self._run()

        self.runner.start(work, "load the prediction", on_finished=finished, priority=1)

    # --- re-thresholding --------------------------------------------------------------------------
    def _run(self) -> None:
        if self.prediction is None:
            return
        if self._busy:
            self._pending = True
            return
        self._busy, self._pending = True, False
        pred, token = self.prediction, self._token
        threshold = max(self.slider.threshold(), pred.min_threshold)
        first, self._first = self._first, False
        refiner, record = self._refiner, self.photo.record

        def work(progress, cancel):
            from core.editing import compute_areas
            from core.inference.result import expanded_areas

            candidates = pred.candidate_count(threshold)
            hit = refiner.cached(threshold) if refiner is not None else None
            if hit is not None:  # this level was refined already
                return hit, compute_areas(hit.id_map), candidates, refiner, True
            small, _segments = pred.label_map(threshold)
            ann = pred.panoptic(threshold)  # the same levels: the model is not run
            if first and record is not None and _has_thin(ann, pred.categories):
                # The stored result is on the canvas already: replace it by the refined one only.
                made = refiner or _make_refiner(pred, record)
                if made is not None:
                    ann = made.panoptic(threshold)
                    return ann, compute_areas(ann.id_map), candidates, made, True
            return ann, expanded_areas(small, *pred.image_size), candidates, refiner, False

        def finished(result):
            if token != self._token:
                return
            ann, areas, candidates, used_refiner, is_refined = result
            self._refiner = used_refiner or self._refiner
            self.photo.set_prediction(ann, areas)
            self.slider.show_count(len(ann.segments), candidates)
            self._shown = (token, threshold, ann)
            self._store_timer.start()
            self.rethresholded.emit(threshold, len(ann.segments))
            if is_refined:
                self.refined.emit(threshold, len(ann.segments))
            elif _has_thin(ann, pred.categories):
                self._refine(token, threshold)

        def done():
            self._busy = False
            if self._pending:
                self._run()

        self.runner.start(work, "re-threshold the prediction", on_finished=finished, on_done=done, priority=2)

    def _refine(self, token: int, threshold: float) -> None:
        """Redraw the shown result's thin segments at full resolution, then show and store it."""
        pred, record, refiner = self.prediction, self.photo.record, self._refiner
        if pred is None or record is None:
            return
        self._refining = True

        def work(progress, cancel):
            from core.editing import compute_areas

            made = refiner or _make_refiner(pred, record)
            if made is None:
                return None
            ann = made.panoptic(threshold)
            return made, ann, compute_areas(ann.id_map)

        def finished(result):
            if result is None or token != self._token:
                return
            self._refiner, ann, areas = result
            shown = self._shown
            if shown is None or shown[1] != threshold or self._busy or self._debounce.isActive():
                return  # the slider moved on: that newer result will be refined in turn
            self.photo.set_prediction(ann, areas)
            self._shown = (token, threshold, ann)
            self._store_timer.start()
            self.refined.emit(threshold, len(ann.segments))

        def done():
            self._refining = False

        self.runner.start(work, "draw cracks at full resolution", on_finished=finished, on_done=done, priority=3)

    def _store(self) -> None:
        """Write the shown result and the slider's value into the project (a worker transaction)."""
        project, shown = self.session.project, self._shown
        if project is None or project.read_only or shown is None or shown[0] != self._token:
            return
        image_id, model_id = self.image_id, self.model_id
        _, threshold, ann = shown

        def work(progress, cancel):
            project.predictions.set_result(image_id, model_id, ann, {"threshold": float(threshold)})
            project.set_setting(THRESHOLD_SETTING, float(threshold))

        self.runner.start(work, "store the prediction at the new threshold")


def _has_thin(ann, categories) -> bool:
    """Whether ``ann`` holds a segment of a thin category (worth refining)."""
    from core.measure.roles import is_thin

    thin = {c.id for c in categories if is_thin(c)}
    return any(seg.category_id in thin for seg in ann.segments.values())


def _make_refiner(pred, record):
    """A ``ThinRefiner`` for ``pred`` with the photo read at full size, or None when the photo
    cannot be read now or no longer has the prediction's size (the coarse result then stays)."""
    from core.errors import InspectorError
    from core.imageio import load_image
    from core.inference.thin_refine import ThinRefiner

    try:
        rgb = load_image(record.path)
        return ThinRefiner(pred, rgb)
    except (InspectorError, OSError, ValueError) as e:
        log.info("thin segments stay at the model's resolution: %s", e)
        return None
