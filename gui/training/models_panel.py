"""``ModelsPanel``: the project's models — date, preset, epochs, PQ, status — with Set active,
Resume, Delete and Open folder. Built from the ``ProjectSession`` and the ``TrainingController``;
every change goes through the project store (``project.models``; the active model through
``core.inference.project_model``, which prediction reads), so every part sees the same model.
"""
from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QMessageBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from core.training import project_models as pm
from gui.shell.icons import icon, icon_button
from gui.session.project_session import ProjectSession
from gui.training.controller import TrainingController
from gui.workers.base import TaskRunner

log = logging.getLogger(__name__)

COLUMNS = ("", "Model", "Date", "Preset", "Epochs", "Best PQ", "Status")


def _date(iso: str) -> str:
    return iso.replace("T", " ")[:16] if iso else ""


class ModelsPanel(QWidget):
    """Signals: ``activeChanged(model_id or None)``, ``resumeRequested(model_id)``,
    ``errorOccurred(exception, what)``."""

    activeChanged = Signal(object)
    resumeRequested = Signal(int)
    errorOccurred = Signal(object, str)

    def __init__(self, session: ProjectSession, controller: TrainingController, runner: TaskRunner,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("modelsPanel")
        self.session, self.controller, self.runner = session, controller, runner
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setMinimumHeight(40)  # the bottom panels must not force a tall window
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.empty = QLabel("No models yet: Model › Train a model… trains one on the annotated photos.")
        self.empty.setWordWrap(True)
        self.active_button = icon_button("Set active", "mdi6.star-outline", "Prediction uses the active model")
        self.resume_button = icon_button("Resume", "mdi6.play-circle-outline")
        self.delete_button = icon_button("Delete…", "mdi6.delete-outline")
        self.folder_button = icon_button("Open folder", "mdi6.folder-open-outline")
        buttons = QHBoxLayout()
        for b in (self.active_button, self.resume_button, self.delete_button, self.folder_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addWidget(self.empty)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        #: ``(model, info) -> (delete?, delete files?)``; replaced by tests.
        self.confirm_delete = self._ask_delete
        self.rows: list = []  # (ModelRecord, RunInfo) per table row
        self.active_id: int | None = None
        self.active_button.clicked.connect(self.set_active_selected)
        self.resume_button.clicked.connect(self._resume_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.folder_button.clicked.connect(self.open_folder)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.set_active_selected())
        controller.modelsChanged.connect(self.refresh)
        controller.stateChanged.connect(lambda _s: self._update_buttons())
        session.opened.connect(lambda _p: self.refresh())
        session.closed.connect(self.refresh)
        self.refresh()

    # --- contents ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        project = self.session.project
        keep = self.selected()[0].id if self.selected() else None
        self.rows = []
        old_active = self.active_id
        self.active_id = None
        if project is not None:
            try:
                # Imported here: the core.inference package loads torch (paid once, when a
                # project opens; prediction reads the active model then as well).
                from core.project.active_model import active_model_id

                self.active_id = active_model_id(project)
                self.rows = [(m, pm.run_info(project, m)) for m in reversed(project.models.list())]
            except Exception as e:  # noqa: BLE001 - a closed or damaged project shows an empty list
                log.warning("cannot list the project's models: %s", e)
        self.table.setRowCount(len(self.rows))
        bold = QFont(self.font())
        bold.setBold(True)
        for r, (m, info) in enumerate(self.rows):
            active = m.id == self.active_id
            epochs = f"{info.epochs_done}/{info.epochs}" if info.epochs else (str(info.epochs_done) or "")
            pq = f"{100 * info.pq:.1f}" if math.isfinite(info.pq) else "–"
            status = info.status_words + (" · can resume" if info.resumable else "")
            if self.controller.busy and m.id == self.controller.model_id:
                status = "training now"
            preset = info.preset or m.config.get("model_preset", "")
            cells = ["", m.name, _date(info.started_at or m.created_at), preset, epochs, pq, status]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0 and active:
                    item.setIcon(icon("mdi6.star", "#f59e0b"))
                    item.setToolTip("The active model: prediction uses it")
                if c in (4, 5):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if active:
                    item.setFont(bold)
                if c == 6 and info.error:
                    item.setToolTip(info.error)
                if c == 1:
                    item.setToolTip(str(info.output_dir or m.checkpoint or ""))
                self.table.setItem(r, c, item)
            if m.id == keep:
                self.table.selectRow(r)
        self.empty.setVisible(project is not None and not self.rows)
        self._update_buttons()
        if self.active_id != old_active:
            self.activeChanged.emit(self.active_id)

    def selected(self):
        """``(ModelRecord, RunInfo)`` of the selected row, or None."""
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.rows):
            return None
        return self.rows[rows[0].row()]

    def select_model(self, model_id: int) -> bool:
        for r, (m, _info) in enumerate(self.rows):
            if m.id == model_id:
                self.table.selectRow(r)
                return True
        return False

    def _update_buttons(self) -> None:
        sel = self.selected()
        writable = self.session.project is not None and not self.session.read_only
        running = sel is not None and self.controller.busy and sel[0].id == self.controller.model_id
        self.active_button.setEnabled(writable and sel is not None and sel[0].checkpoint_exists
                                      and sel[0].id != self.active_id)
        self.resume_button.setEnabled(writable and sel is not None and not self.controller.busy and sel[1].resumable)
        self.delete_button.setEnabled(writable and sel is not None and not running)
        self.folder_button.setEnabled(sel is not None and sel[1].output_dir is not None and sel[1].output_dir.is_dir())

    # --- actions ----------------------------------------------------------------------------------
    def set_active(self, model_id: int | None) -> None:
        """Through the project store; ``activeChanged`` follows from the refresh."""
        from core.project.active_model import set_active_model

        try:
            set_active_model(self.session.current_project(), model_id)
        except Exception as e:  # noqa: BLE001 - whatever failed is reported in the window, not lost
            self.errorOccurred.emit(e, "set the active model")
            return
        self.refresh()

    def _resume_selected(self) -> None:
        sel = self.selected()
        if sel:
            self.resumeRequested.emit(sel[0].id)

    def set_active_selected(self) -> None:
        sel = self.selected()
        if sel is not None and self.active_button.isEnabled():
            self.set_active(sel[0].id)

    def delete_selected(self) -> None:
        sel = self.selected()
        if sel is None or not self.delete_button.isEnabled():
            return
        model, info = sel
        ok, with_files = self.confirm_delete(model, info)
        if not ok:
            return
        try:
            self.session.current_project().models.delete(model.id)
        except Exception as e:  # noqa: BLE001 - whatever failed is reported in the window, not lost
            self.errorOccurred.emit(e, "delete the model")
            return
        folder = info.output_dir
        if with_files and folder is not None and _is_run_folder(folder):
            self.runner.start(lambda _p, _c: shutil.rmtree(folder), f"delete the folder {folder}")
        self.session.refresh_images()  # its predictions went with it
        self.refresh()

    def _ask_delete(self, model, info) -> tuple[bool, bool]:
        box = QMessageBox(QMessageBox.Icon.Question, "Delete model",
                          f"Delete the model “{model.name}” from the project?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText("Its metrics and its predictions in this project are removed too.")
        files = None
        if info.output_dir is not None and _is_run_folder(info.output_dir):
            files = QCheckBox(f"Also delete its folder from the disk ({info.output_dir})")
            box.setCheckBox(files)
        ok = box.exec() == QMessageBox.StandardButton.Yes
        return ok, bool(files is not None and files.isChecked())

    def open_folder(self) -> None:
        sel = self.selected()
        if sel is not None and sel[1].output_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(sel[1].output_dir)))


def _is_run_folder(folder: Path) -> bool:
    """Only a training run's own folder is ever deleted (it holds the run's files)."""
    return folder.is_dir() and ((folder / pm.RUN_FILE).is_file() or (folder / "metrics.jsonl").is_file())
