"""The region tool: a click grows a region of similar colour and texture; a dragged box GrabCuts.

* **Click**: the region around the click (``core.assist.RegionGrower``) is shown as a preview in
  the active category's colour. The wheel (or ``+`` / ``-``) changes the tolerance and the
  preview follows; Enter, a double-click or a click inside the preview commits it as one undo
  step; a click elsewhere starts over there; Esc drops it.
* **Drag a box**: GrabCut inside the box (``core.assist.grabcut_box``), previewed the same way.

Brush and eraser refine the result afterwards. The region is computed on a worker thread (the
first click of a photo a few hundred ms, a new tolerance less); while one runs, the newest
request waits and older ones are dropped, so turning the wheel fast never queues work.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsRectItem

from core.assist.region import RegionGrower, grabcut_box
from core.editing import mask_box
from gui.editing.assist_base import AssistTool
from gui.editing.tools import preview_pen

#: Screen pixels a press must move to become a box drag rather than a click.
DRAG_PX = 6
#: Tolerance factor per wheel notch (and per + / - key).
WHEEL_STEP = 1.15


class RegionTool(AssistTool):
    name, key, icon = "Region", "R", "mdi6.auto-fix"
    tip = ("Click inside a spall or stain: the region of similar colour and texture; wheel changes the "
           "tolerance, Enter or a click inside accepts; drag a box to GrabCut it")
    cursor_shape = Qt.CursorShape.PointingHandCursor
    what = "the region tool"

    def __init__(self, context):
        super().__init__(context)
        self._press: QPointF | None = None
        self._box_item: QGraphicsRectItem | None = None
        self._preview_item: QGraphicsPixmapItem | None = None
        self._grower: RegionGrower | None = None
        self._seed: tuple[float, float] | None = None
        self._running = False
        self._wanted: tuple | None = None           # the newest request: ("grow", seed, tol) / ("box", box)
        self.preview: np.ndarray | None = None      # [H, W] bool mask shown, not yet committed
        self.preview_request: tuple | None = None   # the request that made it

    # --- gestures ---------------------------------------------------------------------------------
    def press(self, pos, event):
        if event.button() != Qt.MouseButton.LeftButton or self.ctx.document is None:
            return False
        self._press = pos
        return True

    def move(self, pos, event):
        if self._press is None or self.view is None:
            return False
        if self._dragged(pos):
            self._show_box(self._press, pos)
        return True

    def release(self, pos, event):
        if self._press is None:
            return False
        dragged = self._dragged(pos)
        start, self._press = self._press, None
        self._hide_box()
        if dragged:
            y0, y1 = sorted((start.y(), pos.y()))
            x0, x1 = sorted((start.x(), pos.x()))
            self._request(("box", (math.floor(y0), math.floor(x0), math.ceil(y1), math.ceil(x1))))
            return True
        x, y = pos.x(), pos.y()
        if self.preview is not None and self._inside_preview(x, y):
            self.commit()
            return True
        doc = self.ctx.document
        if doc is None or self.photo() is None:
            return True
        h, w = doc.editor.shape
        if not (0 <= x < w and 0 <= y < h):
            return True
        if self._target() is None:
            return True
        self._request(("grow", (x, y), self.ctx.settings.region_tolerance))
        return True

    def double_click(self, pos, event):
        if self.preview is not None:
            self.commit()
            return True
        return False

    def wheel(self, event):
        if self.preview_request is None or self.preview_request[0] != "grow":
            return False  # nothing to tune: the view zooms
        delta = event.angleDelta().y()
        if delta:
            self.change_tolerance(delta / 120.0)
        return True

    def claims_key(self, event):
        keys = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Plus, Qt.Key.Key_Minus,
                Qt.Key.Key_Equal)
        if event.key() == Qt.Key.Key_Escape and self.busy:
            return True
        return self.preview is not None and event.key() in keys

    def key_press(self, event):
        if self.preview is not None and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.commit()
            return True
        if self.preview_request is not None and self.preview_request[0] == "grow":
            if event.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
                self.change_tolerance(1)
                return True
            if event.key() == Qt.Key.Key_Minus:
                self.change_tolerance(-1)
                return True
        return super().key_press(event)

    def change_tolerance(self, notches: float) -> None:
        """Scale the tolerance by ``WHEEL_STEP`` per notch and grow the preview again."""
        s = self.ctx.settings
        s.set_region_tolerance(s.region_tolerance * WHEEL_STEP ** notches)
        if self._seed is not None:
            self._request(("grow", self._seed, s.region_tolerance))

    # --- work -------------------------------------------------------------------------------------
    def _request(self, request: tuple) -> None:
        self._wanted = request
        if request[0] == "grow":
            self._seed = request[1]
        self._run()

    def _run(self) -> None:
        if self._running or self._wanted is None:
            return
        bgra = self.photo()
        if bgra is None:
            return
        request, self._wanted = self._wanted, None
        grower = self._grower
        self._running = True

        def work():
            rgb = np.ascontiguousarray(bgra[..., 2::-1])  # the canvas keeps BGRA
            if request[0] == "box":
                return request, None, grabcut_box(rgb, request[1])
            g = grower
            if g is None or g.seed_xy != request[1]:
                g = RegionGrower(rgb, request[1])
            return request, g, g.mask(request[2])

        def finished(result):
            self._running = False
            req, g, mask = result
            if g is not None:
                self._grower = g
            if self._wanted is None:  # nothing newer asked for: show it
                self._show_preview(req, mask)
            self._run()

        def failed(error):
            self._running = False
            self.ctx.message(f"Could not find the region: {error}")
            self._run()

        self.ctx.message("Finding the region…")
        self.run(work, "find the region", finished, failed)

    def dropped(self) -> None:
        """Work from before a cancel came back (cancelled, or another photo meanwhile)."""
        self._running = False
        self._run()

    @property
    def showing(self) -> tuple[bool, bool]:
        """``(box, preview)``: whether a dragged box and a previewed region are on the canvas."""
        return self._box_item is not None, self._preview_item is not None

    @property
    def busy(self) -> bool:
        """Whether a region is being computed (or waits to be)."""
        return self._running or self._wanted is not None

    def commit(self) -> None:
        """Paint the previewed region into the active category (one undo step)."""
        mask, self.preview = self.preview, None
        self._clear_preview()
        doc = self.ctx.document
        if mask is None or doc is None:
            return
        target = self._target()
        if target is None:
            return
        box = mask_box(mask)
        crop = mask[box[0]:box[2], box[1]:box[3]]
        s = self.ctx.settings
        behind, mode, category = s.paint_behind, s.instance_mode, target.category_id
        name = f"Region {doc.categories.by_id(category).name}"
        self.ctx.edit("fill the region", lambda ed: ed.paint_mask(
            name, box, crop, ed.paint_target(category, mode, doc.primary), behind),
            int(crop.size), select_new=True)
        self.ctx.message("")

    def cancel(self):
        """Esc, another tool or another photo: drop the preview and anything being computed."""
        self.cancel_work()
        self._grower = None  # its features belong to the photo it was made on
        self._press = None
        self._wanted = None
        self._seed = None
        self.preview = None
        self._hide_box()
        self._clear_preview()

    # --- drawing ----------------------------------------------------------------------------------
    def _dragged(self, pos: QPointF) -> bool:
        if self._press is None or self.view is None:
            return False
        d = self.view.mapFromScene(pos) - self.view.mapFromScene(self._press)
        return d.manhattanLength() >= DRAG_PX

    def _inside_preview(self, x: float, y: float) -> bool:
        if self.preview is None:
            return False
        h, w = self.preview.shape
        xi, yi = math.floor(x), math.floor(y)
        return 0 <= xi < w and 0 <= yi < h and bool(self.preview[yi, xi])

    def _show_box(self, a: QPointF, b: QPointF) -> None:
        if self.view is None:
            return
        if self._box_item is None:
            self._box_item = QGraphicsRectItem()
            self._box_item.setPen(preview_pen())
            self.overlay(self._box_item)
        self._box_item.setRect(QRectF(a, b).normalized())

    def _hide_box(self) -> None:
        self.remove_overlay(self._box_item)
        self._box_item = None

    def _show_preview(self, request: tuple, mask: np.ndarray) -> None:
        self.preview, self.preview_request = mask, request
        self._clear_preview(keep_state=True)
        if self.view is None or self.ctx.document is None:
            return
        box = mask_box(mask)
        if box[2] <= box[0]:
            return
        crop = np.ascontiguousarray(mask[box[0]:box[2], box[1]:box[3]])
        doc, cat = self.ctx.document, self.ctx.settings.category_id
        colour = doc.categories.by_id(cat).color if cat is not None and cat in doc.categories else (255, 255, 255)
        rgba = np.zeros(crop.shape + (4,), np.uint8)
        rgba[crop] = (*colour, 150)
        image = QImage(rgba.data, crop.shape[1], crop.shape[0], crop.shape[1] * 4, QImage.Format.Format_RGBA8888)
        item = QGraphicsPixmapItem(QPixmap.fromImage(image.copy()))
        item.setOffset(box[1], box[0])
        self.overlay(item, z=85)
        self._preview_item = item
        what = (f"tolerance {self.ctx.settings.region_tolerance:g} (wheel or + / - to change)"
                if request[0] == "grow" else "GrabCut in the box")
        self.ctx.message(f"Region: {what}; Enter or a click inside accepts, Esc drops it.")

    def _clear_preview(self, keep_state: bool = False) -> None:
        self.remove_overlay(self._preview_item)
        self._preview_item = None
        if not keep_state:
            self.preview_request = None
