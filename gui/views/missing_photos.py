"""``MissingPhotos``: photos whose files are not where the project last saw them.

A project keeps photos where they are, so a renamed folder or an unplugged drive leaves records
without files. Opening such a photo says so (moved, renamed, deleted or on a drive that is not
connected; the annotation is kept) instead of the generic unreadable-photo advice, and offers
**Locate…** (also Photo › Locate photo file…): the user picks the file, the store checks it is
the same photo (content hash, ``core.project.images.ImageStore.relink_image``) and points the
record at it; then, when other photos are missing, it offers to look for them in that folder
(``ImageStore.relink``, by content hash, in the background).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from core.errors import BadImageError

if TYPE_CHECKING:
    from core.project import ImageRecord
    from gui.shell.services import Services
    from gui.workers.base import Task

log = logging.getLogger(__name__)

PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp *.JPG *.JPEG *.PNG *.TIF *.TIFF);;All files (*)"


class MissingPhotos(QObject):
    """The Locate action (Photo menu), the message for a missing photo, relinking; built from the
    window's ``Services`` like the features, never the window itself."""

    def __init__(self, services: Services):
        super().__init__(services.dialog_parent)
        self.w = services
        self.task: Task | None = None
        self.action = services.actions.add("locate_photo", "&Locate photo file…", self.locate, None,
                                           "mdi6.file-find-outline",
                                           "Point the project at the open photo's file after it was moved or renamed")
        menu = services.actions.menu("photo")
        menu.addSeparator()
        menu.addAction(self.action)
        self.action.setEnabled(False)
        services.photo.photoChanged.connect(lambda _rec: self._sync())
        services.session.stateChanged.connect(self._sync)
        services.session.imagesChanged.connect(self._sync)

    def _record(self) -> ImageRecord | None:
        rec = self.w.photo.record
        return None if rec is None else (self.w.session.image(rec.id) or rec)

    def _sync(self) -> None:
        rec = self._record()
        self.action.setEnabled(rec is not None and not rec.exists and not self.w.session.read_only)

    # --- the message ----------------------------------------------------------------------------
    def load_failed(self, image_id: int, error: BaseException) -> None:
        """The photo could not be shown: a missing file gets its own message, the rest the reporter."""
        rec = self.w.session.image(image_id)
        if rec is None or rec.exists or not isinstance(error, BadImageError):
            self.w.reporter.report(error, "show the photo")
            return
        log.warning("photo %s not found at %s", rec.name, rec.path)
        box = QMessageBox(QMessageBox.Icon.Warning, "Photo not found",
                          f"The photo file was not found:\n{rec.path}", QMessageBox.StandardButton.NoButton,
                          self.w.dialog_parent)
        box.setObjectName("missingPhotoMessage")
        writable = not self.w.session.read_only
        box.setInformativeText("It was moved, renamed or deleted, or its drive is not connected. Its annotation "
                               "is kept in the project." + (" Locate… points the project at the file's new place."
                                                            if writable else ""))
        locate = box.addButton("Locate…", QMessageBox.ButtonRole.AcceptRole) if writable else None
        box.addButton(QMessageBox.StandardButton.Close)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def finished(_result: int) -> None:
            if locate is not None and box.clickedButton() is locate:
                self.locate()

        box.finished.connect(finished)
        box.open()

    # --- relinking ------------------------------------------------------------------------------
    def locate(self) -> None:
        """Ask for the open photo's file, relink it, then offer the others from that folder."""
        rec = self._record()
        project = self.w.session.project
        if rec is None or project is None or self.w.session.read_only:
            return
        start = next((str(p) for p in (rec.path.parent, project.folder) if p.is_dir()), "")
        chosen, _ = QFileDialog.getOpenFileName(self.w.dialog_parent, f"Locate {rec.name}", start, PHOTO_FILTER)
        if not chosen:
            return
        try:
            project.images.relink_image(rec.id, chosen)
        except Exception as e:  # noqa: BLE001 - shown; the record is unchanged
            self.w.reporter.report(e, f"use this file for {rec.name}")
            return
        self.w.session.refresh_images()
        self.w.photo.open(rec.id)
        self.w.status.showMessage(f"{rec.name} found at {chosen}", 8000)
        others = project.images.missing()
        if others:
            self._offer_folder(Path(chosen).parent, len(others))

    def _offer_folder(self, folder: Path, n: int) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Other missing photos",
                          f"{n} other photo{'s are' if n != 1 else ' is'} missing. Look for "
                          f"{'them' if n != 1 else 'it'} in {folder} (and its sub-folders)?",
                          QMessageBox.StandardButton.NoButton, self.w.dialog_parent)
        box.setObjectName("relinkOthersQuestion")
        box.setInformativeText("Photos are recognised by their content, whatever their names are now.")
        look = box.addButton("Look there", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(look)

        def finished(_result: int) -> None:
            if box.clickedButton() is look:
                self.relink_folder(folder)
            box.deleteLater()

        box.finished.connect(finished)
        box.open()

    def relink_folder(self, folder: Path) -> None:
        """Find the project's missing photos under ``folder`` in the background."""
        project = self.w.session.project
        if project is None or self.task is not None:
            return
        n = len(project.images.missing())

        def work(progress, cancel):
            return project.images.relink(folder, progress=progress, cancel=cancel)

        def finished(report) -> None:
            if project is not self.w.session.project:
                return
            self.w.session.refresh_images()
            found, left = len(report.found), len(report.missing)
            if left == 0:
                text = f"Relinked: found all {found} missing photos in {folder}."
            else:
                text = f"Relinked {found} of {n} missing photos; {left} still missing (not in {folder})."
            self.w.status.showMessage(text, 10000)
            rec = self.w.photo.record
            if rec is not None and rec.id in report.found:
                self.w.photo.open(rec.id)

        def done() -> None:
            self.task = None

        self.task = self.w.runner.start(work, "look for the missing photos", on_finished=finished, on_done=done)
        self.w.status.track(self.task, "Looking for the missing photos")
