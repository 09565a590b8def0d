"""The crack tracer tool: click along a crack, the path follows its dark centre (``core.assist``).

Click at the crack's start, move (a live preview follows the crack to the mouse), click at each
bend, double-click or Enter to finish; Backspace removes the last click, Esc cancels. The result is
one crack segment of the active category (or added to the selected one), one undo step.

Each click's work (the path to it and the preview set-up around it, a few hundred ms on a large
photo) runs on a worker thread: ``CrackTracer.plan`` there, ``commit`` back here, one click at a
time in order. Until a click's preview is ready the preview is a straight line; after that a
mouse move costs about a millisecond. Finishing (width from the photo, the mask) is an edit like
the polygon's fill, off the GUI thread when large.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from core.assist.trace import CrackTracer
from gui.editing.tools import Tool

#: Screen pixels within which a double-click's second click counts as the same point.
SAME_POINT_PX = 4


def _path_of(yx: np.ndarray) -> QPainterPath:
    """Polyline through pixel centres of ``[N, 2]`` (y, x) pixels."""
    path = QPainterPath()
    if len(yx):
        path.moveTo(yx[0, 1] + 0.5, yx[0, 0] + 0.5)
        for y, x in yx[1:]:
            path.lineTo(x + 0.5, y + 0.5)
    return path


class CrackTracerTool(Tool):
    name, key, icon = "Crack tracer", "T", "mdi6.vector-polyline-edit"
    tip = ("Click the crack's start, then each bend: the path follows the crack; double-click or Enter "
           "finishes, Backspace removes the last click, Esc cancels")
    cursor_shape = Qt.CursorShape.CrossCursor

    def __init__(self, context):
        super().__init__(context)
        self.tracer: CrackTracer | None = None
        self._queue: list[tuple[float, float]] = []   # clicks waiting for the worker, in order
        self._working = False
        self._finish_after = False                    # finish once the queue is done
        self._hover: QPointF | None = None
        self._done_item: QGraphicsPathItem | None = None
        self._live_item: QGraphicsPathItem | None = None

    # --- gestures ---------------------------------------------------------------------------------
    def press(self, pos, event):
        if event.button() != Qt.MouseButton.LeftButton or self.ctx.document is None:
            return False
        if self.tracer is None and not self._start():
            return True
        assert self.tracer is not None  # _start made it
        x, y = pos.x(), pos.y()
        h, w = self.tracer.shape
        if not (0 <= x < w and 0 <= y < h):
            self.ctx.message("Click on the photo to trace a crack.")
            return True
        if self._same_as_last(pos):
            return True  # the second press of a double-click: finish comes with double_click
        self._queue.append((x, y))
        self._pump()
        self._redraw()
        return True

    def move(self, pos, event):
        if self.tracer is None:
            return False
        self._hover = pos
        self._redraw()
        return True

    def double_click(self, pos, event):
        if self.tracer is None or event.button() != Qt.MouseButton.LeftButton:
            return False
        # The double-click's first press normally added this point already; add it if not.
        h, w = self.tracer.shape
        if not self._same_as_last(pos) and 0 <= pos.x() < w and 0 <= pos.y() < h:
            self._queue.append((pos.x(), pos.y()))
            self._pump()
        self.finish()
        return True

    def claims_key(self, event):
        return self.tracer is not None and event.key() in (Qt.Key.Key_Backspace, Qt.Key.Key_Return,
                                                            Qt.Key.Key_Enter, Qt.Key.Key_Escape)

    def key_press(self, event):
        if self.tracer is not None:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.finish()
                return True
            if event.key() == Qt.Key.Key_Backspace:
                self.undo_click()
                return True
        return super().key_press(event)

    # --- state ------------------------------------------------------------------------------------
    @property
    def clicks(self) -> list[tuple[float, float]]:
        """Clicks so far (committed and waiting), ``(x, y)`` in photo pixels."""
        return ([] if self.tracer is None else list(self.tracer.points)) + list(self._queue)

    @property
    def busy(self) -> bool:
        """Whether clicks are still being traced on the worker."""
        return self._working or bool(self._queue)

    @property
    def preview_path(self) -> QPainterPath:
        """What the dashed live preview shows now (scene coordinates; empty when none)."""
        return self._live_item.path() if self._live_item is not None else QPainterPath()

    def _start(self) -> bool:
        bgra = self.ctx.photo_rgb()
        if bgra is None:
            self.ctx.message("The photo is still loading; the tracer works once it is shown at full resolution.")
            return False
        if self._target() is None:
            return False
        # The canvas keeps BGRA; the tracer wants RGB: a view, no copy (a 24 MP copy would hold up
        # the first click by a frame or more); the tracer copies only the windows it works on.
        rgb = bgra[..., 2::-1]
        width = self.ctx.settings.crack_width or None
        self.tracer = CrackTracer(rgb, width)
        self.ctx.message("Tracing: click at each bend; double-click or Enter finishes, Backspace undoes a click.")
        return True

    def _same_as_last(self, pos: QPointF) -> bool:
        pts = self.clicks
        if not pts or self.view is None:
            return False
        last = self.view.mapFromScene(QPointF(*pts[-1]))
        return (last - self.view.mapFromScene(pos)).manhattanLength() <= SAME_POINT_PX

    def _pump(self) -> None:
        """Start the next waiting click on the worker, if none is running."""
        if self._working or not self._queue or self.tracer is None:
            if not self._working and not self._queue and self._finish_after:
                self._finish_after = False
                self.finish()
            return
        tracer, xy = self.tracer, self._queue[0]
        self._working = True

        def work(progress, cancel):
            return tracer.plan(xy)

        def finished(planned):
            self._working = False
            if self.tracer is not tracer:  # cancelled meanwhile
                return
            if self._queue and self._queue[0] == xy:  # still wanted (Backspace may have dropped it)
                self._queue.pop(0)
                tracer.commit(planned)
            self._redraw()
            self._pump()

        def failed(error):
            self._working = False
            if self.tracer is tracer and self._queue and self._queue[0] == xy:
                self._queue.pop(0)
            self.ctx.message(f"Could not trace to that point: {error}")
            self._pump()

        self.ctx.runner.start(work, "trace the crack", on_finished=finished, on_failed=failed, report_errors=False)

    def undo_click(self) -> None:
        """Backspace: the last waiting click, else the last committed one; the last click of all
        cancels the trace."""
        if self.tracer is None:
            return
        if self._queue:
            self._queue.pop()  # one being traced right now is dropped when it comes back
        elif self.tracer.points and not self._working:
            self.tracer.undo_point(prepare=False)
            if self.tracer.points:
                self._prepare_last()
        if not self.clicks:
            self.cancel()
            return
        self._redraw()

    def _prepare_last(self) -> None:
        tracer = self.tracer
        if tracer is None:
            return

        def finished(field):
            if self.tracer is tracer and tracer.install(field):
                self._redraw()

        self.ctx.runner.start(lambda progress, cancel: tracer.prepare(), "prepare the crack preview",
                              on_finished=finished, report_errors=False)

    def finish(self) -> None:
        """Turn the clicks into one crack segment (one undo step)."""
        if self.tracer is None:
            return
        if self._working or self._queue:
            self._finish_after = True  # after the clicks still being traced
            return
        tracer = self.tracer
        self._clear()
        self.ctx.message("")
        if not tracer.points:
            return
        doc = self.ctx.document
        target = self._target()
        if doc is None or target is None:
            return
        settings = self.ctx.settings
        behind, mode, category = settings.paint_behind, settings.instance_mode, target.category_id
        name = f"Trace {doc.categories.by_id(category).name}"
        path = tracer.path
        span = (path.max(0) - path.min(0) + 40) if len(path) else np.array([1, 1])

        def op(ed):
            result = tracer.finish()
            if result is None:
                return None
            return ed.paint_mask(name, result.box, result.mask, ed.paint_target(category, mode, doc.primary), behind)

        self.ctx.edit("trace the crack", op, int(span[0] * span[1]), select_new=True)

    def cancel(self):
        self._clear()

    def _clear(self) -> None:
        self.tracer = None
        self._queue = []
        self._finish_after = False
        self._hover = None
        for item in (self._done_item, self._live_item):
            if item is not None and item.scene() is not None:
                item.scene().removeItem(item)
        self._done_item = self._live_item = None

    # --- drawing ----------------------------------------------------------------------------------
    def _items(self) -> tuple[QGraphicsPathItem | None, QGraphicsPathItem | None]:
        if self._done_item is None and self.view is not None:
            done, live = QGraphicsPathItem(), QGraphicsPathItem()
            for item, colour, style in ((done, QColor(255, 214, 0), Qt.PenStyle.SolidLine),
                                        (live, QColor(255, 255, 255), Qt.PenStyle.DashLine)):
                pen = QPen(colour, 2, style)
                pen.setCosmetic(True)  # the same on screen at any zoom
                item.setPen(pen)
                item.setZValue(90)
                self.view.scene().addItem(item)
            self._done_item, self._live_item = done, live
        return self._done_item, self._live_item

    def _redraw(self) -> None:
        if self.tracer is None or self.view is None:
            return
        done, live = self._items()
        if done is None or live is None:
            return
        path = _path_of(self.tracer.path)
        for x, y in self.clicks:  # a small square at each click
            path.addRect(x - 1.5, y - 1.5, 3, 3)
        done.setPath(path)
        preview = QPainterPath()
        if self._queue:
            # Clicks still being traced: straight lines through them (and on to the mouse).
            last = self.tracer.points[-1] if self.tracer.points else self._queue[0]
            preview.moveTo(*last)
            for p in self._queue:
                preview.lineTo(*p)
            if self._hover is not None:
                preview.lineTo(self._hover)
        elif self._hover is not None and self.tracer.points:
            preview = _path_of(self.tracer.preview_to((self._hover.x(), self._hover.y())))
        live.setPath(preview)
