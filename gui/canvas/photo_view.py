"""``PhotoView``: the canvas that shows one photo with its annotation and prediction overlays.

Scene coordinates are image pixels of the upright photo. The view owns zoom and pan and hands
every other mouse gesture to the active tool (``gui.editing.tools``):

* wheel / pinch: zoom about the cursor, smoothly; Shift+wheel: ``brushWheel`` (brush size)
* space + drag, middle-button drag: pan
* ``fit()`` / ``actual_size()``: zoom to the window / 100 %

The layers are items a caller puts in: ``PhotoItem`` (z 0), annotation ``AnnotationItem``
(z 10), prediction ``AnnotationItem`` (z 20, drawn as outlines), the brush outline (z 100).
"""
from __future__ import annotations

import math
from typing import cast

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QKeyEvent, QMouseEvent, QNativeGestureEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QFrame, QGestureEvent, QGraphicsScene, QGraphicsView, QPinchGesture, QWidget

from core.categories import CategorySet
from core.panoptic import PanopticAnnotation
from gui.canvas.annotation_item import AnnotationItem, ExpandedFrom
from gui.canvas.brush_cursor import BrushCursorItem
from gui.canvas.colour_table import OverlayStyle
from gui.canvas.photo_item import PhotoItem

MIN_ZOOM, MAX_ZOOM = 0.01, 40.0


