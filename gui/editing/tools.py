"""Canvas tools: what a mouse gesture on the photo does.

Each tool turns gestures into ``core.editing`` operations on the current ``AnnotationDocument``
and pushes exactly one undo step per gesture (a stroke, a polygon, a fill, a click). The view
(``PhotoView``) handles zoom and pan itself and hands everything else to the active tool.

Tools reach the document, the photo and the settings through a ``ToolContext`` (implemented by
``gui.editing.editing_controller.EditingController``), so they hold no window state of their own.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainterPath, QPen, QWheelEvent
from PySide6.QtWidgets import QGraphicsPathItem

from core.editing import EMPTY_BOX, Stroke
from core.panoptic import Segment

if TYPE_CHECKING:
    from gui.canvas.photo_view import PhotoView
    from gui.editing.document import AnnotationDocument
    from gui.editing.tool_settings import ToolSettings
    from gui.workers.base import TaskRunner



def preview_pen() -> QPen:
    """The outline of a shape being drawn (a polygon, a box): white dashes one screen pixel wide
    at any zoom."""
    pen = QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine)
    pen.setCosmetic(True)
    return pen

class ToolContext(Protocol):
    settings: ToolSettings
    runner: TaskRunner  # for work that may take longer than a frame

    @property
    def document(self) -> AnnotationDocument | None: ...

    def photo_rgb(self) -> np.ndarray | None:
        """Full-resolution ``[H, W, 3]`` uint8 pixels, or None while the photo loads."""

    def stroke_started(self, target: Segment | None) -> None: ...

    def stroke_ended(self) -> None: ...

    def message(self, text: str) -> None: ...

    def flood_fill(self, x: float, y: float, over_defects: bool = False) -> None: ...

    def edit(self, what: str, op, pixels: int = 0, select_new: bool = False, traces=None) -> None:
        """Apply ``op(editor) -> Edit`` as one undo step (large ones off the GUI thread);
        ``traces() -> {segment id: traces}``: the crack tracer's waypoints in the same step."""


