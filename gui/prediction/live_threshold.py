"""``LiveThreshold``: the confidence slider re-thresholds the open photo's prediction as it moves.

When a photo opens, its stored re-thresholdable prediction of the active model (the payload of
``core.inference.store``) is loaded on a worker, which also builds its score levels once (the
first ``panoptic`` call: ~0.1 s). Moving the slider then never runs the model. A threshold with
as many queries above it as the one shown gives the same result, so nothing is computed or
redrawn. Otherwise the result is shown at once on the GUI thread, because nothing in it is
large: the level's small label map is a lookup, the segment areas are counted on it, the
overlay samples it and is coloured again only where the result looks different
(``gui.canvas.overlay_diff``), and the 12 MP id map (~30 ms to write) is made afterwards by a
worker (``ExpandedAnnotation``). No debounce: it would only add its delay to every move. The
first result after a prediction is loaded runs on a worker (it may refine cracks first); moves
made meanwhile collapse into one more run with the newest value. A moment after the slider
rests, the result is stored in the project (what the photo shows next time), off the GUI thread
too.

Thin segments (cracks) come from the model as ribbons a grid cell wide; once a result is shown,
another worker redraws them at the photo's resolution (``core.inference.thin_refine``: the photo
is read once per open photo, each threshold level refined once and cached), once the slider has
rested for ``REFINE_REST_MS`` (a level takes ~0.5 s at 12 MP: refining every level a drag
passes would keep both cores from the moves that follow), one level at a time; the canvas, the
measurements and the stored result switch to the refined one (``refined`` signal). The first
result after opening a photo is refined before it replaces the stored one, so a photo whose
stored result is already refined never flashes the ribbons.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from gui.canvas.annotation_item import ExpandedFrom
from gui.session.photo_session import PhotoSession
from gui.prediction.confidence_slider import ConfidenceSlider
from gui.prediction.model_source import ModelSource
from gui.session.project_session import ProjectSession
from gui.workers.base import TaskRunner

if TYPE_CHECKING:  # torch: imported when a prediction is loaded, not with the window
    from core.inference.result import PanopticPrediction

log = logging.getLogger(__name__)

#: Rest of the slider before thin segments are redrawn at full resolution (ms).
REFINE_REST_MS = 250
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
        self.prediction: PanopticPrediction | None = None  # of the open photo
        self.image_id: int | None = None
        self.model_id: int | None = None
        self._token = 0            # bumps when the photo or model changes: late results are dropped
        self._busy = False
        self._pending = False
        self._shown: tuple | None = None  # (token, threshold, annotation) last put on the canvas
        self._shown_level: int | None = None  # queries above the shown threshold (same count, same result)
        self._shown_refined = False
        self._redrawn: dict[int, tuple] = {}  # refined level -> (box it redrew or None, its areas)
        self._refiner = None       # ThinRefiner of the open photo's prediction (built on first need)
        self._refining = False
        self._first = False        # the next run is the first since the prediction was loaded
        self._refine_timer = QTimer(self, singleShot=True, interval=REFINE_REST_MS)
        self._refine_timer.timeout.connect(self._refine_shown)
        self._store_timer = QTimer(self, singleShot=True, interval=STORE_MS)
        self._store_timer.timeout.connect(self._store)
        slider.thresholdChanged.connect(lambda _t: self._run())
        photo.photoChanged.connect(lambda _rec: self._forget())
        photo.documentReady.connect(lambda doc: self.load(doc.image_id))
        session.opened.connect(self._opened)
        models.changed.connect(lambda *_: self.reload())

    @property
    def busy(self) -> bool:
        return self._busy or self._refining or self._refine_timer.isActive()

    # --- the open photo's prediction --------------------------------------------------------------
    def _opened(self, project) -> None:
        value = project.get_setting(THRESHOLD_SETTING)
        if isinstance(value, (int, float)) and 0 < value < 1:
            self.slider.set_threshold(float(value))

    def _forget(self) -> None:
        self._token += 1
        self._store_timer.stop()
        self._refine_timer.stop()
        self.prediction, self.image_id, self._shown = None, None, None
        self._shown_level, self._shown_refined, self._redrawn = None, False, {}
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
        pred, token = self.prediction, self._token
        threshold = max(self.slider.threshold(), pred.min_threshold)
        level = pred.candidate_count(threshold)
        shown = self._shown
        if not self._first and shown is not None and shown[0] == token and level == self._shown_level:
            # The same queries are above it: the same result. Nothing to compute or redraw.
            self._shown = (token, threshold, shown[2])
            self.slider.show_count(len(shown[2].segments), level)
            self._store_timer.start()
            self.rethresholded.emit(threshold, len(shown[2].segments))
            return
        self._refine_timer.stop()
        if not self._first:
            self._show_level(token, threshold, level)
            return
        # The first result since the prediction was loaded: the stored one is on the canvas
        # already; it is replaced only by the result with its cracks refined (a worker).
        self._busy, self._pending, self._first = True, False, False
        refiner, record = self._refiner, self.photo.record

        def work(progress, cancel):
            from core.editing import compute_areas
            from core.inference.label_maps import expanded_areas

            small, _segments = pred.label_map(threshold)
            ann = pred.panoptic(threshold)  # the same levels: the model is not run
            if record is not None and _has_thin(ann, pred.categories):
                made = refiner or _make_refiner(pred, record)
                if made is not None:
                    fine = made.panoptic(threshold)
                    return fine, compute_areas(fine.id_map), made, ExpandedFrom(small, _redrawn_box(fine, ann)), True
            return ann, expanded_areas(small, *pred.image_size), refiner, ExpandedFrom(small), False

        def finished(result):
            if token != self._token:
                return
            ann, areas, used_refiner, source, is_refined = result
            self._refiner = used_refiner or self._refiner
            self._show(token, threshold, level, ann, areas, source, is_refined)

        def done():
            self._busy = False
            if self._pending:
                self._run()
            elif not self._shown_refined:
                self._refine_timer.start()

        self.runner.start(work, "re-threshold the prediction", on_finished=finished, on_done=done, priority=3)

    def _show_level(self, token: int, threshold: float, level: int) -> None:
        """Show the result at ``threshold`` now, on the GUI thread: the levels are computed, so it
        is a lookup, areas counted on the small map and the overlay recoloured where it changed
        (~10 ms at 12 MP); the full-size id map is made by a worker afterwards (``ExpandedAnnotation``).
        A level refined before comes from the refiner's cache."""
        from core.inference.label_maps import expanded_areas, present_segments

        from gui.prediction.lazy_annotation import ExpandedAnnotation

        pred = self.prediction
        if pred is None:
            return
        small, segments = pred.label_map(threshold)
        refined = self._redrawn.get(level)
        hit = self._refiner.cached(threshold) if refined is not None and self._refiner is not None else None
        if hit is not None:
            box, areas = refined
            self._show(token, threshold, level, hit, areas, ExpandedFrom(small, box), True)
            return
        size = pred.image_size
        ann = ExpandedAnnotation(small, present_segments(small, segments, size), size)
        self._show(token, threshold, level, ann, expanded_areas(small, *size), ExpandedFrom(small), False)
        # Made ahead for whoever reads the map next (accept, measure, store), never on this thread.
        self.runner.start(lambda progress, cancel: ann.id_map.shape, "expand the prediction", priority=0)

    def _show(self, token: int, threshold: float, level: int, ann, areas: dict, source: ExpandedFrom,
              is_refined: bool) -> None:
        pred = self.prediction
        if pred is None:
            return
        self.photo.set_prediction(ann, areas, source)
        self.slider.show_count(len(ann.segments), level)
        self._shown, self._shown_level = (token, threshold, ann), level
        self._shown_refined = is_refined or not _has_thin(ann, pred.categories)
        if is_refined:
            self._redrawn[level] = (source.redrawn, areas)
        self._store_timer.start()
        self.rethresholded.emit(threshold, len(ann.segments))
        if is_refined:
            self.refined.emit(threshold, len(ann.segments))
        elif not self._shown_refined and not self._busy:
            self._refine_timer.start()

    def _refine_shown(self) -> None:
        """The slider rests: redraw the shown result's thin segments at full resolution (one
        level at a time; a move meanwhile wins and is refined once it rests in turn)."""
        shown = self._shown
        if (self._busy or self._refining or self._shown_refined or shown is None or shown[0] != self._token
                or self.prediction is None):
            return
        if self._shown_level is not None:
            self._refine(shown[0], shown[1], self._shown_level)

    def _refine(self, token: int, threshold: float, level: int) -> None:
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
            small, _segments = pred.label_map(threshold)
            ann = made.panoptic(threshold)
            source = ExpandedFrom(small, _redrawn_box(ann, pred.panoptic(threshold)))
            return made, ann, compute_areas(ann.id_map), source

        def finished(result):
            if result is None or token != self._token:
                return
            self._refiner, ann, areas, source = result
            self._redrawn[level] = (source.redrawn, areas)
            shown = self._shown
            if shown is None or self._shown_level != level or self._busy:
                return  # the slider moved on: that newer result will be refined in turn
            self.photo.set_prediction(ann, areas, source)
            self._shown, self._shown_refined = (token, shown[1], ann), True
            self._store_timer.start()
            self.refined.emit(shown[1], len(ann.segments))

        def done():
            self._refining = False
            if not self._shown_refined and not self._busy:
                self._refine_timer.start()

        self.runner.start(work, "draw cracks at full resolution", on_finished=finished, on_done=done, priority=1)

    def _store(self) -> None:
        """Write the shown result and the slider's value into the project (a worker transaction)."""
        project, shown = self.session.project, self._shown
        if project is None or project.read_only or shown is None or shown[0] != self._token:
            return
        image_id, model_id = self.image_id, self.model_id
        if image_id is None or model_id is None:
            return
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


def _redrawn_box(fine, coarse) -> tuple[int, int, int, int] | None:
    """Box ``(y0, x0, y1, x1)`` around the pixels where ``fine`` (thin segments redrawn) differs
    from ``coarse`` (the plain expansion), None where they are equal (``ExpandedFrom.redrawn``)."""
    import numpy as np

    diff = fine.id_map != coarse.id_map
    rows, cols = np.flatnonzero(diff.any(1)), np.flatnonzero(diff.any(0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


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
