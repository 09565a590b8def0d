"""``TrainDialog``: what to train on, how, from which weights, and on which device.

Built from the ``ProjectSession``: the photos a run would use (``core.project.training_set``, the
trainer's own rule) with their train/validation split, the training presets of
``core.training.config.PRESETS`` (listed as they are, so a new preset appears here by itself),
the stage, epochs, image size and batch size, the initial weights (``weights_choice``) and the
device: the CUDA GPU's name and memory, or plainly that the run will use the CPU, with roughly how
long the run takes, measured on this machine on the project's own photos (``speed_estimate``).
Fine-tuning a model with other categories keeps the class rows of categories with the same name;
a new category gets a new row.
"""
from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from core.project.active_model import active_model_id
from core.project.training_set import held_out, training_images
from core.training.config import DEFAULT_PRESET, PRESETS, STAGES, TrainConfig
from core.training.start import IMAGENET_PRESET, class_rows_by_name
from gui.session.project_session import ProjectSession
from gui.training.controller import TrainRequest
from gui.training.speed_estimate import SpeedEstimate, SpeedSample, estimate_words
from gui.training.weights_choice import (FILE_KINDS, INIT_FEATURES, INIT_MODEL, INIT_NONE, INIT_NOTES,
                                         INIT_SHIPPED, INIT_WORDS, shipped_model)
from gui.workers.base import TaskRunner

STAGE_WORDS = {"detection": "Detection (classes and boxes; mask head frozen)",
               "masks": "Masks (detector frozen; mask head only)",
               "joint": "Joint (everything at once)",
               "detection+masks": "Both stages, one after the other (detection, then masks)"}


def _preset_tip(name: str, cfg: TrainConfig) -> str:
    return (f"{name}: model {cfg.model_preset}, stage {cfg.stage}, {cfg.epochs} epochs, "
            f"{cfg.min_size}-{cfg.max_size} px, batch {cfg.batch_size}, learning rate {cfg.lr:g}")