class Tool:
    """Base: ignores everything. ``name`` is the action's text; ``key`` its shortcut."""

    name = "Tool"
    key = ""
    icon = "mdi6.cursor-default"
    tip = ""
    shows_brush = False
    pans = False
    cursor_shape = Qt.CursorShape.ArrowCursor

    def __init__(self, context: ToolContext):
        self.ctx = context
        self.view: PhotoView | None = None

    def activate(self, view: PhotoView) -> None:
        self.view = view

    def deactivate(self) -> None:
        self.cancel()
        self.view = None

    def cancel(self) -> None:
        """Drop a gesture in progress (Escape, switching tools or photos)."""

    def press(self, pos: QPointF, event: QMouseEvent) -> bool:
        return False

    def move(self, pos: QPointF, event: QMouseEvent) -> bool:
        return False

    def release(self, pos: QPointF, event: QMouseEvent) -> bool:
        return False

    def double_click(self, pos: QPointF, event: QMouseEvent) -> bool:
        return False

    def claims_key(self, event: QKeyEvent) -> bool:
        """Whether this key belongs to the gesture in progress rather than to a window shortcut."""
        return False

    def wheel(self, event: QWheelEvent) -> bool:
        """A plain wheel turn; True when the tool used it (the view zooms otherwise)."""
        return False

    def key_press(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return True
        return False

    def _target(self) -> Segment | None:
        """The segment the active category paints into, or None (with a message) if none."""
        doc, cat = self.ctx.document, self.ctx.settings.category_id
        if doc is None:
            return None
        if doc.read_only or doc.busy:
            self.ctx.message(doc.read_only or "Still working on the last edit…")
            return None
        if cat is None or cat not in doc.categories:
            self.ctx.message("Choose a category first (number keys 1-9 or the Categories panel).")
            return None
        return doc.editor.paint_target(cat, self.ctx.settings.instance_mode, doc.primary)


class PanTool(Tool):
    name, key, icon, tip = "Pan", "H", "mdi6.hand-back-right-outline", "Drag to move the photo"
    pans = True
    cursor_shape = Qt.CursorShape.OpenHandCursor


class SelectTool(Tool):
    name, key, icon = "Select", "V", "mdi6.cursor-default-click-outline"
    tip = "Click a segment to select it; Ctrl+click adds to the selection"

    def press(self, pos, event):
        doc = self.ctx.document
        if doc is None or event.button() != Qt.MouseButton.LeftButton:
            return False
        seg = doc.segment_at(math.floor(pos.x()), math.floor(pos.y()))
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            ids = list(doc.selected)
            if seg in ids:
                ids.remove(seg)
            elif seg:
                ids.append(seg)
            doc.select(ids)
        else:
            doc.select([seg] if seg else [])
        return True


class BrushTool(Tool):
    """Paints the active category (right button: erases). One stroke = one undo step."""

    name, key, icon = "Brush", "B", "mdi6.brush"
    tip = "Paint the active category; [ and ] or Shift+wheel change the size; right button erases"
    shows_brush = True
    cursor_shape = Qt.CursorShape.CrossCursor
    erases = False

    def __init__(self, context):
        super().__init__(context)
        self._stroke: Stroke | None = None

    def press(self, pos, event):
        doc = self.ctx.document
        if doc is None or self._stroke is not None:
            return doc is not None
        button = event.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return False
        if doc.read_only or doc.busy:
            self.ctx.message(doc.read_only or "Still working on the last edit…")
            return True
        erase = self.erases or button == Qt.MouseButton.RightButton
        target = None if erase else self._target()
        if target is None and not erase:
            return True
        name = "Eraser stroke" if erase else f"Paint {doc.categories.by_id(target.category_id).name}"
        self._stroke = doc.editor.begin_stroke(target, self.ctx.settings.brush_size,
                                               self.ctx.settings.paint_behind, name)
        doc.live = True
        self.ctx.stroke_started(target)
        doc.live_pixels(self._stroke.move_to(pos.x(), pos.y()))
        return True

    def move(self, pos, event):
        if self._stroke is None:
            return False
        self.ctx.document.live_pixels(self._stroke.move_to(pos.x(), pos.y()))
        return True

    def release(self, pos, event):
        if self._stroke is None:
            return False
        stroke, self._stroke = self._stroke, None
        doc = self.ctx.document
        doc.live = False
        edit = stroke.finish()
        self.ctx.stroke_ended()
        if edit is not None:
            doc.push(edit)
            if stroke.target is not None and stroke.target.id in doc.editor.segments:
                doc.select([stroke.target.id])
        return True

    def cancel(self):
        if self._stroke is not None:
            stroke, self._stroke = self._stroke, None
            doc = self.ctx.document
            box = stroke.cancel()
            if doc is not None:
                doc.live = False
                doc.live_pixels(box)
            self.ctx.stroke_ended()


class EraserTool(BrushTool):
    name, key, icon = "Eraser", "E", "mdi6.eraser"
    tip = "Erase to void; [ and ] or Shift+wheel change the size"
    erases = True


class _OutlineTool(Tool):
    """Shared by polygon and lasso: a preview path, then one fill."""

    cursor_shape = Qt.CursorShape.CrossCursor

    def __init__(self, context):
        super().__init__(context)
        self.points: list[tuple[float, float]] = []
        self._item: QGraphicsPathItem | None = None

    def _preview(self, hover: QPointF | None = None) -> None:
        if self.view is None:
            return
        if self._item is None:
            self._item = QGraphicsPathItem()
            self._item.setPen(preview_pen())
            self._item.setBrush(QColor(255, 255, 255, 40))
            self._item.setZValue(90)
            self.view.scene().addItem(self._item)
        path = QPainterPath()
        if self.points:
            path.moveTo(*self.points[0])
            for p in self.points[1:]:
                path.lineTo(*p)
            if hover is not None:
                path.lineTo(hover)
        self._item.setPath(path)

    def _clear(self) -> None:
        self.points = []
        if self._item is not None and self._item.scene() is not None:
            self._item.scene().removeItem(self._item)
        self._item = None

    def cancel(self):
        self._clear()

    def _fill(self) -> None:
        points, doc = list(self.points), self.ctx.document
        self._clear()
        if doc is None or len(points) < 3:
            return
        target = self._target()
        if target is None:
            return
        behind, mode, category = self.ctx.settings.paint_behind, self.ctx.settings.instance_mode, target.category_id
        name = f"{self.name} fill: {doc.categories.by_id(category).name}"
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        pixels = int((max(xs) - min(xs)) * (max(ys) - min(ys)))

        def op(ed):
            # The target is resolved when the edit runs (a background edit may run later).
            return ed.fill_polygon(points, ed.paint_target(category, mode, doc.primary), behind, name)

        self.ctx.edit(f"fill the {self.name.lower()}", op, pixels, select_new=True)


class PolygonTool(_OutlineTool):
    name, key, icon = "Polygon", "P", "mdi6.vector-polygon"
    tip = "Click the corners; double-click, Enter or a click on the first point fills; Esc cancels"

    def press(self, pos, event):
        if event.button() != Qt.MouseButton.LeftButton or self.ctx.document is None:
            return False
        p = (pos.x(), pos.y())
        if len(self.points) >= 3 and self.view is not None:
            first = self.view.mapFromScene(QPointF(*self.points[0]))
            here = self.view.mapFromScene(pos)
            if (first - here).manhattanLength() <= 8:  # clicked the first point: close
                self._fill()
                return True
        self.points.append(p)
        self._preview()
        return True

    def move(self, pos, event):
        if self.points:
            self._preview(pos)
            return True
        return False

    def double_click(self, pos, event):
        # The double-click's first press normally added this corner already; add it if not.
        if self.points and self.view is not None:
            last = self.view.mapFromScene(QPointF(*self.points[-1]))
            if (last - self.view.mapFromScene(pos)).manhattanLength() > 2:
                self.points.append((pos.x(), pos.y()))
        if len(self.points) >= 3:
            self._fill()
            return True
        return False

    def key_press(self, event):
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.points:
            self._fill()
            return True
        if event.key() == Qt.Key.Key_Backspace and self.points:
            self.points.pop()
            self._preview()
            return True
        return super().key_press(event)


class LassoTool(_OutlineTool):
    # Its handlers are shaped like the polygon's but build the outline another way (one drag, a
    # point per pixel moved, against a corner per click); what both do alike is ``_OutlineTool``.
    name, key, icon = "Lasso", "L", "mdi6.lasso"
    tip = "Drag around a region to fill it"

    def press(self, pos, event):
        if event.button() != Qt.MouseButton.LeftButton or self.ctx.document is None:
            return False
        self.points = [(pos.x(), pos.y())]
        self._preview()
        return True

    def move(self, pos, event):
        if not self.points:
            return False
        last = QPointF(*self.points[-1])
        # One point per screen pixel of movement is plenty and keeps the fill fast.
        if self.view is None or (self.view.mapFromScene(last) - self.view.mapFromScene(pos)).manhattanLength() >= 2:
            self.points.append((pos.x(), pos.y()))
            self._preview()
        return True

    def release(self, pos, event):
        if not self.points:
            return False
        self.points.append((pos.x(), pos.y()))
        self._fill()
        return True


class FloodFillTool(Tool):
    name, key, icon = "Fill similar colour", "G", "mdi6.format-color-fill"
    tip = ("Click to fill the connected region of similar colour and texture (tolerance in the tool bar); "
           "defects already painted are kept, Shift+click fills over them too")
    cursor_shape = Qt.CursorShape.PointingHandCursor

    def press(self, pos, event):
        if event.button() != Qt.MouseButton.LeftButton or self.ctx.document is None:
            return False
        over = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        self.ctx.flood_fill(pos.x(), pos.y(), over_defects=over)
        return True


ALL_TOOLS = (PanTool, SelectTool, BrushTool, EraserTool, PolygonTool, LassoTool, FloodFillTool)

__all__ = ["ALL_TOOLS", "BrushTool", "EMPTY_BOX", "EraserTool", "FloodFillTool", "LassoTool", "PanTool",
           "PolygonTool", "SelectTool", "Tool", "ToolContext"]
