"""``PredictController``: run the active model on photos in the background and store the results.

Which photos: the open one, the ones selected in the photo list, every unlabeled one, or all
(``SCOPES``). The work is ``core.inference.store.predict_images`` on a worker (the same function
the command line's project path uses): the model is loaded once (``ModelSource``), photos are
decoded while the network runs, each prediction is stored in the project as it is made, so a
cancel keeps what was done. Unreadable photos are listed at the end and the rest goes on; a bad
checkpoint, NaN weights, other categories or running out of memory stop the run with a message
and the application carries on.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from gui.session.photo_session import PhotoSession
from gui.prediction.confidence_slider import ConfidenceSlider
from gui.prediction.model_source import ModelSource
from gui.session.project_session import ProjectSession
from gui.workers.base import Task, TaskRunner

log = logging.getLogger(__name__)

#: Which photos to predict: key -> label.
SCOPES = {"current": "This photo", "selected": "Selected photos", "unlabeled": "Unlabeled photos",
          "all": "All photos"}


class PredictController(QObject):
    started = Signal(object)     # Task
    finished = Signal(object)    # core.inference.store.ProjectPredictionReport
    notice = Signal(str)         # a short status-bar message
    busyChanged = Signal(bool)

    def __init__(self, session: ProjectSession, photo: PhotoSession, models: ModelSource, slider: ConfidenceSlider,
                 runner: TaskRunner, selected_ids, parent_widget: QWidget | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.photo, self.models, self.slider = session, photo, models, slider
        self.runner = runner
        self.selected_ids = selected_ids  # () -> ids selected in the photo list
        self.parent_widget = parent_widget
        self.task: Task | None = None

    @property
    def busy(self) -> bool:
        return self.task is not None

    def image_ids(self, scope: str) -> list[int]:
        """The photos ``scope`` means right now."""
        if scope == "current":
            return [] if self.photo.record is None else [self.photo.record.id]
        if scope == "selected":
            return list(self.selected_ids())
        if scope == "unlabeled":
            return [r.id for r in self.session.images if r.status == "unlabeled"]
        if scope == "all":
            return [r.id for r in self.session.images]
        raise ValueError(f"unknown scope {scope!r}; one of {sorted(SCOPES)}")

    def predict(self, scope: str = "current") -> Task | None:
        """Predict the photos of ``scope`` with the active model at the slider's threshold."""
        project, model_id = self.session.project, self.models.model_id
        if project is None:
            self.notice.emit("Open a project first.")
            return None
        if self.task is not None:
            self.notice.emit("A prediction is already running.")
            return None
        if project.read_only:
            self.notice.emit("The project is open read-only: predictions cannot be stored.")
            return None
        if model_id is None:
            self.notice.emit("There is no trained model in this project yet: train one first.")
            return None
        ids = self.image_ids(scope)
        if not ids:
            self.notice.emit(f"No photos to predict ({SCOPES[scope].lower()}).")
            return None
        threshold = self.slider.threshold()
        models = self.models

        def work(progress, cancel):
            from core.inference.store import predict_images

            return models.run(project, model_id, lambda predictor: predict_images(
                project, predictor, ids, model_id=model_id, threshold=threshold, progress=progress, cancel=cancel),
                progress, cancel, total=len(ids))

        self.task = self.runner.start(work, "predict the photos", on_finished=self._finished, on_done=self._done)
        self.busyChanged.emit(True)
        self.started.emit(self.task)
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _done(self) -> None:
        self.task = None
        self.busyChanged.emit(False)

    def _finished(self, report) -> None:
        if self.session.project is None:
            return
        for image_id in report.predicted:
            self.session.predicted.add(image_id)
            self.session.imageChanged.emit(image_id)
        n = len(report.predicted)
        text = f"Predicted {n} photo{'s' if n != 1 else ''}"
        if report.cancelled:
            text += " (cancelled)"
        self.notice.emit(text)
        if report.failed:
            lines = [f"{path}: {reason}" for _id, path, reason in report.failed]
            box = QMessageBox(QMessageBox.Icon.Warning, "Some photos were not predicted",
                              f"{len(report.failed)} photo{'s were' if len(report.failed) != 1 else ' was'} skipped; "
                              f"the other {n} were predicted.", QMessageBox.StandardButton.Ok, self.parent_widget)
            box.setDetailedText("\n".join(lines))
            box.open()
        self.finished.emit(report)
