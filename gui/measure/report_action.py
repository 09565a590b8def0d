"""``ReportAction``: Measure › Write inspection report… — the project's HTML report and CSV.

The same report as ``python main.py report PROJECT --out DIR`` (``core.report``): every photo with
an annotation (or else a stored prediction), its defects outlined and numbered, a table of
measurements, totals per category, project and model. The open photo's pending edits are saved
first, so the report shows what is on the screen. Writing runs on a worker with progress and
Cancel in the status bar; a cancelled or failed report leaves an earlier one in the folder intact.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from core.report import HTML_NAME
from gui.project_session import ProjectSession
from gui.status_bar import StatusBar
from gui.workers.base import Task, TaskRunner

log = logging.getLogger(__name__)


class ReportAction(QObject):
    notice = Signal(str)      # a short status-bar message
    written = Signal(object)  # core.report.ReportResult

    def __init__(self, window: QWidget, session: ProjectSession, runner: TaskRunner, status: StatusBar,
                 flush: Callable[[Callable[[bool], None]], None], parent: QObject | None = None,
                 ask: bool = True):
        super().__init__(parent)
        self.window = window
        self.session = session
        self.runner = runner
        self.status = status
        self.flush = flush
        self.ask = ask  # False in tests: no dialogs, the result is only announced
        self.task: Task | None = None

    def default_folder(self) -> Path:
        project = self.session.project
        return project.folder / f"{project.name} report"

    def choose_and_write(self) -> None:
        """Ask for a folder, then write the report there."""
        if self.session.project is None:
            self.notice.emit("Open a project to write its report.")
            return
        start = self.default_folder()
        folder = QFileDialog.getExistingDirectory(self.window, "Write the inspection report into this folder",
                                                  str(start if start.exists() else start.parent))
        if not folder:
            return
        target = Path(folder)
        if (target / HTML_NAME).exists() and QMessageBox.question(
                self.window, "Replace the report?",
                f"{target / HTML_NAME} exists. Replace it (and segments.csv) with a new report?") \
                != QMessageBox.StandardButton.Yes:
            return
        self.write(target)

    def write(self, out_dir: str | Path) -> None:
        """Save pending edits, then write the report into ``out_dir`` in the background."""
        if self.task is not None:
            self.notice.emit("A report is already being written.")
            return
        out_dir = Path(out_dir)
        self.flush(lambda ok: self._start(out_dir) if ok else
                   self.notice.emit("The report was not written: the last edits could not be saved."))

    def _start(self, out_dir: Path) -> None:
        project = self.session.project
        if project is None:
            return

        def work(progress, cancel):
            from core.report import write_report
            from core.report.project import report_from_project

            photos, categories, info = report_from_project(project)
            if not photos:
                raise ValueError("nothing to report: no photo has an annotation or a prediction yet")
            return write_report(photos, categories, out_dir, info, progress=progress, cancel=cancel)

        self.task = self.runner.start(work, "write the inspection report", on_finished=self._finished,
                                      on_failed=lambda _e: self._done())
        # Only the user cancels, from the GUI thread, so this connection is in place before it can fire.
        self.task.signals.cancelled.connect(self._cancelled)
        self.status.track(self.task, "Writing the report")

    def _done(self) -> None:
        self.task = None

    def _cancelled(self) -> None:
        self._done()
        self.notice.emit("Report cancelled; nothing was replaced.")

    def _finished(self, result) -> None:
        self._done()
        defects = sum(len(p.defects) for p in result.photos)
        calibrated = sum(1 for p in result.photos if p.calibration is not None)
        text = (f"Report of {len(result.photos)} photos, {defects} defects ({calibrated} photos calibrated, "
                f"{len(result.photos) - calibrated} in pixels) written to {result.html_path.parent}.")
        log.info(text)
        self.notice.emit(text)
        self.written.emit(result)
        if not self.ask:
            return
        box = QMessageBox(QMessageBox.Icon.Information, "Report written", text, QMessageBox.StandardButton.Close,
                          self.window)
        box.setObjectName("reportWrittenMessage")
        if result.problems:
            box.setDetailedText("\n".join(result.problems))
            box.setInformativeText(f"{len(result.problems)} photos could not be shown fully (see the details).")
        open_button = box.addButton("Open the report", QMessageBox.ButtonRole.AcceptRole)
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(result.html_path))))
        box.open()
