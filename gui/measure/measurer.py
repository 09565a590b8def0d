"""``PhotoMeasurer``: the figures of every segment of the photo on the canvas, kept up to date.

It measures the annotation being edited (or, when asked, the prediction shown) with
``core.measure.measure_annotation`` on a ``TaskRunner`` worker, never on the GUI thread:

* a change of the annotation (an edit, an undo) restarts a short timer; only when edits pause
  is a copy taken and measured (a stroke is one change, so painting never waits on it);
* a newer request cancels the measurement in flight (``measure_annotation`` checks its cancel
  flag between segments), so results never arrive out of order;
* figures are always computed in pixels; the photo's scale is applied when they are shown
  (``Measurement.with_calibration``), so calibrating needs no re-measuring;
* crack widths are read from the photo's pixels once the full photo is shown (before that, and
  for a photo that failed to load, they are counted from the masks and say so); ``photo_loaded``
  measures again when the pixels arrive.

``measured(PhotoFigures)`` announces new figures; ``busyChanged(bool)`` says when a measurement
is pending or running (the panel shows "measuring…").
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from core.categories import CategorySet
from core.measure import Measurement, measure_annotation
from core.panoptic import PanopticAnnotation
from gui.editing.document import AnnotationDocument
from gui.editing.editing_controller import EditingController
from gui.session.project_session import ProjectSession
from gui.workers.base import Task, TaskRunner

log = logging.getLogger(__name__)

SOURCE_ANNOTATION, SOURCE_PREDICTION = "annotation", "prediction"

#: Quiet time after the last edit before measuring again (ms): a few strokes in a row cost one run.
DEBOUNCE_MS = 350


@dataclass(frozen=True)
class PhotoFigures:
    """Pixel figures of one photo at one moment.

    Attributes:
        image_id: the photo. source: ``"annotation"`` or ``"prediction"``.
        revision: the document's revision that was measured (annotation only; -1 for predictions).
        measurements: per segment, numbered as ``core.measure.number_defects`` does, in pixels.
        width, height: the photo's size in px.
    """

    image_id: int
    source: str
    revision: int
    measurements: tuple[Measurement, ...]
    width: int
    height: int

    def by_segment(self) -> dict[int, Measurement]:
        return {m.segment_id: m for m in self.measurements}


def _gray(bgra):
    """``[H, W]`` uint8 grey of the canvas's ``[H, W, 4]`` BGRA pixels (for the crack widths)."""
    import cv2

    return cv2.cvtColor(bgra, cv2.COLOR_BGRA2GRAY)