class TrainDialog(QDialog):
    """``request()`` gives the ``TrainRequest`` once accepted. ``measure=False`` skips the speed
    measurement (tests). ``estimate`` is the last speed measurement (None: none yet, or outdated)."""

    def __init__(self, session: ProjectSession, runner: TaskRunner, parent: QWidget | None = None,
                 measure: bool = True):
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.setObjectName("trainDialog")
        self.session, self.runner, self.measure = session, runner, measure
        project = session.current_project()  # the dialog is offered only while a project is open
        self.images = training_images(project)
        self.models = [m for m in project.models.list() if m.checkpoint_exists]
        self.project_keys = sorted((c.id, bool(c.isthing)) for c in session.categories)
        self.shipped = shipped_model(session.categories)
        self.active_id = active_model_id(project)

        # photos
        self.photos_label = QLabel()
        self.photos_label.setWordWrap(True)
        # recipe
        self.preset = QComboBox()
        for name, cfg in PRESETS.items():
            model = "" if cfg.model_preset == name else f"{cfg.model_preset} model, "
            self.preset.addItem(f"{name}  —  {model}{cfg.epochs} epochs, {cfg.max_size} px", name)
            self.preset.setItemData(self.preset.count() - 1, _preset_tip(name, cfg), Qt.ItemDataRole.ToolTipRole)
        self.stage = QComboBox()
        for s in STAGES:
            self.stage.addItem(STAGE_WORDS.get(s, s), s)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 10_000)
        self.mask_epochs = QSpinBox()
        self.mask_epochs.setRange(1, 9_999)
        self.mask_epochs.setToolTip("Of all the epochs, how many the second (masks) stage gets")
        self.image_size = QSpinBox()
        self.image_size.setRange(64, 2048)
        self.image_size.setSingleStep(32)
        self.image_size.setSuffix(" px")
        self.image_size.setToolTip("The longer side of the photos during training (random sizes a little below it "
                             "too); larger sees thinner cracks but is slower and needs more memory")
        self.budget = QSpinBox()
        self.budget.setRange(0, 100_000)
        self.budget.setSuffix(" min")
        self.budget.setSpecialValueText("none (the epochs say how long)")
        self.budget.setToolTip("Train for this long: the epochs no longer count, the learning rate follows the time, "
                               "and the last epoch is cut there, evaluated and saved. With both stages one after "
                               "the other, the run stops at this limit instead")
        self.batch = QSpinBox()
        self.batch.setRange(1, 256)
        self.batch.setToolTip("Photos per training step; lower it when memory runs out")
        # initial weights
        self.init = QComboBox()
        for key, words in INIT_WORDS.items():
            if (key != INIT_MODEL or self.models) and (key != INIT_SHIPPED or self.shipped is not None):
                self.init.addItem(words, key)
        self.init_file = QLineEdit()
        self.init_file.setPlaceholderText("a .pth / .pt file")
        self.browse = QPushButton("Browse…")
        self.init_model = QComboBox()
        for m in reversed(self.models):
            self.init_model.addItem(m.name + ("  (active)" if m.id == self.active_id else ""), m.id)
        self.init_model.setCurrentIndex(max(self.init_model.findData(self.active_id), 0))
        self.new_head = QCheckBox("Fine-tune with a new class head (its categories differ from the project's)")
        self.new_head.setToolTip("Rows of categories with the same name are kept; new categories start fresh")
        self.new_head.setChecked(True)
        self.init_note = QLabel()
        self.init_note.setWordWrap(True)
        # device
        self.device_label = QLabel("Checking the device…")
        self.device_label.setWordWrap(True)
        self.estimate_label = QLabel("")
        self.estimate_label.setWordWrap(True)
        # Room for the estimate's three lines from the start: the dialog does not grow when a
        # measurement ends, and a wrapped label would be cut off.
        self.estimate_label.setMinimumHeight(4 * self.estimate_label.fontMetrics().lineSpacing())
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("automatic")
        self.threads.setToolTip("CPU threads for the training (automatic: one per core). On a machine busy with "
                                "other work, fewer can be faster")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #dc2626;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.start_button.setText("Start training")

        photos = QGroupBox("Photos")
        QVBoxLayout(photos).addWidget(self.photos_label)
        recipe = QGroupBox("Recipe")
        form = QFormLayout(recipe)
        form.addRow("Preset", self.preset)
        form.addRow("Stage", self.stage)
        form.addRow("Epochs", self.epochs)
        form.addRow("Masks stage epochs", self.mask_epochs)
        form.addRow("Time budget", self.budget)
        form.addRow("Image size", self.image_size)
        form.addRow("Batch size", self.batch)
        self._recipe_form = form
        weights = QGroupBox("Initial weights")
        wform = QFormLayout(weights)
        wform.addRow("Start from", self.init)
        file_row = QHBoxLayout()
        file_row.addWidget(self.init_file, 1)
        file_row.addWidget(self.browse)
        self.file_row = QWidget()
        self.file_row.setLayout(file_row)
        file_row.setContentsMargins(0, 0, 0, 0)
        wform.addRow("File", self.file_row)
        wform.addRow("Model", self.init_model)
        wform.addRow(self.new_head)
        wform.addRow(self.init_note)
        self._weights_form = wform
        device = QGroupBox("Device")
        dform = QFormLayout(device)
        dform.addRow(self.device_label)
        dform.addRow(self.estimate_label)
        dform.addRow("CPU threads", self.threads)
        lay = QVBoxLayout(self)
        for w in (photos, recipe, weights, device):
            lay.addWidget(w)
        lay.addWidget(self.problem)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(560)

        self.speed = SpeedEstimate(runner, self._speed_sample, self.device_label, self.estimate_label, measure, self)
        self.speed.measured.connect(self._measured)
        self.preset.currentIndexChanged.connect(self._preset_changed)
        self.stage.currentIndexChanged.connect(self._sync)
        self.init.currentIndexChanged.connect(self._sync)
        self.init_model.currentIndexChanged.connect(self._sync)
        for spin in (self.epochs, self.mask_epochs, self.batch, self.budget):
            spin.valueChanged.connect(self._sync)
        for spin in (self.image_size, self.threads):
            spin.valueChanged.connect(self._sync)
        # What a step costs depends on these (epochs and photos only multiply it: no new measurement).
        for spin in (self.image_size, self.threads, self.batch):
            spin.valueChanged.connect(lambda _v: self.speed.schedule())
        for combo in (self.preset, self.init, self.init_model):
            combo.currentIndexChanged.connect(lambda _i: self.speed.schedule())
        self.init_file.textChanged.connect(self._sync)
        self.browse.clicked.connect(self._browse)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.finished.connect(lambda _r: self.speed.stop())
        self.preset.setCurrentIndex(max(self.preset.findData(DEFAULT_PRESET), 0))
        self.init.setCurrentIndex(max(self.init.findData(self.default_start()), 0))
        self.init.currentIndexChanged.connect(self._init_changed)
        self._preset_changed()
        self.speed.schedule(0)

    # --- where to start -----------------------------------------------------------------------------
    def default_start(self) -> str:
        """The project's active model, else the shipped one, else random weights."""
        if self.models and self.active_id is not None:
            return INIT_MODEL
        return INIT_SHIPPED if self.shipped is not None else INIT_NONE

    def _init_changed(self, *_args) -> None:
        # ImageNet features come with one preset's backbone: choosing them chooses it.
        if self.init.currentData() == INIT_FEATURES:
            self.preset.setCurrentIndex(max(self.preset.findData(IMAGENET_PRESET), 0))

    def _rows_note(self, stored) -> str:
        rows = class_rows_by_name(stored, self.session.categories)
        new = [c.name for c, j in zip(self.session.categories, rows) if j is None]
        if not new:
            return ""
        kept = [c.name for c, j in zip(self.session.categories, rows) if j is not None]
        return (f" What it learnt of {', '.join(kept)} is kept (by name); new rows for: {', '.join(new)}."
                if kept else f" New rows for every category: {', '.join(new)}.")

    # --- presets and consistency ------------------------------------------------------------------
    def _preset_changed(self, *_args) -> None:
        cfg = PRESETS[self.preset.currentData()]
        self.stage.setCurrentIndex(max(self.stage.findData(cfg.stage), 0))
        self.epochs.setValue(cfg.epochs)
        self.mask_epochs.setValue(cfg.mask_epochs if cfg.mask_epochs < cfg.epochs else max(1, cfg.epochs // 4))
        self.image_size.setValue(cfg.max_size)
        self.batch.setValue(cfg.batch_size)
        self.budget.setValue(int(math.ceil(cfg.max_minutes)))
        self.threads.setValue(cfg.cpu_threads)
        self._sync()

    def _sync(self, *_args) -> None:
        both = self.stage.currentData() == "detection+masks"
        self._recipe_form.setRowVisible(self.mask_epochs, both)
        # A run that lasts its budget has no epoch count (the two-stage recipe counts its stages in epochs).
        self.epochs.setEnabled(not self.budget.value() or both)
        kind = self.init.currentData()
        self._weights_form.setRowVisible(self.file_row, kind in FILE_KINDS)
        self._weights_form.setRowVisible(self.init_model, kind == INIT_MODEL)
        differ = kind == INIT_MODEL and self._chosen_model() is not None and \
            sorted((c.id, bool(c.isthing)) for c in self._chosen_model().categories) != self.project_keys
        self._weights_form.setRowVisible(self.new_head, differ)
        note = INIT_NOTES.get(kind, "")
        if kind == INIT_MODEL and self._chosen_model() is not None:
            note += self._rows_note(self._chosen_model().categories)
        elif kind == INIT_SHIPPED and self.shipped is not None:
            note += self._rows_note(self.shipped[1])
        self.init_note.setText(note)
        self._show_photos()
        self._show_estimate()
        problem = self._problem()
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        self.start_button.setEnabled(not problem)

    def _chosen_model(self):
        model_id = self.init_model.currentData()
        return next((m for m in self.models if m.id == model_id), None)

    def split(self) -> tuple[int, int, bool]:
        """``(train, validation, validation is the project's val split)``."""
        n_train, n_val = len(self.images.train), len(self.images.val)
        if n_val:
            return n_train, n_val, True
        cfg = PRESETS[self.preset.currentData()]
        n_val = held_out(n_train, cfg.val_fraction) if cfg.eval_every > 0 else 0
        return n_train - n_val, n_val, False

    def _show_photos(self) -> None:
        total = len(self.images)
        n_train, n_val, from_split = self.split()
        if total == 0:
            text = ("No annotated photos yet. Annotate some (status “in progress” or “done”), then train. "
                    "Photos in the test split never train.")
        else:
            how = ("the photos in the val split" if from_split else
                   f"held out at random, {PRESETS[self.preset.currentData()].val_fraction:.0%}")
            done = sum(r.status == "done" for r in self.images.train + self.images.val)
            state = f"{done} done" + (f", {total - done} in progress" if total - done else "")
            text = (f"{total} annotated photo{'s' if total != 1 else ''} ({state}): <b>{n_train}</b> for training, "
                    f"<b>{n_val}</b> for validation ({how}).")
        if self.images.skipped:
            text += f"<br>{len(self.images.skipped)} left out: not found on disk (e.g. {self.images.skipped[0]})."
        self.photos_label.setText(text)

    def _problem(self) -> str:
        if len(self.images) == 0:
            return "There is nothing to train on yet."
        kind = self.init.currentData()
        if kind in FILE_KINDS:
            path = self.init_file.text().strip()
            if not path:
                return "Choose the file of initial weights."
            if not Path(path).is_file():
                return f"No such file: {path}"
        if kind == INIT_MODEL and self._chosen_model() is None:
            return "Choose a model of this project."
        if kind == INIT_FEATURES and PRESETS[self.preset.currentData()].model_preset != IMAGENET_PRESET:
            return f"ImageNet features come with the {IMAGENET_PRESET} preset's backbone."
        try:
            self.config()
        except ValueError as e:
            return str(e).removeprefix("invalid training config: ")
        return ""

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Initial weights", self.init_file.text() or str(Path.home()),
                                              "Weights (*.pth *.pt *.bin);;All files (*)")
        if path:
            self.init_file.setText(path)

    # --- the result -------------------------------------------------------------------------------
    def config(self) -> TrainConfig:
        """The ``TrainConfig`` of the current choices (``ValueError`` when they do not fit)."""
        base = PRESETS[self.preset.currentData()]
        size = self.image_size.value()
        min_size = max(32, int(round(size * base.min_size / base.max_size / 32)) * 32)
        changes = dict(stage=self.stage.currentData(), epochs=self.epochs.value(), batch_size=self.batch.value(),
                       max_size=size, min_size=min(min_size, size), cpu_threads=self.threads.value(),
                       max_minutes=float(self.budget.value()))
        # As the command line's --max-minutes without --epochs: the run lasts the budget.
        changes["follow_budget"] = self.budget.value() > 0 and changes["stage"] != "detection+masks"
        if base.eval_size:  # a preset that evaluates at its own size keeps it in proportion
            changes["eval_size"] = max(32, int(round(size * base.eval_size / base.max_size / 32)) * 32)
        if changes["stage"] == "detection+masks":
            changes["mask_epochs"] = self.mask_epochs.value()
        kind = self.init.currentData()
        if kind == INIT_NONE:  # random: nothing read, not even cached ImageNet weights
            changes.update(init_weights="", init_kind="none")
        elif kind == INIT_FEATURES:
            changes.update(init_weights="", init_kind="imagenet")
        elif kind == INIT_SHIPPED and self.shipped is not None:
            changes.update(init_weights=str(self.shipped[0]), init_kind="checkpoint", new_class_head=True)
        elif kind in FILE_KINDS:
            changes.update(init_weights=self.init_file.text().strip(), init_kind=kind)
        elif kind == INIT_MODEL and self._chosen_model() is not None:
            changes.update(init_weights=str(self._chosen_model().checkpoint), init_kind=INIT_MODEL,
                           new_class_head=self.new_head.isVisibleTo(self) and self.new_head.isChecked())
        return base.replace(**changes)

    def request(self) -> TrainRequest:
        model = self._chosen_model() if self.init.currentData() == INIT_MODEL else None
        config = model.config if model is not None and "backbone" in model.config else None
        return TrainRequest(self.config(), self.preset.currentData(), config)

    def _accept(self) -> None:
        problem = self._problem()
        if problem:
            self.problem.setText(problem)
            self.problem.show()
            return
        self.accept()

    # --- device and speed -------------------------------------------------------------------------
    @property
    def estimate(self):
        """The last speed measurement (``core.training.estimate.RunEstimate``), or None."""
        return self.speed.estimate

    def _speed_sample(self) -> SpeedSample | None:
        """What the speed measurement times for the current choices (None: nothing to train)."""
        from core.training.estimate import SAMPLE_PHOTOS

        if self._problem() or not len(self.images):
            return None
        request = self.request()
        return SpeedSample(str(self.session.current_project().path), request.config.to_dict(), request.model_config,
                           min(SAMPLE_PHOTOS, len(self.images.train) or len(self.images)), self.image_size.value())

    def _measured(self, result) -> None:
        self.threads.setEnabled(result.device.kind == "cpu")
        self._show_estimate()

    def run_seconds(self) -> float:
        """The run's estimated length for the current choices (NaN before a measurement)."""
        from core.training.estimate import run_seconds

        est = self.speed.estimate
        if est is None:
            return math.nan
        try:
            cfg = self.config()
        except ValueError:
            return math.nan
        n_train, n_val, _ = self.split()
        return run_seconds(est, n_train, n_val if cfg.eval_every > 0 else 0, epochs=cfg.epochs,
                           batch_size=cfg.batch_size, eval_every=cfg.eval_every, max_minutes=cfg.max_minutes,
                           follow_budget=cfg.follow_budget)

    def _show_estimate(self) -> None:
        est, total = self.speed.estimate, self.run_seconds()
        if est is None or not math.isfinite(total):
            return
        n_train, n_val, _ = self.split()
        self.estimate_label.setText(estimate_words(est, self.config(), total, n_train, n_val))
