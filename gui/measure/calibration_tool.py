"""``CalibrationTool``: draw a line over something of known length on the photo.

Press, drag, release: the line follows the mouse with its length in pixels beside it (Shift
keeps it horizontal, vertical or at 45°). On release the tool hands the two end points, in
pixels of the upright photo (the frame the masks are in), to ``on_line(p0, p1)``; the window
then asks for the length (``calibration_dialogs.LineLengthDialog``). Esc drops the line. While
the tool is active, the photo's saved reference line (if its scale came from one) is drawn dashed
with its length, so the user can check it before drawing another.

It never edits the annotation, so it works on read-only projects too (saving the scale is what
a read-only project refuses, with the reason).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QPointF, Qt
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsSimpleTextItem

from core.calibration import METHOD_LINE, Calibration
from gui.editing.tools import Tool

if TYPE_CHECKING:
    from gui.canvas.photo_view import PhotoView

Point = tuple[float, float]


class CalibrationTool(Tool):
    name, key, icon = "Calibrate (reference line)", "K", "mdi6.ruler"
    tip = "Drag along something of known length (scale bar, rule, rebar) and type its length"
    cursor_shape = Qt.CursorShape.CrossCursor

    def __init__(self, context, on_line: Callable[[Point, Point], None],
                 reference: Callable[[], Calibration | None] = lambda: None):
        super().__init__(context)
        self.on_line = on_line
        self.reference = reference
        self.start: QPointF | None = None
        self._line: QGraphicsLineItem | None = None
        self._text: QGraphicsSimpleTextItem | None = None
        self._ref_items: list = []

    def activate(self, view) -> None:
        super().activate(view)
        self.show_reference(self.reference())

    def deactivate(self) -> None:
        self._clear_reference()
        super().deactivate()

    def show_reference(self, calibration: Calibration | None) -> None:
        """Draw the saved reference line of ``calibration`` (dashed), or nothing."""
        self._clear_reference()
        if self.view is None or calibration is None or calibration.method != METHOD_LINE:
            return
        d = calibration.detail
        try:
            p0, p1 = QPointF(*map(float, d["p0"])), QPointF(*map(float, d["p1"]))
            label = f"{float(d['length']):g} {d.get('unit', 'mm')}"
        except (KeyError, TypeError, ValueError):
            return  # a scale stored by other means: nothing to draw
        line, text = self._items(QColor(120, 220, 255), Qt.PenStyle.DashLine)
        line.setLine(QLineF(p0, p1))
        text.setText(f"reference: {label}")
        text.setPos(self._beside(p1))
        self._ref_items = [line, text]

    # --- gestures --------------------------------------------------------------------------------
    def press(self, pos, event):
        if event.button() != Qt.MouseButton.LeftButton or self.view is None:
            return False
        if self.view.image_rect().isEmpty():
            return True
        self.start = self._clamp(pos)
        self._draw(self.start, self.start)
        return True

    def move(self, pos, event):
        if self.start is None:
            return False
        self._draw(self.start, self._end(self.start, pos, event))
        return True

    def release(self, pos, event):
        if self.start is None or event.button() != Qt.MouseButton.LeftButton:
            return self.start is not None
        p0, p1 = self.start, self._end(self.start, pos, event)
        self.start = None
        if QLineF(p0, p1).length() < 2.0:
            self._clear()
            self.ctx.message("Drag along the object of known length: the line was too short.")
            return True
        self.on_line((p0.x(), p0.y()), (p1.x(), p1.y()))
        return True

    def cancel(self):
        self.start = None
        self._clear()

    def clear_line(self) -> None:
        """Remove the drawn line (the length was entered or the dialog cancelled)."""
        self._clear()

    # --- drawing ---------------------------------------------------------------------------------
    def _view(self) -> PhotoView:
        assert self.view is not None, "the tool draws only while it is active in a view"
        return self.view

    def _clamp(self, pos: QPointF) -> QPointF:
        r = self._view().image_rect()
        return QPointF(min(max(pos.x(), r.left()), r.right()), min(max(pos.y(), r.top()), r.bottom()))

    def _end(self, start: QPointF, pos: QPointF, event) -> QPointF:
        end = self._clamp(pos)
        if event is not None and event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            d = end - start
            angle = round(math.atan2(d.y(), d.x()) / (math.pi / 4)) * (math.pi / 4)
            length = math.hypot(d.x(), d.y())
            end = self._clamp(start + QPointF(math.cos(angle) * length, math.sin(angle) * length))
        return end

    def _items(self, colour: QColor,
               style=Qt.PenStyle.SolidLine) -> tuple[QGraphicsLineItem, QGraphicsSimpleTextItem]:
        """A line and its label in the scene (removed by the caller)."""
        scene = self._view().scene()
        pen = QPen(colour, 2, style)
        pen.setCosmetic(True)  # the same width at every zoom
        line = QGraphicsLineItem()
        line.setPen(pen)
        line.setZValue(95)
        scene.addItem(line)
        text = QGraphicsSimpleTextItem()
        text.setBrush(colour)
        font = QFont()
        font.setBold(True)
        text.setFont(font)
        # Text the same size at every zoom, beside the end of the line.
        text.setFlag(QGraphicsSimpleTextItem.GraphicsItemFlag.ItemIgnoresTransformations)
        text.setZValue(96)
        scene.addItem(text)
        return line, text

    def _beside(self, point: QPointF) -> QPointF:
        k = 6 / max(self._view().zoom, 1e-6)
        return point + QPointF(k, k)

    def _draw(self, start: QPointF, end: QPointF) -> None:
        line, text = self._line, self._text
        if line is None or text is None:
            line, text = self._line, self._text = self._items(QColor(255, 214, 0))
        line.setLine(QLineF(start, end))
        text.setText(f"{QLineF(start, end).length():.1f} px")
        text.setPos(self._beside(end))

    @staticmethod
    def _remove(items) -> None:
        for item in items:
            if item is not None and item.scene() is not None:
                item.scene().removeItem(item)

    def _clear(self) -> None:
        self._remove((self._line, self._text))
        self._line = self._text = None

    def _clear_reference(self) -> None:
        self._remove(self._ref_items)
        self._ref_items = []

    @property
    def line(self) -> QLineF | None:
        """The line on the canvas (for tests and screenshots)."""
        return None if self._line is None else self._line.line()