class PhotoMeasurer(QObject):
    measured = Signal(object)      # PhotoFigures, or None when there is nothing to measure
    failed = Signal(str)           # why the figures could not be made (shown in the panel, logged)
    busyChanged = Signal(bool)

    def __init__(self, controller: EditingController, session: ProjectSession, runner: TaskRunner,
                 parent: QObject | None = None, debounce_ms: int = DEBOUNCE_MS):
        super().__init__(parent)
        self.controller = controller
        self.session = session
        self.runner = runner
        self.source = SOURCE_ANNOTATION
        self.enabled = True
        self.figures: PhotoFigures | None = None
        self._doc: AnnotationDocument | None = None
        self._task: Task | None = None
        self._busy = False
        self._run = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self.debounce_ms = debounce_ms  # QTimer.start(ms) changes the interval: keep ours apart
        self._timer.timeout.connect(self._start)
        controller.documentChanged.connect(self._set_document)
        controller.offerChanged.connect(self.prediction_changed)  # a crack traced over a predicted one replaces it
        session.categoriesChanged.connect(lambda _c: self.request())

    # --- what to measure -----------------------------------------------------------------------
    def _set_document(self, doc: AnnotationDocument | None) -> None:
        if self._doc is not None:
            try:
                self._doc.contentChanged.disconnect(self.request)
            except (RuntimeError, TypeError):
                pass
        self._doc = doc
        if doc is not None:
            doc.contentChanged.connect(self.request)
        self.figures = None
        self.request(immediately=True)

    def set_source(self, source: str) -> None:
        """Measure the annotation (default) or the prediction shown on the canvas."""
        if source not in (SOURCE_ANNOTATION, SOURCE_PREDICTION):
            raise ValueError(f"unknown source {source!r}")
        if source != self.source:
            self.source = source
            self.figures = None
            self.request(immediately=True)

    def photo_loaded(self, *_args) -> None:
        """The full-resolution photo is shown: its pixels give the crack widths now."""
        self.request(immediately=True)

    def prediction_changed(self, *_args) -> None:
        """The prediction on the canvas changed (another threshold, another model run)."""
        if self.source == SOURCE_PREDICTION:
            self.request(immediately=True)

    def set_enabled(self, on: bool) -> None:
        """Measure only while someone looks (the panel is shown or tooltips are on): when off,
        changes are not measured; when on again, the photo is measured at once."""
        on = bool(on)
        if on == self.enabled:
            return
        self.enabled = on
        if on:
            self.request(immediately=True)
        else:
            self._run += 1
            self._timer.stop()
            self._cancel_running()
            self.figures = None  # would go stale unseen
            self._set_busy(False)

    def request(self, immediately: bool = False) -> None:
        """Measure again once edits pause (at once with ``immediately``)."""
        self._run += 1  # results of runs started before this request are dropped
        self._cancel_running()
        if not self.enabled:
            self.figures = None
            return
        self._set_busy(True)
        self._timer.start(0 if immediately else self.debounce_ms)

    @property
    def busy(self) -> bool:
        return self._busy

    # --- running ---------------------------------------------------------------------------------
    def _target(self) -> tuple[int, int, PanopticAnnotation] | None:
        doc = self._doc
        if doc is None:
            return None
        if self.source == SOURCE_PREDICTION:
            pred = self.controller.prediction
            return None if pred is None else (doc.image_id, -1, pred)  # predictions are never edited in place
        revision, annotation = doc.snapshot()
        return doc.image_id, revision, annotation

    def _start(self) -> None:
        doc = self._doc
        if doc is not None and (doc.busy or doc.live):
            # A worker or a stroke is changing the map: its end announces a change, which calls again.
            self._timer.start(self.debounce_ms)
            return
        target = self._target()
        if target is None:
            self._publish(None)
            return
        image_id, revision, annotation = target
        categories: CategorySet = self.session.categories
        source = self.source
        # The predicted segments a traced crack replaced are not offered, drawn or listed: not measured either.
        replaced = self.controller.traced_over if source == SOURCE_PREDICTION else frozenset()
        bgra = self.controller.photo_rgb()  # None while the full photo loads: widths from the masks then
        if bgra is not None and bgra.shape[:2] != annotation.shape:
            bgra = None

        def work(progress, cancel):
            gray = None if bgra is None else _gray(bgra)
            shown = annotation if not replaced else PanopticAnnotation(
                annotation.id_map, {k: v for k, v in annotation.segments.items() if k not in replaced})
            ms = measure_annotation(shown, categories, None, progress=progress, cancel=cancel, image=gray)
            h, w = annotation.shape
            return PhotoFigures(image_id, source, revision, tuple(ms), w, h)

        run = self._run
        # Outcomes are matched to this run by its number (a later request bumps it): results of
        # an older run never overwrite newer ones, and its end never clears the busy state early.
        self._task = self.runner.start(work, "measure the segments",
                                       on_finished=lambda figures: self._ended(run, self._finished, figures),
                                       on_failed=lambda e: self._ended(run, self._failed, e),
                                       report_errors=False)

    def _finished(self, figures: PhotoFigures) -> None:
        doc = self._doc
        if doc is None or figures.image_id != doc.image_id or figures.source != self.source:
            return  # the photo or the source changed meanwhile: a newer run follows
        self._publish(figures)

    def _failed(self, error: BaseException) -> None:
        # Shown in the panel rather than as a dialog: it would come back after every edit.
        log.warning("measuring failed: %s", error)
        message = error.message() if hasattr(error, "message") else str(error)
        self.figures = None
        self.measured.emit(None)
        self.failed.emit(f"Could not measure: {message}")

    def _ended(self, run: int, handle, value) -> None:
        if run != self._run:
            return
        self._task = None
        handle(value)
        self._set_busy(self._timer.isActive())

    def _publish(self, figures: PhotoFigures | None) -> None:
        self.figures = figures
        self._set_busy(self._timer.isActive() or self._task is not None)
        self.measured.emit(figures)

    def _cancel_running(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    def stop(self) -> None:
        """Stop measuring (the window closes)."""
        self._timer.stop()
        self._cancel_running()
