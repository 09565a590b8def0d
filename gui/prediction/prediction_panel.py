"""``PredictionPanel``: the dock that runs the active model and thresholds what it found.

    Model: crack-detector-v3   [This photo ▾] [Predict] [====   ] [x]       [Accept all] [Evaluate…]
    Confidence ─────────●──── 0.62   7 segments · 9 candidates above 0.62

Two rows, for the bottom dock area (shared with the other model panels, as tabs). The panel holds
no logic: it shows the ``ModelSource`` and the ``PredictController``'s state and calls them; the
slider is the ``ConfidenceSlider`` that ``LiveThreshold`` listens to.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QToolButton, QVBoxLayout,
                               QWidget)

from gui.shell.icons import bind
from gui.prediction.confidence_slider import ConfidenceSlider
from gui.prediction.predict_controller import SCOPES, PredictController


#: What the evaluation figure means, for the tooltip beside it.
PQ_EXPLAINED = ("PQ (panoptic quality, 0-100) = SQ × RQ, measured against your annotations: SQ is how well the "
                "segments it found overlap yours; RQ how many of your segments it found without false ones "
                "(a match: the overlap is more than half of the two segments together, IoU > 0.5).")


class PredictionPanel(QWidget):
    def __init__(self, controller: PredictController, slider: ConfidenceSlider, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("predictionPanel")
        self.controller = controller
        self.slider = slider
        self.model_label = QLabel()
        self.model_label.setTextFormat(Qt.TextFormat.RichText)
        self.scope = QComboBox()
        for key, text in SCOPES.items():
            self.scope.addItem(text, key)
        self.scope.setToolTip("Which photos to predict (select several in the photo list with Ctrl or Shift)")
        self.predict_button = QPushButton("Predict")
        bind(self.predict_button, "mdi6.robot-outline")
        self.predict_button.setToolTip("Run the active model on these photos in the background (Ctrl+R: this photo)")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setMaximumWidth(180)
        self.cancel_button = QToolButton()
        bind(self.cancel_button, "mdi6.close")
        self.cancel_button.setToolTip("Cancel the prediction (photos done so far keep theirs)")
        self.cancel_button.setAutoRaise(True)
        self.accept_button = QPushButton("Accept all")
        bind(self.accept_button, "mdi6.check-all")
        self.accept_button.setToolTip("Copy the predicted segments shown into the annotation (one undo step)")
        self.evaluate_button = QPushButton("Evaluate…")
        bind(self.evaluate_button, "mdi6.chart-box-outline")
        self.evaluate_button.setToolTip("PQ / SQ / RQ and box AP of a model on the annotated photos")

        top = QHBoxLayout()
        top.addWidget(self.model_label)
        top.addSpacing(12)
        top.addWidget(self.scope)
        top.addWidget(self.predict_button)
        top.addWidget(self.progress)
        top.addWidget(self.cancel_button)
        top.addStretch(1)
        top.addWidget(self.accept_button)
        top.addWidget(self.evaluate_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(slider)
        layout.addStretch(1)

        self.predict_button.clicked.connect(lambda: controller.predict(self.scope.currentData()))
        self.cancel_button.clicked.connect(controller.cancel)
        controller.busyChanged.connect(self._busy)
        controller.started.connect(self._started)
        self._busy(False)
        self.show_model(None, "")

    def show_model(self, model_id, name: str, provenance=None) -> None:
        """The active model's name, and with ``provenance`` (``core.report.provenance.ModelProvenance``)
        its evaluation on the project: a figure read off a model means little without it."""
        if model_id is None:
            self.model_label.setText("Model: <i>none yet</i>")
            self.model_label.setToolTip("Train a model on your annotated photos first; its predictions show here.")
        else:
            evaluated = "" if provenance is None else f" · {html.escape(provenance.evaluation_text())}"
            self.model_label.setText(f"Model: <b>{html.escape(name)}</b>{evaluated}")
            tip = "The active model: predictions and the slider use it."
            if provenance is not None and provenance.evaluation is not None:
                tip += f"\n{PQ_EXPLAINED}"
            reason = None if provenance is None else provenance.absence_reason()
            if reason:
                tip += f"\nWhere it finds no defect, that proves nothing: {reason}."
            self.model_label.setToolTip(tip)
        self.predict_button.setEnabled(model_id is not None and not self.controller.busy)

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.predict_button.setEnabled(not busy and self.controller.models.model_id is not None)
        self.scope.setEnabled(not busy)

    def _started(self, task) -> None:
        self.progress.setRange(0, 0)
        self.progress.setFormat("loading the model")
        task.signals.progress.connect(self._progress)

    def _progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total}")
        self.progress.setToolTip(message)
