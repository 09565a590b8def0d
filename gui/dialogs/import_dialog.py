"""``ImportDialog``: bring a dataset (COCO panoptic/instances, labelme, photos + masks) into the project.

The dialog has the options of ``main.py import``: for mask folders the values found in the masks
mapped to categories (``ClassMappingTable``, scanned in the background), the mask layout, the
minimum area of a thing (smaller specks become unlabelled), the connectivity; for every format the
fill class of unlabelled pixels, replacing existing annotations and the split of the new photos.

Nothing is written before the user has seen what will be created: **Check** runs the importer
for real in the background and ``core.formats.import_plan.plan_project_import`` (the command
line's ``--dry-run``) on the open project, and shows photos, segments per class, new categories
and every skipped file with its reason. **Import** is enabled only after a clean check and
imports exactly what was checked; any change of an option asks for a new check. A dataset whose
classes conflict with the project's (a thing on one side, stuff on the other) is refused by the
check, so such an import never starts.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QGridLayout, QGroupBox, QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit, QSpinBox,
                               QVBoxLayout, QWidget)

from core.errors import InspectorError
from core.formats.detect import COCO_INSTANCES, COCO_PANOPTIC, DATASET_NAMES, LABELME, MASK_FOLDER, DroppedDataset
from gui.dialogs.class_mapping_table import ClassMappingTable
from gui.dialogs.path_field import PathField
from gui.dialogs.import_check import CheckedImport, plan_text, run_import
from gui.session.project_session import ProjectSession
from gui.workers.base import Task

#: Things smaller than this (px) become unlabelled by default: ragged mask edges and resampling
#: leave specks of a few pixels that would each count as a defect; 25 px is a 5 x 5 patch, well
#: under any crack or spall worth recording at the resolutions inspections use.
DEFAULT_MIN_AREA = 25
SCAN_DELAY_MS = 400  # wait for the typing to stop before reading the masks folder


class ImportDialog(QDialog):
    started = Signal(object)  # the import's Task
    checked = Signal()        # a check ended (its summary is shown)

    def __init__(self, session: ProjectSession, dataset: DroppedDataset | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Import a dataset")
        # no fixed minimum: the layout's own grows with the table, so that no column hides
        self._checked: CheckedImport | None = None
        self._tasks: dict[str, Task] = {}
        self._generation = 0
        self._layout_guessed_for: Path | None = None
        self._build()
        self.kind.currentIndexChanged.connect(self._kind_changed)
        if dataset is not None:
            self.kind.setCurrentIndex(self.kind.findData(dataset.kind))
            if dataset.kind == MASK_FOLDER:
                self.images.set_path(dataset.path)
                self.masks.set_path(dataset.masks)
            else:
                self.source.set_path(dataset.path)
        self._kind_changed()
        self.resize(max(self.width(), 900), self.height())

    # --- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        cats = self.session.categories
        self.kind = QComboBox()
        for key in (COCO_PANOPTIC, COCO_INSTANCES, LABELME, MASK_FOLDER):
            self.kind.addItem(DATASET_NAMES[key], key)
        self.source = PathField(False, "Dataset file", "JSON (*.json);;All files (*)")
        self.images = PathField(True, "Folder of the photos")
        self.masks = PathField(True, "Folder of the mask images")
        self.mapping_file = PathField(False, "Class mapping file", "JSON (*.json);;All files (*)")
        self.mapping_file.edit.setPlaceholderText("optional: a JSON file naming the values (as main.py import takes)")
        self.mode = QComboBox()
        self.mode.addItem("a class index per pixel", "index")
        self.mode.addItem("one black-and-white mask per class, named by class", "binary")
        self.form = QFormLayout()
        self.form.addRow("Format", self.kind)
        self.form.addRow("Dataset", self.source)
        self.form.addRow("Photos", self.images)
        self.form.addRow("Masks", self.masks)
        self.form.addRow("Masks hold", self.mode)
        self.form.addRow("Mapping file", self.mapping_file)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.classes = ClassMappingTable(cats)
        self.classes_box = QGroupBox("Classes in the masks")
        QVBoxLayout(self.classes_box).addWidget(self.classes)

        self.min_area = QSpinBox()
        self.min_area.setRange(0, 1_000_000)
        self.min_area.setValue(DEFAULT_MIN_AREA)
        self.min_area.setSuffix(" px")
        self.min_area.setToolTip("Defect regions (things) smaller than this become unlabelled: specks left by "
                                 "ragged mask edges would otherwise each count as a defect. 0 keeps all.")
        self.connectivity = QComboBox()
        self.connectivity.addItem("8 (diagonal neighbours touch)", 8)
        self.connectivity.addItem("4 (only sides touch)", 4)
        self.fill = QComboBox()
        self.fill.addItem("leave them unlabelled (void)", None)
        for c in cats.stuff:
            self.fill.addItem(c.name, c.name)
        self.split = QComboBox()
        self.split.addItem("leave unassigned", None)
        self.split.addItem("all to training", "train")
        self.split.addItem("all to validation", "val")
        self.split.addItem("random, with a validation share of", "random")
        self.val_share = QDoubleSpinBox()
        self.val_share.setRange(0.05, 0.9)
        self.val_share.setSingleStep(0.05)
        self.val_share.setValue(0.2)
        self.val_share.setToolTip("Seeded (seed 0): the same photos give the same split")
        split_row = QHBoxLayout()
        split_row.addWidget(self.split, 1)
        split_row.addWidget(self.val_share)
        self.replace = QCheckBox("Replace annotations the project already has for these photos")
        # two columns, so that the dialog fits a 1280 x 800 screen
        options = QGridLayout()
        self.mask_option_labels = [QLabel("Minimum area"), QLabel("Connectivity")]
        options.addWidget(self.mask_option_labels[0], 0, 0)
        options.addWidget(self.min_area, 0, 1)
        options.addWidget(self.mask_option_labels[1], 0, 2)
        options.addWidget(self.connectivity, 0, 3)
        options.addWidget(QLabel("Unlabelled pixels"), 1, 0)
        options.addWidget(self.fill, 1, 1)
        options.addWidget(QLabel("Split of new photos"), 1, 2)
        options.addLayout(split_row, 1, 3)
        options.addWidget(self.replace, 2, 0, 1, 4)
        options.setColumnStretch(1, 1)
        options.setColumnStretch(3, 1)
        options_box = QGroupBox("Options")
        options_box.setLayout(options)

        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setMinimumHeight(110)
        self.summary.setPlaceholderText("Press Check to see what will be created; nothing is written before Import.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.check_button = buttons.addButton("Check", QDialogButtonBox.ButtonRole.ActionRole)
        self.check_button.setToolTip("Read the whole dataset and say what the import would create; writes nothing")
        self.import_button = buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setEnabled(False)
        self.check_button.setDefault(True)
        self.check_button.clicked.connect(self.check)
        self.import_button.clicked.connect(self._import)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.hint)
        layout.addWidget(self.classes_box, 1)
        layout.addWidget(options_box)
        layout.addWidget(QLabel("What will be created"))
        layout.addWidget(self.summary)
        layout.addWidget(buttons)

        self._scan_timer = QTimer(self)
        self._scan_timer.setSingleShot(True)
        self._scan_timer.setInterval(SCAN_DELAY_MS)
        self._scan_timer.timeout.connect(self._scan)
        self.masks.changed.connect(self._scan_timer.start)
        self.mapping_file.changed.connect(self._scan_timer.start)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.split.currentIndexChanged.connect(self._split_changed)
        self.fill.currentIndexChanged.connect(lambda *_: self.classes.set_fill(self.fill.currentData()))
        for field in (self.source, self.images, self.masks, self.mapping_file):
            field.changed.connect(self._invalidate)
        for combo in (self.mode, self.connectivity, self.fill, self.split):
            combo.currentIndexChanged.connect(self._invalidate)
        self.min_area.valueChanged.connect(self._invalidate)
        self.val_share.valueChanged.connect(self._invalidate)
        self.replace.toggled.connect(self._invalidate)
        self.classes.changed.connect(self._invalidate)
        self._split_changed()

    def _kind_changed(self, *_) -> None:
        kind = self.kind.currentData()
        mask = kind == MASK_FOLDER
        self.form.setRowVisible(self.source, not mask)
        for w in (self.masks, self.mode, self.mapping_file):
            self.form.setRowVisible(w, mask)
        for widget in (self.min_area, self.connectivity, *self.mask_option_labels):
            widget.setVisible(mask)
        self.classes_box.setVisible(mask)
        self.source.folder = kind == LABELME
        self.hint.setText({
            COCO_PANOPTIC: "The panoptic JSON; its PNG folder is found beside it. Photos: leave empty to look "
                           "next to the JSON.",
            COCO_INSTANCES: "The instances JSON (CVAT, labelme2coco, detectron2). Photos: leave empty to look "
                            "next to the JSON.",
            LABELME: "A labelme .json file or a folder of them; the photos are found through each file.",
            MASK_FOLDER: "A folder of photos and a folder of mask images named like them (a class index per "
                         "pixel, or one binary mask per class).",
        }[kind])
        self._invalidate()
        self.adjustSize()

    def _mode_changed(self, *_) -> None:
        binary = self.mode.currentData() == "binary"
        self.classes.table.setVisible(not binary)
        self.classes.preview.setVisible(not binary)
        self.classes.preview_caption.setVisible(not binary)
        if binary:
            self._binary_note()

    def _binary_note(self) -> None:
        found = self.classes.values
        named = ", ".join(f"{t} ({n} photos)" for t, n in sorted(found.tokens.items())) if found else ""
        self.classes.note.setText("One black-and-white mask per class: masks are matched to categories by folder "
                                  "or file name (crack/photo.png or photo_crack.png); a mapping file's \"masks\" "
                                  "can name other tokens." + (f" Found: {named}." if named else
                                                               " No mask named by a category was found."))

    def _split_changed(self, *_) -> None:
        self.val_share.setEnabled(self.split.currentData() == "random")

    # --- the values in the masks ------------------------------------------------------------------
    def _scan(self) -> None:
        """Read the masks folder in the background and list its values (the latest request wins)."""
        self._generation += 1
        generation = self._generation
        self._cancel_task("scan")
        masks = self.masks.path()
        if self.kind.currentData() != MASK_FOLDER:
            return
        if masks is None or not masks.is_dir():
            self.classes.clear("Choose the masks folder: the values found in its masks are listed here."
                               if masks is None else f"The masks folder {masks} does not exist.")
            return
        self.classes.note.setText(f"Reading the masks in {masks}…")
        file_path = self.mapping_file.path()
        base = self.session.categories

        def work(progress, cancel):
            from core.formats.class_mapping import load_class_mapping
            from core.formats.mask_values import scan_mask_values

            file_mapping = load_class_mapping(file_path, base) if file_path is not None else None
            tokens = [c.name for c in base] + (list(file_mapping.masks) if file_mapping else [])
            return scan_mask_values(masks, progress=progress, cancel=cancel, tokens=tokens), file_mapping

        def finished(result):
            if generation != self._generation:
                return
            found, file_mapping = result
            self.classes.set_values(found, file_mapping)
            if found.tokens and masks != self._layout_guessed_for:
                # masks named by class (crack/x.png, x_crack.png): the binary layout, as main.py's auto mode finds
                self._layout_guessed_for = masks
                self.mode.setCurrentIndex(self.mode.findData("binary"))
            if self.mode.currentData() == "binary":
                self._binary_note()

        def progress(done, total, name):
            if generation == self._generation:
                self.classes.note.setText(f"Reading the masks… {done} of {total} ({name})")

        self._tasks["scan"] = self.session.runner.start(
            work, "read the values in the masks", on_finished=finished, on_progress=progress,
            on_failed=lambda e: self._scan_failed(e, generation), report_errors=False)

    def _scan_failed(self, error: BaseException, generation: int) -> None:
        if generation != self._generation:
            return
        if not isinstance(error, InspectorError):
            self._report(error, "read the values in the masks")
        self.classes.clear(f"Cannot read the masks: {error}")

    # --- check, then import -----------------------------------------------------------------------
    def _invalidate(self, *_) -> None:
        """Any change: what was checked no longer holds."""
        self._cancel_task("check")
        if self._checked is not None or self.summary.toPlainText():
            self.summary.setPlainText("The options changed: press Check again to see what will be created.")
        self._checked = None
        self.import_button.setEnabled(False)
        self.check_button.setDefault(True)

    def settings(self) -> CheckedImport:
        """The current choices as one import (raises ``InspectorError`` saying what is missing)."""
        from core.errors import DatasetError

        kind = self.kind.currentData()
        source, images, masks = self.source.path(), self.images.path(), self.masks.path()
        if kind == MASK_FOLDER and (images is None or masks is None):
            raise DatasetError("choose the folder of the photos and the folder of the masks")
        if kind != MASK_FOLDER and source is None:
            raise DatasetError("choose the dataset's file first")
        fill = self.fill.currentData()
        mapping, option = None, None
        if kind == MASK_FOLDER:
            if self.mode.currentData() == "index":
                if not self.classes.rows():
                    raise DatasetError("the values in the masks are not read yet", masks,
                                       hint="wait until the table lists them")
                option = self.classes.option_text(fill)
                mapping = self.classes.mapping(fill)
            else:
                mapping = self._binary_mapping()
        elif kind == LABELME:
            from core.formats.class_mapping import ClassMapping

            # labelme labels are names: they keep the project's categories (ids, kinds, colours)
            mapping = ClassMapping(self.session.current_project().categories.get())
        split = self.split.currentData()
        return CheckedImport(kind=kind, source=source, images=images, masks=masks, mapping=mapping,
                             classes_option=option, mode=self.mode.currentData(),
                             connectivity=int(self.connectivity.currentData()), min_area=self.min_area.value(),
                             fill=fill, replace_existing=self.replace.isChecked(), split=split,
                             val_share=self.val_share.value() if split == "random" else None)

    def _binary_mapping(self):
        from core.formats.class_mapping import ClassMapping, load_class_mapping

        path = self.mapping_file.path()
        if path is not None:
            return load_class_mapping(path, self.session.categories)
        return ClassMapping.identity(self.session.categories)

    def check(self) -> None:
        """Run the import without writing (background) and show what it would create."""
        try:
            job = self.settings()
        except InspectorError as e:
            self.summary.setPlainText(f"Cannot check yet: {e.message()}")
            return
        self._cancel_task("check")
        project = self.session.current_project()
        self.summary.setPlainText("Checking: reading the whole dataset…")
        self.check_button.setEnabled(False)

        def work(progress, cancel):
            from core.formats.import_plan import plan_project_import

            return plan_project_import(project, job.open_run(progress, cancel), job.replace_existing, cancel)

        def finished(plan):
            self.check_button.setEnabled(True)  # before `checked`: whoever waits on it may check again
            self._checked = job if not plan.refused and plan.photos_new + plan.photos_existing else None
            self.summary.setPlainText(plan_text(plan, job))
            self.import_button.setEnabled(self._checked is not None)
            if self._checked is not None:
                self.import_button.setDefault(True)
            self.checked.emit()

        def failed(error):
            self.check_button.setEnabled(True)
            if isinstance(error, InspectorError):
                self.summary.setPlainText(f"Cannot import: {error.message()}\n\nNothing was written.")
            else:  # a bug: reported with its details, and the summary does not stay at "Checking"
                self._report(error, "check the import")
                self.summary.setPlainText(f"The check failed unexpectedly ({type(error).__name__}: {error}). "
                                          "Nothing was written.")
            self.checked.emit()

        def progress(done, total, name):
            self.summary.setPlainText(f"Checking: {done} of {total} ({name})…")

        self._tasks["check"] = self.session.runner.start(
            work, "check the import", on_finished=finished, on_failed=failed, on_progress=progress,
            on_done=lambda: self.check_button.setEnabled(True), report_errors=False)

    def _import(self) -> None:
        job = self._checked
        if job is None:
            QMessageBox.warning(self, "Import", "Check the import first: nothing is imported unseen.")
            return
        task = run_import(self.session, job, self.parentWidget())
        self.started.emit(task)
        self.accept()

    # --- helpers ----------------------------------------------------------------------------------
    def _cancel_task(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()

    def _report(self, error: BaseException, what: str) -> None:
        if self.session.runner.on_error is not None:
            self.session.runner.on_error(error, what)

    def reject(self) -> None:
        for name in list(self._tasks):
            self._cancel_task(name)
        super().reject()

