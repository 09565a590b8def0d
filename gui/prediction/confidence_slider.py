"""``ConfidenceSlider``: the confidence threshold of the shown prediction, and what survives it.

A horizontal slider in hundredths (0.30 … 0.99) with the value beside it and a label saying
how many segments the prediction keeps at that threshold ("7 segments · 9 candidates above 0.50").
Small marks above the groove show the prediction's score levels, where the result can change.
It only reports ``thresholdChanged(float)`` while the user drags; the prediction controller
re-thresholds off the GUI thread (debounced) and calls ``show_count`` with the answer.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPainter, QPalette, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QStyleOptionSlider, QWidget

STEPS = 100  # slider units per 1.0 of threshold
#: The longest texts the count label shows (``show_count``): its width is set from them.
WIDEST_COUNTS = ("888 segments · 8888 candidates above 0.88", "No prediction for this photo",
                 "0 segments: the best scores 0.88, lower the threshold to see it")
COUNT_TIP = ("Segments: what the photo shows at this threshold.\n"
             "Candidates: the model's guesses scoring above it. Where guesses overlap, each pixel goes to "
             "the likeliest; a guess left with few pixels is dropped, and the surface guesses of one class "
             "are merged into one segment, so there can be more candidates than segments.\n"
             "Moving the threshold re-draws the segments from the candidates left: a segment can grow when "
             "a guess that took part of its pixels drops out, so measure areas at the threshold you report.")


class LevelSlider(QSlider):
    """A slider that marks the prediction's score levels: the thresholds where what is shown can
    change (``PanopticPrediction.score_levels``), so the user sees where to stop."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.levels: list[float] = []

    def set_levels(self, levels: list[float]) -> None:
        self.levels = [float(v) for v in levels]
        self.update()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self.levels:
            return
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        style = self.style()
        groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, self)
        handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self)
        span = groove.width() - handle.width()
        painter = QPainter(self)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
        y = groove.top() - 1
        for level in self.levels:
            units = level * STEPS
            if not self.minimum() <= units <= self.maximum():
                continue
            x = (groove.left() + handle.width() / 2
                 + span * (units - self.minimum()) / max(1, self.maximum() - self.minimum()))
            painter.drawLine(int(round(x)), y - 3, int(round(x)), y)
        painter.end()


class ConfidenceSlider(QWidget):
    thresholdChanged = Signal(float)

    def __init__(self, minimum: float = 0.3, value: float = 0.5, parent: QWidget | None = None):
        super().__init__(parent)
        self.slider = LevelSlider()
        self.slider.setObjectName("confidenceSlider")
        self.slider.setRange(int(round(minimum * STEPS)), STEPS - 1)
        self.slider.setPageStep(5)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(10)
        self.slider.setToolTip("Minimum confidence of a predicted segment: the prediction is re-thresholded "
                               "at once, without running the model again")
        # Both labels change at every step of a drag: fixed widths (their widest text) keep the
        # groove, and the score ticks on it, still under the mouse.
        self.value_label = QLabel()
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.value_label.setFixedWidth(self.value_label.fontMetrics().horizontalAdvance("0.00") + 6)
        self.count_label = QLabel()
        self.count_label.setObjectName("segmentCount")
        self.count_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        widest = max(WIDEST_COUNTS, key=self.count_label.fontMetrics().horizontalAdvance)
        self.count_label.setToolTip(COUNT_TIP)
        self.count_label.setFixedWidth(self.count_label.fontMetrics().horizontalAdvance(widest) + 8)
        row = QHBoxLayout(self)  # one row: it sits in a bottom dock, where height is scarce
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Confidence"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_label)
        row.addSpacing(10)
        row.addWidget(self.count_label)
        self.slider.setValue(int(round(value * STEPS)))
        self._show_value(self.slider.value())
        self.slider.valueChanged.connect(self._moved)
        self.show_count(None)

    # --- value ------------------------------------------------------------------------------------
    def threshold(self) -> float:
        return self.slider.value() / STEPS

    def set_threshold(self, value: float, emit: bool = False) -> None:
        """Move the slider (clamped to its range); ``emit`` also reports it."""
        self.slider.blockSignals(not emit)
        self.slider.setValue(int(round(value * STEPS)))
        self.slider.blockSignals(False)
        self._show_value(self.slider.value())

    def set_levels(self, levels: list[float]) -> None:
        """Mark the thresholds where the shown prediction changes (empty: no prediction)."""
        self.slider.set_levels(levels)

    def set_minimum(self, minimum: float) -> None:
        """The lowest threshold the shown prediction was kept for (its ``min_threshold``)."""
        self.slider.setMinimum(int(round(minimum * STEPS)))

    def _moved(self, units: int) -> None:
        self._show_value(units)
        self.thresholdChanged.emit(units / STEPS)

    def _show_value(self, units: int) -> None:
        self.value_label.setText(f"{units / STEPS:.2f}")

    # --- what survives ----------------------------------------------------------------------------
    def show_count(self, segments: int | None, candidates: int | None = None) -> None:
        """``segments`` kept at the current threshold (None: no prediction for this photo)."""
        if segments is None:
            self.count_label.setText("No prediction for this photo")
            return
        text = f"{segments} segment{'s' if segments != 1 else ''}"
        best = max(self.slider.levels, default=None)
        if segments == 0 and not candidates and best is not None and best <= self.threshold():
            # Nothing on the photo only because of the threshold: say so rather than "0 segments".
            text += f": the best scores {best:.2f}, lower the threshold to see it"
        elif candidates is not None and candidates != segments:
            text += f" · {candidates} candidate{'s' if candidates != 1 else ''} above {self.threshold():.2f}"
        self.count_label.setText(text)

    def segments_shown(self) -> int | None:
        """The count on display (tests)."""
        text = self.count_label.text()
        return int(text.split()[0]) if text and text[0].isdigit() else None
