"""``EvaluationDialog``: how good is a model on the project's annotated photos?

Choose a model, the photos (the validation split, or every annotated photo) and the confidence
threshold; the evaluation runs on a worker (``core.evaluation.project_eval.evaluate_project``:
the model once per photo, each prediction stored so the photo shows it) with progress and cancel
in the dialog. Results: the PQ / SQ / RQ table (All, Things, Stuff, per class), COCO box and mask
AP of things, the photos sortable by PQ, and the thin classes' centreline measures (when asked
for); double-clicking a photo opens it in the window, so the worst ones can be looked at one after
another. The dialog is not modal: the window stays usable.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFormLayout, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QTableView,
                               QTabWidget, QVBoxLayout, QWidget)

from core.evaluation.thin import DEFAULT_TOLERANCE, thin_categories
from gui.prediction.evaluation_tables import (ID_ROLE, SORT_ROLE, CocoTableModel, PQTableModel, PhotoTableModel,
                                              ThinTableModel, percent)
from gui.prediction.model_source import ModelSource
from gui.session.project_session import ProjectSession
from gui.workers.base import Task, TaskRunner

log = logging.getLogger(__name__)


def _table(model, sortable: bool = False) -> QTableView:
    view = QTableView()
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(24)
    if sortable:
        proxy = QSortFilterProxyModel(view)
        proxy.setSourceModel(model)
        proxy.setSortRole(SORT_ROLE)
        view.setModel(proxy)
        view.setSortingEnabled(True)
    else:
        view.setModel(model)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return view


class EvaluationDialog(QDialog):
    photoRequested = Signal(int)  # image id: open this photo
    evaluated = Signal(object)    # ProjectEvaluation

    def __init__(self, session: ProjectSession, models: ModelSource, runner: TaskRunner, threshold: float,
                 report: Callable[[BaseException, str], object], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("evaluationDialog")
        self.session, self.models, self.runner, self.report = session, models, runner, report
        self.task: Task | None = None
        self.result = None
        self.setWindowTitle("Evaluate a model")
        self.setMinimumSize(640, 560)
        # choices
        self.model = QComboBox()
        self.photos = QComboBox()
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.3, 0.99)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(threshold)
        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Photos", self.photos)
        form.addRow("Confidence threshold", self.threshold)
        # Centreline measures of cracks and other thin classes: a pass of their own, on request.
        self.thin = QCheckBox("Score them by their centrelines, within")
        self.thin.setToolTip("Cracks, exposed rebar and categories marked thin: centreline precision, recall, "
                             "F1 and clIoU, where a centreline pixel counts when the other one passes within "
                             "the tolerance (pixels of the full-size photo)")
        self.thin_tolerance = QDoubleSpinBox()
        self.thin_tolerance.setRange(0.0, 50.0)
        self.thin_tolerance.setDecimals(1)
        self.thin_tolerance.setSuffix(" px")
        self.thin_tolerance.setValue(DEFAULT_TOLERANCE)
        self.thin.toggled.connect(self.thin_tolerance.setEnabled)
        thin_row = QHBoxLayout()
        thin_row.addWidget(self.thin)
        thin_row.addWidget(self.thin_tolerance)
        thin_row.addStretch(1)
        form.addRow("Cracks and thin parts", thin_row)
        self.run_button = QPushButton("Evaluate")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.hide()
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.cancel_button)
        run_row.addStretch(0)
        self.summary = QLabel("Measures the model against your annotations: panoptic quality (PQ = SQ × RQ) "
                              "and COCO box AP of the defects.")
        self.summary.setWordWrap(True)
        # results
        self.pq_model = PQTableModel(self)
        self.coco_model = CocoTableModel(self)
        self.photo_model = PhotoTableModel(self)
        self.pq_view = _table(self.pq_model)
        self.coco_view = _table(self.coco_model)
        self.photo_view = _table(self.photo_model, sortable=True)
        self.thin_model = ThinTableModel(self)
        self.thin_view = _table(self.thin_model)
        self.photo_view.doubleClicked.connect(self._open_photo)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.pq_view, "Panoptic quality")
        self.tabs.addTab(self.coco_view, "Box && mask AP")
        self.tabs.addTab(self.photo_view, "Photos")
        self.tabs.addTab(self.thin_view, "Thin structures")
        self.tabs.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(run_row)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        self.fill_choices()

    # --- choices ----------------------------------------------------------------------------------
    def fill_choices(self) -> None:
        """Models that have a checkpoint (the active one first chosen) and the photo sets with counts."""
        from core.evaluation.project_eval import evaluation_photos

        project = self.session.project
        self.model.clear()
        self.photos.clear()
        if project is None:
            self.run_button.setEnabled(False)
            return
        for rec in project.models.list():
            if rec.checkpoint is not None:
                label = rec.name + ("" if rec.checkpoint_exists else " (checkpoint missing)")
                self.model.addItem(label, rec.id)
        active = self.model.findData(self.models.model_id)
        if active >= 0:
            self.model.setCurrentIndex(active)
        n_val, n_all = len(evaluation_photos(project, "val")), len(evaluation_photos(project, "annotated"))
        self.photos.addItem(f"Validation photos ({n_val})", "val")
        self.photos.addItem(f"All annotated photos ({n_all}; training photos flatter the model)", "annotated")
        self.photos.setCurrentIndex(0 if n_val else 1)
        has_thin = bool(thin_categories(project.categories.get()))
        self.thin.setChecked(has_thin)
        self.thin.setEnabled(has_thin)
        self.thin_tolerance.setEnabled(has_thin)
        ok = self.model.count() > 0 and n_all > 0
        self.run_button.setEnabled(ok)
        if self.model.count() == 0:
            self.summary.setText("There is no trained model in this project yet: train one first.")
        elif n_all == 0:
            self.summary.setText("No photo is annotated yet: the model is measured against your annotations.")

    # --- running ----------------------------------------------------------------------------------
    def start(self) -> Task | None:
        from core.evaluation.project_eval import evaluation_photos

        project, model_id = self.session.project, self.model.currentData()
        if project is None or model_id is None or self.task is not None:
            return None
        ids = [r.id for r in evaluation_photos(project, self.photos.currentData())]
        if not ids:
            self.summary.setText("No photos in this set: choose “All annotated photos”, or give photos the "
                                 "validation split.")
            return None
        threshold = self.threshold.value()
        thin_tolerance = self.thin_tolerance.value() if self.thin.isChecked() else None
        models = self.models
        store = None if project.read_only else model_id

        def work(progress, cancel):
            from core.evaluation.project_eval import evaluate_project

            return models.run(project, model_id, lambda predictor: evaluate_project(
                project, predictor, ids, threshold=threshold, model_id=store, thin_tolerance=thin_tolerance,
                progress=progress, cancel=cancel),
                progress, cancel, total=len(ids))

        self.task = self.runner.start(work, "evaluate the model", on_finished=self._finished,
                                      on_progress=self._progress, on_failed=self._failed, on_done=self._done,
                                      report_errors=False)
        self._running(True)
        self.summary.setText(f"Evaluating on {len(ids)} photos…")
        return self.task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.summary.setText("Cancelling…")

    def _running(self, on: bool) -> None:
        self.run_button.setEnabled(not on)
        for w in (self.model, self.photos, self.threshold, self.thin, self.thin_tolerance):
            w.setEnabled(not on)
        self.progress.setVisible(on)
        self.cancel_button.setVisible(on)
        if on:
            self.progress.setRange(0, 0)

    def _progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total}")
        self.progress.setToolTip(message)

    def _done(self) -> None:
        if self.task is not None and self.task.cancel_event.is_set():
            self.summary.setText("Evaluation cancelled.")
        self.task = None
        self._running(False)

    def _failed(self, error: BaseException) -> None:
        self.summary.setText(f"The evaluation stopped: {getattr(error, 'reason', error)}")
        self.report(error, "evaluate the model")

    def _finished(self, ev) -> None:
        self.show_result(ev)
        self.evaluated.emit(ev)

    def show_result(self, ev) -> None:
        """Fill the tables from a ``ProjectEvaluation``."""
        self.result = ev
        self.pq_model.set_result(ev.pq)
        self.coco_model.set_result(ev.coco)
        self.photo_model.set_result(ev.photos)
        thin = getattr(ev, "thin", None)
        self.thin_model.set_result(thin)
        self.tabs.setTabVisible(self.tabs.indexOf(self.thin_view), thin is not None)
        self.photo_view.sortByColumn(1, Qt.SortOrder.AscendingOrder)  # worst photos first
        self.tabs.setEnabled(True)
        a = ev.pq.all
        box_ap = ev.coco.stats("bbox")["AP"] if ev.coco is not None else -1
        text = (f"<b>PQ {percent(a.pq)}</b> (SQ {percent(a.sq)}, RQ {percent(a.rq)}) on {len(ev.photos)} photos "
                f"at confidence {ev.threshold:.2f}; box AP {'–' if box_ap < 0 else f'{box_ap:.3f}'}.")
        if thin is not None and thin.per_class:
            o = thin.overall
            text += (f" Thin structures: centreline <b>F1 {percent(o.f1)}</b> (precision {percent(o.precision)}, "
                     f"recall {percent(o.recall)}) within {thin.tolerance:g} px.")
        if ev.skipped:
            text += f" {len(ev.skipped)} skipped: " + "; ".join(f"{n}: {why}" for _i, n, why in ev.skipped[:3])
        self.summary.setText(text)

    def _open_photo(self, index) -> None:
        image_id = index.data(ID_ROLE)
        if image_id is not None:
            self.photoRequested.emit(int(image_id))

    def closeEvent(self, event) -> None:
        self.cancel()  # a closed dialog's work is not wanted any more
        super().closeEvent(event)
