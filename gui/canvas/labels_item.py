"""Optional labels on the canvas: the category and segment number at each segment's top-left.

Positions come from ``scipy.ndimage.find_objects`` on a subsampled id map (about 1 megapixel),
recomputed shortly after edits, never per mouse move. Text is drawn at screen size whatever
the zoom.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject

from core.categories import CategorySet
from core.editing import DENSE_ID_LIMIT


def label_anchors(id_map: np.ndarray, segment_ids, max_pixels: int = 1_000_000) -> dict[int, tuple[float, float]]:
    """``{segment id: (x, y)}``: a pixel *on* each segment, in its box's middle row (for a thin
    crack the box's corner can be far from it), in full-resolution pixels. Computed on a
    subsample of about ``max_pixels``."""
    from scipy import ndimage

    h, w = id_map.shape
    step = max(1, int(math.ceil(math.sqrt(h * w / max_pixels))))
    small = id_map[::step, ::step]
    ids = sorted(segment_ids)
    if not ids or max(ids) >= DENSE_ID_LIMIT:
        return {}
    out = {}
    slices = ndimage.find_objects(small, max_label=max(ids))
    for i in ids:
        sl = slices[i - 1] if i - 1 < len(slices) else None
        if sl is None:
            continue
        ys, xs = sl
        for y in (ys.start + (ys.stop - ys.start) // 2, ys.start):
            hit = np.flatnonzero(small[y, xs] == i)
            if hit.size:
                out[i] = ((xs.start + hit[hit.size // 2]) * step, y * step)
                break
    return out


class LabelsItem(QGraphicsObject):
    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setZValue(50)
        self.setVisible(False)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._doc = None
        self._categories = CategorySet()
        self._anchors: dict[int, tuple[float, float]] = {}
        self._rect = QRectF()
        self._timer = QTimer(self)  # dies with the item
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self._recompute)

    def set_document(self, doc, categories: CategorySet) -> None:
        if self._doc is not None:
            try:
                self._doc.contentChanged.disconnect(self._timer.start)
            except (RuntimeError, TypeError):
                pass
        self._doc = doc
        self._categories = categories
        self.prepareGeometryChange()
        if doc is not None:
            h, w = doc.editor.shape
            self._rect = QRectF(0, 0, w, h)
            doc.contentChanged.connect(self._timer.start)
        else:
            self._rect = QRectF()
        self._anchors = {}
        if self.isVisible():
            self._recompute()

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemVisibleHasChanged and value:
            self._recompute()
        return super().itemChange(change, value)

    def _recompute(self) -> None:
        doc = self._doc
        if doc is None or not self.isVisible() or doc.live:
            return
        self._anchors = label_anchors(doc.editor.id_map, doc.editor.segments)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        doc = self._doc
        if doc is None or not self._anchors:
            return
        transform = painter.worldTransform()
        painter.save()
        painter.resetTransform()
        font = QFont(painter.font())
        font.setPointSizeF(9)
        font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(font)
        fm = QFontMetrics(font)
        for seg_id, (x, y) in self._anchors.items():
            seg = doc.editor.segments.get(seg_id)
            if seg is None or seg_id in doc.hidden:
                continue
            cat = self._categories.by_id(seg.category_id) if seg.category_id in self._categories else None
            text = f"{cat.name if cat else '?'} #{seg_id}"
            p = transform.map(QPointF(x, y))
            r = QRectF(p.x(), p.y() - fm.height() - 2, fm.horizontalAdvance(text) + 8, fm.height() + 2)
            colour = QColor(*cat.color) if cat else QColor(128, 128, 128)
            painter.fillRect(r, colour.darker(170))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()
