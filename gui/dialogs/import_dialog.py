"""``ImportDialog``: bring a dataset (COCO panoptic/instances, labelme, photos + masks) into the project.

The dialog only gathers the choices; the import runs in the background (progress and cancel in
the status bar) through ``core.formats`` importers and ``import_into_project``. When it ends a
summary says what was added, kept and skipped.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QVBoxLayout, QWidget)

from core.formats.detect import COCO_INSTANCES, COCO_PANOPTIC, DATASET_NAMES, LABELME, MASK_FOLDER, DroppedDataset
from gui.project_session import ProjectSession


class PathField(QWidget):
    """A line edit with a Browse button (file or folder)."""

    def __init__(self, folder: bool, caption: str, file_filter: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.folder, self.caption, self.filter = folder, caption, file_filter
        self.edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def _browse(self) -> None:
        start = self.edit.text() or str(Path.home())
        if self.folder:
            path = QFileDialog.getExistingDirectory(self, self.caption, start)
        else:
            path, _ = QFileDialog.getOpenFileName(self, self.caption, start, self.filter)
        if path:
            self.edit.setText(path)

    def path(self) -> Path | None:
        text = self.edit.text().strip()
        return Path(text) if text else None

    def set_path(self, path: Path | None) -> None:
        self.edit.setText("" if path is None else str(path))


class ImportDialog(QDialog):
    started = Signal(object)  # the Task

    def __init__(self, session: ProjectSession, dataset: DroppedDataset | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Import a dataset")
        self.setMinimumWidth(560)
        self.kind = QComboBox()
        for key in (COCO_PANOPTIC, COCO_INSTANCES, LABELME, MASK_FOLDER):
            self.kind.addItem(DATASET_NAMES[key], key)
        self.source = PathField(False, "Dataset file", "JSON (*.json);;All files (*)")
        self.images = PathField(True, "Folder of the photos")
        self.masks = PathField(True, "Folder of the mask images")
        self.fill = QComboBox()
        self.fill.addItem("leave them unlabelled (void)", None)
        for c in session.categories.stuff:
            self.fill.addItem(c.name, c.name)
        self.replace = QCheckBox("Replace annotations the project already has for these photos")
        self.form = QFormLayout()
        self.form.addRow("Format", self.kind)
        self.form.addRow("Dataset", self.source)
        self.form.addRow("Photos", self.images)
        self.form.addRow("Masks", self.masks)
        self.form.addRow("Unannotated pixels", self.fill)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._start)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.replace)
        layout.addWidget(self.hint)
        layout.addWidget(buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        if dataset is not None:
            self.kind.setCurrentIndex(self.kind.findData(dataset.kind))
            if dataset.kind == MASK_FOLDER:
                self.images.set_path(dataset.path)
                self.masks.set_path(dataset.masks)
            else:
                self.source.set_path(dataset.path)
        self._kind_changed()

    def _kind_changed(self, *_) -> None:
        kind = self.kind.currentData()
        mask = kind == MASK_FOLDER
        self.form.setRowVisible(self.source, not mask)
        self.form.setRowVisible(self.masks, mask)
        self.source.folder = kind == LABELME
        self.hint.setText({
            COCO_PANOPTIC: "The panoptic JSON; its PNG folder is found beside it. Photos: leave empty to look "
                           "next to the JSON.",
            COCO_INSTANCES: "The instances JSON (CVAT, labelme2coco, detectron2). Photos: leave empty to look "
                            "next to the JSON.",
            LABELME: "A labelme .json file or a folder of them; the photos are found through each file.",
            MASK_FOLDER: "A folder of photos and a folder of mask images named like them (class index per "
                         "pixel, or one binary mask per class).",
        }[kind])

    def _start(self) -> None:
        kind = self.kind.currentData()
        source, images, masks = self.source.path(), self.images.path(), self.masks.path()
        fill, replace_existing = self.fill.currentData(), self.replace.isChecked()
        need = images if kind == MASK_FOLDER else source
        if need is None or (kind == MASK_FOLDER and masks is None):
            QMessageBox.warning(self, "Import", "Choose the dataset's files first.")
            return
        project = self.session.project

        def work(progress, cancel):
            from core import formats
            from core.formats.project_io import import_into_project

            if kind == COCO_PANOPTIC:
                run = formats.import_coco_panoptic(source, images_dir=images, progress=progress, cancel=cancel)
            elif kind == COCO_INSTANCES:
                run = formats.import_coco_instances(source, images, fill=fill, progress=progress, cancel=cancel)
            elif kind == LABELME:
                run = formats.import_labelme(source, categories=project.categories.get(), fill=fill,
                                             progress=progress, cancel=cancel)
            else:
                run = formats.import_mask_folder(images, masks, options=formats.MaskFolderOptions(fill=fill),
                                                 progress=progress, cancel=cancel)
            summary = import_into_project(project, run, replace_existing=replace_existing, cancel=cancel)
            return run, summary

        parent = self.parentWidget()
        session = self.session

        def finished(result):
            run, summary = result
            if project is session.project:
                session.refresh_images()
                session.reload_categories()
            skipped = len(run.report.skipped) + len(summary.problems)
            box = QMessageBox(QMessageBox.Icon.Information if not skipped else QMessageBox.Icon.Warning,
                              "Import finished",
                              f"{summary.photos_added} photos added, {summary.annotations_saved} annotations saved"
                              + (f", {summary.annotations_kept} kept as they were" if summary.annotations_kept else "")
                              + (f"; {skipped} items skipped" if skipped else "") + ".",
                              QMessageBox.StandardButton.Ok, parent)
            details = summary.lines() + [f"skipped: {p.message()}" for p in run.report.skipped]
            box.setDetailedText("\n".join(details))
            box.open()

        task = session.runner.start(work, "import the dataset", on_finished=finished)
        self.started.emit(task)
        self.accept()
