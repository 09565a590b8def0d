"""``LiveThreshold``: the confidence slider re-thresholds the open photo's prediction as it moves.

When a photo opens, its stored re-thresholdable prediction of the active model (the payload of
``core.inference.store``) is loaded on a worker, which also builds its score levels once (the
first ``panoptic`` call: ~0.1 s). Moving the slider then never runs the model: after a short
debounce, a worker computes ``prediction.panoptic(threshold)`` at full size (a lookup plus one
nearest-neighbour expansion: ~30 ms at 12 MP) and the segment areas (counted on the small map);
the GUI thread only swaps the overlay and the segment list. One re-threshold runs at a time; moves made meanwhile collapse into
one more run with the newest value. A moment after the slider rests, the result is stored in the
project (what the photo shows next time), off the GUI thread too.
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
        return self._busy or self._debounce.isActive()

    # --- the open photo's prediction --------------------------------------------------------------
    def _opened(self, project) -> None:
        value = project.get_setting(THRESHOLD_SETTING)
        if isinstance(value, (int, float)) and 0 < value < 1:
            self.slider.set_threshold(float(value))

    def _forget(self) -> None:
        self._token += 1
        self._store_timer.stop()
        self.prediction, self.image_id, self._shown = None, None, None
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

        def work(progress, cancel):
            from core.inference.result import expanded_areas

            small, _segments = pred.label_map(threshold)
            ann = pred.panoptic(threshold)  # the same levels: the model is not run
            return ann, expanded_areas(small, *pred.image_size), pred.candidate_count(threshold)

        def finished(result):
            if token != self._token:
                return
            ann, areas, candidates = result
            self.photo.set_prediction(ann, areas)
            self.slider.show_count(len(ann.segments), candidates)
            self._shown = (token, threshold, ann)
            self._store_timer.start()
            self.rethresholded.emit(threshold, len(ann.segments))

        def done():
            self._busy = False
            if self._pending:
                self._run()

        self.runner.start(work, "re-threshold the prediction", on_finished=finished, on_done=done, priority=2)

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
