"""The photo on the canvas: an image pyramid drawn at the level that matches the zoom.

Scene coordinates are full-resolution image pixels, whatever is loaded: a quick preview first
(a few hundred kilobytes, decoded at reduced size), then the full pyramid. Painting picks the
coarsest level that still has at least one level pixel per screen pixel, so drawing cost follows
the viewport, not the photo: panning a 24-megapixel photo is as cheap as panning a small one.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem


def qimage_from_bgra(bgra: np.ndarray) -> QImage:
    """A QImage viewing ``[H, W, 4]`` uint8 BGRA memory (Format_RGB32 on little-endian); the
    array is kept alive on the image object."""
    h, w = bgra.shape[:2]
    img = QImage(bgra.data, w, h, bgra.strides[0], QImage.Format.Format_RGB32)
    img._keep = bgra  # type: ignore[attr-defined]  # a PySide object takes Python attributes; stubs do not say so
    return img


def build_pyramid(bgra: np.ndarray, min_side: int = 256) -> list[np.ndarray]:
    """``[level0, level1, ...]``, each half the previous (INTER_AREA), down to ``min_side``."""
    import cv2

    levels = [bgra]
    while max(levels[-1].shape[:2]) > min_side * 2:
        prev = levels[-1]
        h, w = (prev.shape[0] + 1) // 2, (prev.shape[1] + 1) // 2
        levels.append(cv2.resize(prev, (w, h), interpolation=cv2.INTER_AREA))
    return levels


class PhotoItem(QGraphicsItem):
    """Draws a photo of ``width`` x ``height`` pixels from the best loaded level."""

    def __init__(self, width: int, height: int, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._w, self._h = int(width), int(height)
        self._levels: list[QImage] = []  # finest first
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setZValue(0)

    @property
    def has_pixels(self) -> bool:
        return bool(self._levels)

    @property
    def full_resolution(self) -> bool:
        return bool(self._levels) and self._levels[0].width() == self._w

    def set_levels(self, images: list[QImage]) -> None:
        """Replace what is drawn (a preview is a one-level list)."""
        self._levels = sorted(images, key=lambda im: -im.width())
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._w, self._h)

    def _level_for(self, lod: float) -> QImage:
        # The coarsest level with at least one level pixel per screen pixel.
        best = self._levels[0]
        for img in self._levels:
            if img.width() / self._w >= lod * 0.999:
                best = img
        return best

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if not self._levels:
            return
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        img = self._level_for(lod)
        sx, sy = img.width() / self._w, img.height() / self._h
        r = option.exposedRect.intersected(self.boundingRect())
        if r.isEmpty():
            return
        # Whole source pixels only: a fractional source rect makes Qt resample the edge pixels
        # differently between frames, which shimmers while panning.
        x0, y0 = math.floor(r.left() * sx), math.floor(r.top() * sy)
        x1 = min(img.width(), math.ceil(r.right() * sx))
        y1 = min(img.height(), math.ceil(r.bottom() * sy))
        source = QRectF(x0, y0, x1 - x0, y1 - y0)
        target = QRectF(x0 / sx, y0 / sy, (x1 - x0) / sx, (y1 - y0) / sy)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, lod * (self._w / img.width()) < 1.0)
        painter.drawImage(target, img, source)
