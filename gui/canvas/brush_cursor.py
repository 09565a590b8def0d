"""The outline of the brush under the mouse: a circle of the brush size in image pixels, drawn
twice (dark, then light dashes) with cosmetic pens so it stays visible on any photo and zoom."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem


class BrushCursorItem(QGraphicsItem):
    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._diameter = 10.0
        self.setZValue(100)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setVisible(False)
        self._dark = QPen(QColor(0, 0, 0, 200), 0)
        self._dark.setCosmetic(True)
        self._light = QPen(QColor(255, 255, 255, 230), 0, Qt.PenStyle.DashLine)
        self._light.setCosmetic(True)

    @property
    def diameter(self) -> float:
        return self._diameter

    def set_diameter(self, diameter: float) -> None:
        if diameter != self._diameter:
            self.prepareGeometryChange()
            self._diameter = float(diameter)

    def move_to(self, pos: QPointF) -> None:
        self.setPos(pos)

    def boundingRect(self) -> QRectF:
        r = self._diameter / 2 + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        r = self._diameter / 2
        rect = QRectF(-r, -r, 2 * r, 2 * r)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(self._dark)
        painter.drawEllipse(rect)
        painter.setPen(self._light)
        painter.drawEllipse(rect)
