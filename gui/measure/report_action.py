"""``ReportAction``: Measure › Write inspection report… — the project's HTML report and CSV.

The same report as ``python main.py report PROJECT --out DIR`` (``core.report``): every photo of the
project (listed without figures where it has neither an annotation nor a stored prediction), its
defects outlined and numbered, a table of measurements, totals per category, project and model
with its evaluation on the project. The open photo's pending edits are saved
first, so the report shows what is on the screen. Writing runs on a worker with progress and
Cancel in the status bar; a cancelled or failed report leaves an earlier one in the folder intact.
"""
from __future__ import annotations

import logging
from pathlib import Path
from collections.abc import Callable

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from core.errors import ProjectError
from core.report.model import SOURCE_NONE
from gui.measure.report_dialog import ReportDialog, ReportOptions
from gui.session.project_session import ProjectSession
from gui.shell.status_bar import StatusBar
from gui.workers.base import Task, TaskRunner

log = logging.getLogger(__name__)


class ReportAction(QObject):
    notice = Signal(str)      # a short status-bar message
    written = Signal(object)  # core.report.ReportResult

    def __init__(self, window: QWidget, session: ProjectSession, runner: TaskRunner, status: StatusBar,
                 flush: Callable[[Callable[[bool], None]], None], parent: QObject | None = None):
        super().__init__(parent)
        self.window = window
        self.session = session
        self.runner = runner
        self.status = status
        self.flush = flush
        self.task: Task | None = None
        self.dialog: ReportDialog | None = None

    def default_folder(self) -> Path:
        project = self.session.current_project()
        return project.folder / f"{project.name} report"

    def choose_and_write(self) -> None:
        """Ask where and what (``ReportDialog``), then write the report."""
        if self.session.project is None:
            self.notice.emit("Open a project to write its report.")
            return
        dlg = ReportDialog(self.default_folder(), bool(self.session.predicted), self.window)
        self.dialog = dlg

        def finished(result: int) -> None:
            self.dialog = None
            if result == QDialog.DialogCode.Accepted:
                self.write(dlg.options())
            dlg.deleteLater()

        dlg.finished.connect(finished)
        dlg.open()

    def write(self, options: ReportOptions | str | Path) -> None:
        """Save pending edits, then write the report (``options`` or just a folder) in the background."""
        if not isinstance(options, ReportOptions):
            options = ReportOptions(Path(options), open_after=False)
        if self.task is not None:
            self.notice.emit("A report is already being written.")
            return
        self.flush(lambda ok: self._start(options) if ok else
                   self.notice.emit("The report was not written: the last edits could not be saved."))

    def _start(self, options: ReportOptions) -> None:
        project = self.session.project
        if project is None:
            return

        def work(progress, cancel):
            from dataclasses import replace

            from core.report import write_report
            from core.report.project import report_from_project

            photos, categories, info = report_from_project(project, source=options.source,
                                                           min_score=options.min_score)
            if not any(p.has_figures for p in photos):
                raise ProjectError("nothing to report: no photo has an annotation"
                                   + ("" if options.source == "annotation" else " or a prediction") + " yet",
                                   project.path, hint="Annotate a photo (or run the model on it) first: the "
                                   "report shows the photos that have figures.")
            info = replace(info, title=options.title, details=info.details + options.details())
            result = write_report(photos, categories, options.folder, info, progress=progress, cancel=cancel)
            if options.pdf:
                from core.report.pdf_report import PDF_NAME, write_pdf

                result.pdf = write_pdf(photos, categories, options.folder / PDF_NAME, info,
                                       page_size=options.page_size, progress=progress, cancel=cancel)
            return result

        self.task = self.runner.start(work, "write the inspection report",
                                      on_finished=lambda result: self._finished(result, options.open_after),
                                      on_failed=lambda _e: self._done())
        # Only the user cancels, from the GUI thread, so this connection is in place before it can fire.
        self.task.signals.cancelled.connect(self._cancelled)
        self.status.track(self.task, "Writing the report")

    def _done(self) -> None:
        self.task = None

    def _cancelled(self) -> None:
        self._done()
        self.notice.emit("Report cancelled; nothing was replaced.")

    def _finished(self, result, open_after: bool = False) -> None:
        self._done()
        defects = sum(len(p.defects) for p in result.photos)
        covered = [p for p in result.photos if p.source != SOURCE_NONE]
        calibrated = sum(1 for p in covered if p.calibration is not None)
        without = len(result.photos) - len(covered)
        text = (f"Report of {len(result.photos)} photos, {defects} defects ({calibrated} photos calibrated, "
                f"{len(covered) - calibrated} in pixels" + (f", {without} without figures" if without else "")
                + f") written to {result.html_path.parent}"
                + (f", with a {result.pdf.pages}-page PDF." if result.pdf is not None else "."))
        log.info(text)
        self.notice.emit(text)
        self.written.emit(result)
        if result.problems:
            # Not an error: the report is there; the photos it could not show fully are listed.
            box = QMessageBox(QMessageBox.Icon.Warning, "Report written, with notes", text,
                              QMessageBox.StandardButton.Close, self.window)
            box.setObjectName("reportProblemsMessage")
            box.setInformativeText(f"{len(result.problems)} photos could not be shown fully (see the details).")
            box.setDetailedText("\n".join(result.problems))
            box.open()
        if open_after:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(result.html_path)))
