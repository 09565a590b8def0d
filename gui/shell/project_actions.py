"""File-menu work: new / open / open recent / save as copy / add photos / drops / import / export.

Each turns a user's choice into a ``ProjectSession`` call (in the background where it can take
long), keeps the recent list, and reports what happened in words (added, skipped, unsupported).
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from core.project import PROJECT_SUFFIX
from core.formats.detect import DATASET_NAMES, DropContents, classify
from gui.shell.error_reporter import ErrorReporter
from gui.session.project_session import ProjectSession
from gui.shell.settings import Preferences
from gui.shell.status_bar import StatusBar

log = logging.getLogger(__name__)

PROJECT_FILTER = f"Panoptic Inspector projects (*{PROJECT_SUFFIX});;All files (*)"
PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp);;All files (*)"


class ProjectActions(QObject):
    recentChanged = Signal()
    notice = Signal(str)  # a short message for the status bar

    def __init__(self, window: QWidget, session: ProjectSession, prefs: Preferences, reporter: ErrorReporter,
                 status: StatusBar, parent: QObject | None = None):
        super().__init__(parent)
        self.window = window
        self.session = session
        self.prefs = prefs
        self.reporter = reporter
        self.status = status
        self.last_add_report = None
        self.last_drop: DropContents | None = None
        session.opened.connect(self._opened)

    def _opened(self, project) -> None:
        self.prefs.add_recent(project.path)
        self.recentChanged.emit()

    def _folder(self) -> str:
        p = self.session.project
        return str(p.folder) if p is not None else str(Path.home())

    # --- projects ---------------------------------------------------------------------------------
    def new_project(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "New project",
                                              str(Path(self._folder()) / f"inspection{PROJECT_SUFFIX}"), PROJECT_FILTER)
        if path:
            if not path.endswith(PROJECT_SUFFIX):
                path += PROJECT_SUFFIX
            self.session.create(path)

    def open_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", self._folder(), PROJECT_FILTER)
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> None:
        if self._is_open(path):
            # Opening the file again would meet this window's own lock and fall back to read-only.
            from gui.shell.single_instance import bring_forward

            bring_forward(self.window)
            self.notice.emit(f"{Path(path).name} is already open in this window.")
            return

        def done(ok: bool):
            if not ok and not path.exists():
                self.prefs.remove_recent(path)
                self.recentChanged.emit()
        self.session.open(path, on_done=done)

    def _is_open(self, path: Path) -> bool:
        """Whether ``path`` is the project this window has open (the same file, however named)."""
        project = self.session.project
        if project is None:
            return False
        try:
            return Path(path).resolve() == project.path.resolve() or Path(path).samefile(project.path)
        except OSError:
            return False

    def save_copy(self) -> None:
        project = self.session.project
        if project is None:
            return
        path, _ = QFileDialog.getSaveFileName(self.window, "Save a copy of the project",
                                              str(project.path.with_name(project.path.stem + " copy" + PROJECT_SUFFIX)),
                                              PROJECT_FILTER)
        if not path:
            return
        if not path.endswith(PROJECT_SUFFIX):
            path += PROJECT_SUFFIX

        def work(progress, cancel):
            return project.save_copy(path)

        def finished(dest):
            box = QMessageBox(QMessageBox.Icon.Information, "Copy saved", f"The copy was saved as\n{dest}",
                              QMessageBox.StandardButton.Ok, self.window)
            open_button = box.addButton("Open the copy", QMessageBox.ButtonRole.AcceptRole)
            box.exec()
            if box.clickedButton() is open_button:
                self.open_path(Path(dest))

        self.session.runner.start(work, "save a copy of the project", on_finished=finished)

    # --- photos -----------------------------------------------------------------------------------
    def add_photos(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self.window, "Add photos", self._folder(), PHOTO_FILTER)
        if files:
            self.add_paths([Path(f) for f in files])

    def add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Add a folder of photos", self._folder())
        if folder:
            self.add_paths([Path(folder)])

    def add_paths(self, paths: list[Path]):
        """Add photos/folders in the background with a progress bar; returns the task."""
        if not self._writable("add photos"):
            return None
        task = self.session.add_files(paths, on_done=self._added)
        self.status.track(task, "Adding photos")
        return task

    def _added(self, report) -> None:
        self.last_add_report = report
        parts = [f"{len(report.added)} photo{'s' * (len(report.added) != 1)} added"]
        if report.skipped:
            parts.append(f"{len(report.skipped)} already in the project")
        if report.cancelled:
            parts.append("cancelled")
        self.notice.emit(", ".join(parts))
        if report.failed:
            lines = "\n".join(f"• {Path(p).name}: {why}" for p, why in report.failed[:20])
            more = f"\n… and {len(report.failed) - 20} more" if len(report.failed) > 20 else ""
            box = QMessageBox(QMessageBox.Icon.Warning, "Some photos were not added",
                              f"{len(report.failed)} file(s) could not be read; the others were added.",
                              QMessageBox.StandardButton.Ok, self.window)
            box.setInformativeText("Check that these are complete photos.")
            box.setDetailedText(lines + more)
            box.open()

    def _writable(self, what: str) -> bool:
        if self.session.project is None:
            self.notice.emit(f"Open or create a project to {what}.")
            return False
        if self.session.read_only:
            self.notice.emit(f"The project is read-only ({self.session.project.read_only_reason}); cannot {what}.")
            return False
        return True

    # --- drops ------------------------------------------------------------------------------------
    def handle_drop(self, paths: list[Path]) -> DropContents:
        """Photos and folders are added; a dataset opens the import dialog; the rest is listed."""
        contents = classify(paths)
        self.last_drop = contents
        if contents.unsupported:
            names = "\n".join(f"• {p.name}" for p in contents.unsupported[:20])
            more = f"\n… and {len(contents.unsupported) - 20} more" if len(contents.unsupported) > 20 else ""
            box = QMessageBox(QMessageBox.Icon.Information, "Some files were not added",
                              "These files are neither photos nor datasets Panoptic Inspector can read:\n\n"
                              + names + more, QMessageBox.StandardButton.Ok, self.window)
            box.setInformativeText("Photos: JPEG, PNG, TIFF, BMP, WebP. Datasets: COCO panoptic or instances JSON, "
                                   "labelme JSON, or a folder of photos with a masks folder. Nothing else was changed.")
            box.setObjectName("unsupportedDropMessage")
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
        if contents.photos:
            self.add_paths(contents.photos)
        for ds in contents.datasets:
            self.import_dataset(ds)
        return contents

    # --- import / export --------------------------------------------------------------------------
    def import_dataset(self, dataset=None) -> None:
        if not self._writable("import a dataset"):
            return
        from gui.dialogs.import_dialog import ImportDialog

        dlg = ImportDialog(self.session, dataset, self.window)
        dlg.started.connect(lambda task: self.status.track(task, "Importing"))
        dlg.open()

    def export(self) -> None:
        if self.session.project is None:
            self.notice.emit("Open a project to export it.")
            return
        from gui.dialogs.export_dialog import ExportDialog

        dlg = ExportDialog(self.session, self.window)
        dlg.started.connect(lambda task: self.status.track(task, "Exporting"))
        dlg.open()


__all__ = ["DATASET_NAMES", "ProjectActions"]