class PhotoView(QGraphicsView):
    """Shows the layers of one photo; zoom and pan; mouse gestures go to ``tool``."""

    hovered = Signal(int, int)      # image pixel under the mouse, (-1, -1) outside
    zoomChanged = Signal(float)     # screen pixels per image pixel
    brushWheel = Signal(int)        # Shift+wheel steps (+ bigger, - smaller)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        self.setMouseTracking(True)
        # Panning is by space-drag, middle button or the hand tool; scroll bars only take room.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # Files dropped on the canvas go to the window (which adds them to the project).
        self.setAcceptDrops(False)
        self.viewport().setAcceptDrops(False)
        self.viewport().grabGesture(Qt.GestureType.PinchGesture)
        self.setBackgroundBrush(QColor(40, 42, 46))
        self.brush_cursor = BrushCursorItem()
        self.scene().addItem(self.brush_cursor)
        self.tool = None
        self._image_rect = QRectF()
        self._space = False
        self._panning: QPoint | None = None
        self._hovered_once = False  # the brush outline has a position only after a mouse move
        self._fitted = True
        self.photo_item: PhotoItem | None = None
        self.annotation_item: AnnotationItem | None = None
        self.prediction_item: AnnotationItem | None = None
        self._style = OverlayStyle()
        self._visible = {"annotation": True, "prediction": True}

    # --- content --------------------------------------------------------------------------------
    def set_image_size(self, width: int, height: int, fit: bool = True) -> None:
        """The photo's size in pixels (scene rect), then fit it to the window."""
        self._image_rect = QRectF(0, 0, width, height)
        # A margin lets the user pan an edge to the middle of the window (painting at the border).
        m = max(width, height) * 0.25
        self.scene().setSceneRect(self._image_rect.adjusted(-m, -m, m, m))
        if fit:
            self.fit()

    def image_rect(self) -> QRectF:
        return QRectF(self._image_rect)

    def clear(self) -> None:
        """No photo (e.g. an empty project)."""
        for item in (self.photo_item, self.annotation_item, self.prediction_item):
            if item is not None and item.scene() is self.scene():
                self.scene().removeItem(item)
        self.photo_item = self.annotation_item = self.prediction_item = None
        self._image_rect = QRectF()
        self.scene().setSceneRect(QRectF(0, 0, 1, 1))
        self.viewport().update()

    def show_photo(self, width: int, height: int) -> PhotoItem:
        """Start showing a photo of this size (pixels come with ``PhotoItem.set_levels``)."""
        self.clear()
        self.photo_item = PhotoItem(width, height)
        self.scene().addItem(self.photo_item)
        self.set_image_size(width, height)
        return self.photo_item

    def set_annotation(self, annotation: PanopticAnnotation | None, categories: CategorySet) -> AnnotationItem | None:
        if self.annotation_item is not None:
            self.scene().removeItem(self.annotation_item)
            self.annotation_item = None
        if annotation is not None:
            self.annotation_item = AnnotationItem(annotation, categories, self._style)
            self.annotation_item.setVisible(self._visible["annotation"])
            self.scene().addItem(self.annotation_item)
        return self.annotation_item

    def set_prediction(self, prediction: PanopticAnnotation | None, categories: CategorySet,
                       source: ExpandedFrom | None = None) -> AnnotationItem | None:
        """The model's prediction, drawn as outlines above the annotation (None removes it).
        ``source``: what its id map was expanded from; given for this and the prediction shown
        before (the confidence slider), only what looks different is coloured again."""
        item = self.prediction_item
        if prediction is not None and item is not None and item.swap_annotation(prediction, source):
            return item
        if self.prediction_item is not None:
            self.scene().removeItem(self.prediction_item)
            self.prediction_item = None
        if prediction is not None:
            self.prediction_item = AnnotationItem(prediction, categories, self._prediction_style())
            self.prediction_item.source = source
            self.prediction_item.setZValue(20)
            self.prediction_item.setVisible(self._visible["prediction"])
            self.scene().addItem(self.prediction_item)
        return self.prediction_item

    def _prediction_style(self) -> OverlayStyle:
        return OverlayStyle(opacity=self._style.opacity * 0.5, outlines=True, shade_instances=True,
                            outline_only=self._visible["annotation"])

    @property
    def overlay_style(self) -> OverlayStyle:
        return self._style

    def set_overlay_style(self, style: OverlayStyle) -> None:
        self._style = style
        if self.annotation_item is not None:
            self.annotation_item.set_style(style)
        if self.prediction_item is not None:
            self.prediction_item.set_style(self._prediction_style())

    def set_layer_visible(self, layer: str, visible: bool) -> None:
        """``layer`` is "annotation" or "prediction"."""
        self._visible[layer] = bool(visible)
        item = self.annotation_item if layer == "annotation" else self.prediction_item
        if item is not None:
            item.setVisible(bool(visible))
        if self.prediction_item is not None:
            # Alone, the prediction is filled; over the annotation, only its outlines show.
            self.prediction_item.set_style(self._prediction_style())

    def layer_visible(self, layer: str) -> bool:
        return self._visible[layer]

    # --- zoom -------------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, anchor_view: QPointF | None = None) -> None:
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        factor = zoom / self.zoom
        if abs(factor - 1.0) < 1e-9:
            return
        if anchor_view is not None:
            before = self.mapToScene(anchor_view.toPoint())
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
            self.scale(factor, factor)
            after = self.mapToScene(anchor_view.toPoint())
            delta = after - before
            self.translate(delta.x(), delta.y())
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        else:
            anchor = self.transformationAnchor()
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
            self.scale(factor, factor)
            self.setTransformationAnchor(anchor)
        self._fitted = False
        self.zoomChanged.emit(self.zoom)

    def zoom_by(self, factor: float, anchor_view: QPointF | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor_view)

    def fit(self) -> None:
        """The whole photo in the window."""
        if self._image_rect.isEmpty():
            return
        self.resetTransform()
        vp = self.viewport().rect()
        if vp.width() < 2 or vp.height() < 2:
            return
        s = min(vp.width() / self._image_rect.width(), vp.height() / self._image_rect.height()) * 0.98
        self.scale(s, s)
        self.centerOn(self._image_rect.center())
        self._fitted = True
        self.zoomChanged.emit(self.zoom)

    def actual_size(self) -> None:
        """One photo pixel per screen pixel, around the view centre."""
        self.set_zoom(1.0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    # --- events -----------------------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        # A key the active tool needs mid-gesture (Backspace, Enter) beats a window shortcut on the
        # same key: Backspace also deletes the selected segment.
        if (event.type() == QEvent.Type.ShortcutOverride and self.tool is not None
                and self.tool.claims_key(event)):
            event.accept()
            return True
        return super().event(event)

    def viewportEvent(self, event: QEvent) -> bool:
        # Qt hands the base type; event.type() says which subclass it is.
        if event.type() == QEvent.Type.Gesture:
            return self._gesture(cast(QGestureEvent, event))
        if event.type() == QEvent.Type.NativeGesture:
            ev = cast(QNativeGestureEvent, event)
            if ev.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
                self.zoom_by(1.0 + ev.value(), ev.position())
                return True
        return super().viewportEvent(event)

    def _gesture(self, event: QGestureEvent) -> bool:
        pinch = event.gesture(Qt.GestureType.PinchGesture)
        if isinstance(pinch, QPinchGesture):
            if pinch.changeFlags() & QPinchGesture.ChangeFlag.ScaleFactorChanged:
                centre = self.viewport().mapFromGlobal(pinch.centerPoint().toPoint())
                self.zoom_by(pinch.scaleFactor(), QPointF(centre))
            event.accept()
            return True
        return False

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            if delta:
                self.brushWheel.emit(1 if delta > 0 else -1)
            event.accept()
            return
        if self.tool is not None and not event.modifiers() and self.tool.wheel(event):
            event.accept()  # the tool took it (e.g. the region tool's tolerance while it previews)
            return
        if not delta and not event.pixelDelta().isNull():
            delta = event.pixelDelta().y() * 4  # touchpads: pixel deltas, finer
        if delta:
            # 120 units per notch; 2^(1/4) per notch feels smooth and reaches 100 % in a few steps.
            self.zoom_by(math.pow(2.0, delta / 480.0), event.position())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            self.brush_cursor.setVisible(False)
            event.accept()
            return
        if self.tool is not None and self.tool.key_press(event):
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._restore_cursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def _restore_cursor(self) -> None:
        shape = self.tool.cursor_shape if self.tool is not None else Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(QCursor(shape))
        self.brush_cursor.setVisible(self.tool is not None and self.tool.shows_brush and self.underMouse()
                                     and self._hovered_once)

    def set_tool(self, tool) -> None:
        if self.tool is not None:
            self.tool.deactivate()
        self.tool = tool
        if tool is not None:
            tool.activate(self)
        self._restore_cursor()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pan_tool = self.tool is not None and self.tool.pans
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and (self._space or pan_tool)):
            self._panning = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if self.tool is not None and self.tool.press(self.mapToScene(event.position().toPoint()), event):
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self._panning is not None:
            d = pos - self._panning
            self._panning = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - d.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - d.y())
            event.accept()
            return
        scene = self.mapToScene(pos)
        self._hover(scene)
        if self.tool is not None and self.tool.move(scene, event):
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._panning is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._panning = None
            if self._space:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self._restore_cursor()
            event.accept()
            return
        if self.tool is not None and self.tool.release(self.mapToScene(event.position().toPoint()), event):
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.tool is not None and self.tool.double_click(self.mapToScene(event.position().toPoint()), event):
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def _hover(self, scene: QPointF) -> None:
        self._hovered_once = True
        if self.tool is not None and self.tool.shows_brush and not self._space:
            self.brush_cursor.move_to(scene)
            self.brush_cursor.setVisible(True)
        x, y = math.floor(scene.x()), math.floor(scene.y())
        if self._image_rect.contains(QPointF(x + 0.5, y + 0.5)):
            self.hovered.emit(x, y)
        else:
            self.hovered.emit(-1, -1)

    def enterEvent(self, event) -> None:
        self._restore_cursor()
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:
        self.brush_cursor.setVisible(False)
        self.hovered.emit(-1, -1)
        super().leaveEvent(event)

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        super().drawBackground(painter, rect)
        if not self._image_rect.isEmpty():
            # A thin shadow frame so the photo edge is visible on dark or light photos.
            painter.fillRect(self._image_rect.adjusted(-1 / self.zoom, -1 / self.zoom, 1 / self.zoom,
                                                       1 / self.zoom), QColor(20, 20, 22))
