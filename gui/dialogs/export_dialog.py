"""``ExportDialog``: write the project's annotations as COCO panoptic, COCO instances or class PNGs.

Split options: a seeded train/validation split by share (the same seed gives the same split), or
the photos' own splits from the project. Runs in the background through
``core.formats.project_io.export_project`` with progress and cancel in the status bar (an atomic
folder: an export that fails or is cancelled leaves nothing behind); the window stays usable.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel,
                               QMessageBox, QSpinBox, QVBoxLayout, QWidget)

from gui.dialogs.import_dialog import PathField
from gui.session.project_session import ProjectSession

FORMATS = {"coco-panoptic": "COCO panoptic (JSON + PNG)", "coco-instances": "COCO instances (JSON, RLE masks)",
           "semantic": "Class-index PNGs"}


class ExportDialog(QDialog):
    started = Signal(object)

    def __init__(self, session: ProjectSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Export annotations")
        self.setMinimumWidth(520)
        self.format = QComboBox()
        for key, text in FORMATS.items():
            self.format.addItem(text, key)
        self.dest = PathField(True, "Export into a new folder")
        project = session.current_project()
        self.dest.set_path(project.folder / f"{project.path.stem}_export")
        self.photos = QCheckBox("Copy the photos (upright) beside the annotations")
        self.photos.setChecked(True)
        self.val = QDoubleSpinBox()
        self.val.setRange(0.0, 0.9)
        self.val.setSingleStep(0.05)
        self.val.setValue(0.2)
        self.val.setSpecialValueText("no split (one set)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("The same seed always gives the same split")
        self.use_project_splits = QCheckBox("Use the photos' splits from the project")
        self.include_stuff = QCheckBox("Also write stuff segments (concrete, background) as instances")
        self.overwrite = QCheckBox("Replace an earlier export in this folder")
        self.overwrite.setToolTip("Only a folder this application exported to is replaced, and only once the "
                                  "new export is complete; a folder holding anything else is never replaced")
        self.count = QLabel()
        self.count.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        n = len(project.annotations.image_ids())
        self.count.setText(f"{n} annotated photo{'s' if n != 1 else ''} will be exported; photos without an "
                           "annotation are left out.")
        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Folder", self.dest)
        form.addRow("Validation share", self.val)
        form.addRow("Split seed", self.seed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._start)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        for w in (self.photos, self.use_project_splits, self.include_stuff, self.overwrite, self.count):
            layout.addWidget(w)
        layout.addWidget(buttons)
        self.format.currentIndexChanged.connect(self._sync)
        self.val.valueChanged.connect(self._sync)
        self.use_project_splits.toggled.connect(self._sync)
        self._sync()

    def _sync(self, *_) -> None:
        """Only the options that apply to the current choices are enabled."""
        own = self.use_project_splits.isChecked()
        self.val.setEnabled(not own)
        self.seed.setEnabled(not own and self.val.value() > 0)
        self.include_stuff.setVisible(self.format.currentData() == "coco-instances")

    def _start(self) -> None:
        dest = self.dest.path()
        if dest is None:
            QMessageBox.warning(self, "Export", "Choose a folder to export into.")
            return
        fmt, project = self.format.currentData(), self.session.current_project()
        use_splits = self.use_project_splits.isChecked()
        options: dict[str, Any] = {"images": self.photos.isChecked(), "overwrite": self.overwrite.isChecked(),
                   "val_fraction": None if use_splits else (self.val.value() or None), "seed": self.seed.value()}
        if fmt == "coco-instances":
            options["include_stuff"] = self.include_stuff.isChecked()
        parent = self.parentWidget()

        def work(progress, cancel):
            from core.formats.project_io import export_project

            return export_project(project, fmt, Path(dest), project_splits=use_splits, progress=progress,
                                  cancel=cancel, **options)

        def finished(summary):
            box = QMessageBox(QMessageBox.Icon.Information, "Export finished",
                              f"Exported to\n{summary.dest}", QMessageBox.StandardButton.Ok, parent)
            box.setDetailedText("\n".join(summary.lines(project.categories.get())))
            box.open()

        task = self.session.runner.start(work, "export the annotations", on_finished=finished)
        self.started.emit(task)
        self.accept()
