"""``MeasurementTips``: a tooltip with the figures of the segment under the mouse on the canvas.

The window's status bar already names the category under the cursor (``MainWindow._hover``);
this adds the measurements, as a tooltip that appears when the mouse rests on a segment for a
moment (never while a button is down: painting is not interrupted). The text is
``core.measure.format_measurement``'s, in mm when the photo is calibrated; while the figures are
being recomputed after an edit the tooltip says so rather than show stale numbers as current.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, Qt, QTimer
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication, QToolTip

from core.measure import Measurement, format_measurement
from core.measure.exposure import WidthLimit
from core.calibration import Calibration
from gui.canvas.photo_view import PhotoView
from gui.measure.measurer import SOURCE_PREDICTION, PhotoMeasurer

#: How long the mouse rests on a segment before its tooltip appears (ms).
REST_MS = 450


class MeasurementTips(QObject):
    def __init__(self, view: PhotoView, measurer: PhotoMeasurer, calibration: Callable[[], Calibration | None],
                 parent: QObject | None = None, rest_ms: int = REST_MS):
        super().__init__(parent)
        self.view = view
        self.measurer = measurer
        self.calibration = calibration
        #: The project's tolerable crack width (``core.measure.exposure``), set by the window.
        self.width_limit: Callable[[], WidthLimit | None] = lambda: None
        self.enabled = True
        self.segment_id = 0
        self.last_text = ""
        self._pos = (-1, -1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(rest_ms)
        self._timer.timeout.connect(self._show)
        view.hovered.connect(self.hovered)

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        if not on:
            self._hide()

    # --- what is under the mouse -----------------------------------------------------------------
    def segment_at(self, x: int, y: int) -> int:
        """The id of the measured layer's segment at pixel (x, y); 0 for none."""
        if x < 0 or y < 0:
            return 0
        controller = self.measurer.controller
        if self.measurer.source == SOURCE_PREDICTION:
            pred = controller.prediction
            if pred is None or not (0 <= y < pred.shape[0] and 0 <= x < pred.shape[1]):
                return 0
            return int(pred.id_map[y, x])
        doc = controller.document
        return doc.segment_at(x, y) if doc is not None else 0

    def measurement(self, segment_id: int) -> Measurement | None:
        figures = self.measurer.figures
        if figures is None or not segment_id:
            return None
        m = figures.by_segment().get(segment_id)
        return None if m is None else m.with_calibration(self.calibration())

    def text_at(self, x: int, y: int) -> str:
        """The tooltip for pixel (x, y): "" over void or before the first figures arrive."""
        seg = self.segment_at(x, y)
        m = self.measurement(seg)
        if m is None:
            return "Measuring…" if seg and self.measurer.busy else ""
        text = format_measurement(m, self.width_limit())
        if self.measurer.busy:
            text += "\n(updating after the last edit…)"
        return text

    # --- showing ---------------------------------------------------------------------------------
    def hovered(self, x: int, y: int) -> None:
        seg = self.segment_at(x, y)
        if seg != self.segment_id:
            self.segment_id = seg
            self._hide()
        self._pos = (x, y)
        if self.enabled and seg:
            self._timer.start()

    def _show(self) -> None:
        if not self.enabled or QApplication.mouseButtons() != Qt.MouseButton.NoButton or not self.segment_id:
            return
        doc = self.measurer.controller.document
        if doc is not None and doc.live:
            return
        text = self.text_at(*self._pos)
        if not text:
            return
        self.last_text = text
        vp = self.view.viewport()
        pos = QCursor.pos() if vp.underMouse() else vp.mapToGlobal(QPoint(vp.width() // 2, vp.height() // 2))
        QToolTip.showText(pos + QPoint(16, 16), text, vp)

    def _hide(self) -> None:
        self._timer.stop()
        if self.last_text:
            QToolTip.hideText()
            self.last_text = ""
