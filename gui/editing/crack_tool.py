"""The crack tracer tool: click along a crack, the path follows its dark centre (``core.assist``).

Click at the crack's start, move (a live preview follows the crack to the mouse), click at each
bend, double-click or Enter to finish; Backspace removes the last click, Esc cancels. The result is
one crack segment of the active category (or added to the selected one), one undo step. Tracing
over a crack the model predicted (accepted into the annotation) replaces it.

A traced crack keeps its waypoints (``AnnotationDocument.traces``, stored with the project):
when it is selected they show as handles (``gui.editing.trace_handles``) that can be dragged,
deleted (right-click, or Delete with the mouse on one), clicked at an end to extend the crack,
or clicked inside to branch a new crack from there, in the same segment.

Each click's work (the path to it and the preview set-up around it, a few hundred ms on a large
photo) runs on a worker thread: ``CrackTracer.plan`` there, ``commit`` back here, one click at a
time in order. Until a click's preview is ready the preview is a straight line; after that a
mouse move costs about a millisecond. Finishing (width from the photo, the mask) is an edit like
the polygon's fill, off the GUI thread when large.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem

from core.assist.trace import CrackTracer
from core.assist.trace_edit import paint_trace
from core.assist.traces import Trace, mask_of, tracer_from
from gui.editing.assist_base import AssistTool
from gui.editing.trace_handles import Hit, TraceHandles, path_of

#: Screen pixels within which a double-click's second click counts as the same point.
SAME_POINT_PX = 4


class CrackTracerTool(AssistTool):
    name, key, icon = "Crack tracer", "T", "mdi6.vector-polyline-edit"
    tip = ("Click the crack's start, then each bend: the path follows the crack; double-click or Enter "
           "finishes, Backspace removes the last click, Esc cancels. A selected traced crack shows its "
           "waypoints: drag one to move it, right-click or Delete removes it, click an end to extend, "
           "click inside to branch")
    cursor_shape = Qt.CursorShape.CrossCursor
    what = "the tracer"

    def __init__(self, context):
        super().__init__(context)
        self.tracer: CrackTracer | None = None
        self._queue: list[tuple[float, float]] = []   # clicks waiting for the worker, in order
        self._working = False
        self._finish_after = False                    # finish once the queue is done
        self._hover: QPointF | None = None
        self._done_item: QGraphicsPathItem | None = None
        self._live_item: QGraphicsPathItem | None = None
        #: What the trace in progress changes: None (a new crack), or (segment, trace index or
        #: None for a branch, the trace before).
        self.editing: tuple[int, int | None, Trace | None] | None = None
        self.handles = TraceHandles(self)
        self._hover_hit: Hit | None = None
        # Another photo's document: follow its selection and traces (the controller's signal).
        changed = getattr(context, "documentChanged", None)
        if changed is not None:
            changed.connect(self._document_changed)

    def _document_changed(self, document) -> None:
        if self.view is not None:
            self.handles.sync()

    def activate(self, view) -> None:
        super().activate(view)
        self.handles.sync()

    # --- gestures ---------------------------------------------------------------------------------
    def press(self, pos, event):
        if self.ctx.document is None:
            return False
        if self.tracer is None and not self._queue:
            self.handles.sync()
            hit = self.handles.hit(pos)
            if hit is not None and event.button() == Qt.MouseButton.RightButton:
                self.handles.delete_waypoint(hit)
                return True
            if hit is not None and event.button() == Qt.MouseButton.LeftButton:
                self.handles.press(hit, pos)
                return True
        if event.button() != Qt.MouseButton.LeftButton:
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
        if self.handles.grab is not None:
            self.handles.move(pos)
            return True
        if self.tracer is None:
            self.handles.sync()  # the handles keep their size on screen at any zoom
            self._hover_hit = self.handles.hit(pos)
            return False
        self._hover = pos
        self._redraw()
        return True

    def release(self, pos, event):
        hit = self.handles.grab
        if hit is None:
            return False
        if not self.handles.release(pos):
            self._continue_from(hit)
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
        if self.tracer is None:
            # Delete / Backspace with the mouse on a waypoint removes it, not the segment.
            return self._hover_hit is not None and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
        return event.key() in (Qt.Key.Key_Backspace, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)

    def key_press(self, event):
        if self.tracer is None and self._hover_hit is not None \
                and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            hit, self._hover_hit = self._hover_hit, None
            self.handles.delete_waypoint(hit)
            return True
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
        bgra = self.photo()
        if bgra is None or self._target() is None:
            return False
        # The canvas keeps BGRA; the tracer wants RGB: a view, no copy (a 24 MP copy would hold up
        # the first click by a frame or more); the tracer copies only the windows it works on.
        self.tracer = CrackTracer(bgra[..., 2::-1], self.ctx.settings.crack_width or None)
        self.editing = None
        self.handles.draw()
        self.ctx.message("Tracing: click at each bend; double-click or Enter finishes, Backspace undoes a click.")
        return True

    def _continue_from(self, hit: Hit) -> None:
        """A click on a handle: extend the crack from an end, or branch from an inner waypoint."""
        doc, bgra = self.ctx.document, self.photo()
        if doc is None or bgra is None or doc.read_only or doc.busy:
            return
        traces = doc.traces_of(hit.segment)
        if hit.trace >= len(traces):
            return
        trace = traces[hit.trace]
        rgb = bgra[..., 2::-1]
        n = len(trace.points)
        if hit.point in (0, n - 1):
            self.tracer = tracer_from(rgb, trace, from_start=hit.point == 0 and n > 1)
            self.editing = (hit.segment, hit.trace, trace)
            self.ctx.message("Extending the crack: click on along it; double-click or Enter finishes.")
        else:
            self.tracer = CrackTracer(rgb, trace.width)
            self.tracer.add_point(trace.points[hit.point], prepare=False)
            self.editing = (hit.segment, None, None)
            self.ctx.message("Branching: click along the new crack; double-click or Enter finishes.")
        self.handles.draw()
        self._prepare_last()
        self._redraw()

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

        def finished(planned):
            self._working = False
            if self._queue and self._queue[0] == xy:  # still wanted (Backspace may have dropped it)
                self._queue.pop(0)
                tracer.commit(planned)
            self._redraw()
            self._pump()

        def failed(error):
            self._working = False
            if self._queue and self._queue[0] == xy:
                self._queue.pop(0)
            self.ctx.message(f"Could not trace to that point: {error}")
            self._pump()

        self.run(lambda: tracer.plan(xy), "trace the crack", finished, failed)

    def dropped(self) -> None:
        self._working = False
        self.handles.drag_done()

    def undo_click(self) -> None:
        """Backspace: the last waiting click, else the last committed one; the last click of all
        cancels the trace (an extension keeps the clicks it started from)."""
        if self.tracer is None:
            return
        if self._queue:
            self._queue.pop()  # one being traced right now is dropped when it comes back
        elif self.tracer.points and not self._working:
            start = self.editing[2] if self.editing is not None and self.editing[2] is not None else None
            if start is not None and len(self.tracer.points) <= len(start.points):
                self.cancel()  # nothing of the extension left
                return
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

        self.run(tracer.prepare, "prepare the crack preview", finished, lambda error: None)

    def finish(self) -> None:
        """Turn the clicks into one crack segment, or into the edited one (one undo step)."""
        if self.tracer is None:
            return
        if self._working or self._queue:
            self._finish_after = True  # after the clicks still being traced
            return
        tracer, editing = self.tracer, self.editing
        self._clear()
        self.ctx.message("")
        doc = self.ctx.document
        if not tracer.points or doc is None:
            return
        if editing is not None and editing[0] in doc.editor.segments:
            seg = editing[0]
            target, traces = doc.editor.segments[seg], list(doc.traces_of(seg))
            index, old = editing[1], editing[2]
            if index is not None and (index >= len(traces) or traces[index] != old):
                index, old = None, None  # the trace changed meanwhile: add this one beside it
            name = "Extend crack" if index is not None else "Branch crack"
        else:
            if self._target() is None:
                return
            target, traces, index, old = None, [], None, None
            name = ""
        settings = self.ctx.settings
        behind, mode, category = settings.paint_behind, settings.instance_mode, settings.category_id
        result: dict = {}

        def op(ed):
            nonlocal target, traces, name
            if target is None:
                target = ed.paint_target(category, mode, doc.primary)
                traces = list(doc.traces_of(target.id))
                name = f"Trace {doc.categories.by_id(target.category_id).name}"
            traced = tracer.finish()
            if traced is None:
                return None
            new = Trace.from_traced(traced, tracer.legs)
            rgb = tracer.rgb
            keep = tuple(mask_of(rgb, t) for k, t in enumerate(traces) if k != index) if old is not None else ()
            edit = paint_trace(ed, name, target, (traced.box, traced.mask), None if old is None else mask_of(rgb, old),
                               keep, traced.path, replace_model=True, behind=behind, width=traced.width)
            after = list(traces)
            if index is not None:
                after[index] = new
            else:
                after.append(new)
            result[target.id] = tuple(after)
            return edit

        path = tracer.path
        span = (path.max(0) - path.min(0) + 40) if len(path) else np.array([1, 1])
        self.ctx.edit("trace the crack", op, int(span[0] * span[1]), select_new=True, traces=lambda: result)

    def cancel(self):
        """Esc, another photo: drop the trace or drag in progress; the handles stay."""
        self._clear()
        self.cancel_work()
        self._working = False
        self._hover_hit = None
        self.handles.cancel_drag()
        self.handles.sync()

    def deactivate(self) -> None:
        super().deactivate()
        self.handles.clear()

    def _clear(self) -> None:
        self.tracer = None
        self.editing = None
        self._queue = []
        self._finish_after = False
        self._hover = None
        self.remove_overlay(self._done_item)
        self.remove_overlay(self._live_item)
        self._done_item = self._live_item = None
        self.handles.draw()

    # --- drawing ----------------------------------------------------------------------------------
    def _items(self) -> tuple[QGraphicsPathItem | None, QGraphicsPathItem | None]:
        if self._done_item is None and self.view is not None:
            self._done_item = self.path_item(QColor(255, 214, 0))
            self._live_item = self.path_item(QColor(255, 255, 255), Qt.PenStyle.DashLine)
        return self._done_item, self._live_item

    def _redraw(self) -> None:
        if self.tracer is None or self.view is None:
            return
        done, live = self._items()
        if done is None or live is None:
            return
        path = path_of(self.tracer.path)
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
            preview = path_of(self.tracer.preview_to((self._hover.x(), self._hover.y())))
        live.setPath(preview)
