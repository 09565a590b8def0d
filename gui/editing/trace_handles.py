"""The waypoints of the selected traced crack, as handles the crack tracer tool lets a user edit.

When the selected segment holds traces (``AnnotationDocument.traces``), its waypoints are drawn
as small squares. With the tracer tool:

* **drag** a handle: the waypoint moves; the two legs next to it are traced again live (on a
  worker, the newest position wins; a straight line until the first result), and the release
  commits the move as one undo step;
* **right-click** a handle, or **Delete** / **Backspace** while the mouse is on it: the waypoint
  goes; its neighbours are joined by a new darkest path (the last one removes the trace's
  pixels);
* a plain click on an **end** extends the crack from there, on an **inner** waypoint starts a
  branch (both handled by the tool: they are new tracing).

Every change is an edit of the annotation (``core.assist.trace_edit.paint_trace``: the old
trace's pixels out, the new ones in) with the segment's traces in the same undo step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath

from core.assist.trace_edit import paint_trace
from core.assist.traces import Trace, mask_of, move_point, nearest_point, remove_point

#: Screen pixels: a handle's side, and how near the mouse must be to grab it.
HANDLE_PX, GRAB_PX = 8, 7
#: Screen pixels a press must move to become a drag.
DRAG_PX = 4


@dataclass(frozen=True)
class Hit:
    """A waypoint: segment id, trace index in the segment, waypoint index in the trace."""

    segment: int
    trace: int
    point: int


def path_of(yx: np.ndarray) -> QPainterPath:
    """Polyline through pixel centres of ``[N, 2]`` (y, x) pixels."""
    path = QPainterPath()
    if len(yx):
        path.moveTo(yx[0, 1] + 0.5, yx[0, 0] + 0.5)
        for y, x in yx[1:]:
            path.lineTo(x + 0.5, y + 0.5)
    return path


def _rgb(bgra: np.ndarray) -> np.ndarray:
    return bgra[..., 2::-1]  # a view: the tracer copies the windows it works on


class TraceHandles:
    """Handles and waypoint edits for a ``CrackTracerTool`` (``tool``: an ``AssistTool``)."""

    def __init__(self, tool):
        self.tool = tool
        self.ctx = tool.ctx
        self._item = None          # handles
        self._drag_item = None     # the moved legs' preview
        self._doc = None           # the document whose signals are connected
        self.grab: Hit | None = None
        self._grab_at: QPointF | None = None
        self.dragging = False
        self._drag_busy = False
        self._drag_wanted: tuple[float, float] | None = None
        self.drag_preview: Trace | None = None   # the last re-traced preview of the drag

    # --- which traces -----------------------------------------------------------------------------
    def traces(self) -> tuple[int | None, tuple[Trace, ...]]:
        doc = self.ctx.document
        if doc is None:
            return None, ()
        return doc.primary, doc.traces_of(doc.primary)

    def hit(self, pos: QPointF) -> Hit | None:
        """The handle under ``pos`` (scene coordinates), if any."""
        seg, traces = self.traces()
        view = self.tool.view
        if seg is None or not traces or view is None:
            return None
        scale = max(view.transform().m11(), 1e-6)
        found = nearest_point(traces, (pos.x(), pos.y()), GRAB_PX / scale)
        return None if found is None else Hit(seg, found[0], found[1])

    # --- drawing ----------------------------------------------------------------------------------
    def sync(self) -> None:
        """Follow the document (selection and trace changes redraw) and draw the handles."""
        doc = self.ctx.document
        if doc is not self._doc:
            self._disconnect()
            self._doc = doc
            if doc is not None:
                doc.selectionChanged.connect(self.draw)
                doc.tracesChanged.connect(self.draw)
                doc.segmentsChanged.connect(self.draw)
        self.draw()

    def _disconnect(self) -> None:
        if self._doc is None:
            return
        for sig in (self._doc.selectionChanged, self._doc.tracesChanged, self._doc.segmentsChanged):
            try:
                sig.disconnect(self.draw)
            except (RuntimeError, TypeError):
                pass
        self._doc = None

    def draw(self) -> None:
        tool = self.tool
        seg, traces = self.traces()
        if tool.view is None or tool.tracer is not None or not traces:
            self.tool.remove_overlay(self._item)
            self._item = None
            return
        if self._item is None:
            self._item = tool.path_item(QColor(20, 20, 20), width=1, z=92)
            if self._item is None:
                return
            self._item.setBrush(QBrush(QColor(255, 214, 0)))
        side = HANDLE_PX / max(tool.view.transform().m11(), 1e-6)
        path = QPainterPath()
        for t in traces:
            for x, y in t.points:
                path.addRect(x - side / 2, y - side / 2, side, side)
        self._item.setPath(path)

    def cancel_drag(self) -> None:
        """Forget a drag in progress (Esc)."""
        self.grab, self.dragging, self.drag_preview, self._drag_wanted = None, False, None, None
        self._drag_busy = False
        self.tool.remove_overlay(self._drag_item)
        self._drag_item = None

    def clear(self) -> None:
        """Hide everything and stop following the document (the tool is put away)."""
        self.cancel_drag()
        self.tool.remove_overlay(self._item)
        self._item = None
        self._disconnect()

    # --- drag -------------------------------------------------------------------------------------
    def press(self, hit: Hit, pos: QPointF) -> None:
        self.grab, self._grab_at, self.dragging, self.drag_preview = hit, pos, False, None

    def move(self, pos: QPointF) -> None:
        view = self.tool.view
        if self.grab is None or view is None or self._grab_at is None:
            return
        if not self.dragging:
            d = view.mapFromScene(pos) - view.mapFromScene(self._grab_at)
            self.dragging = d.manhattanLength() >= DRAG_PX
        if self.dragging:
            self._show_straight(pos)
            self._drag_wanted = (pos.x(), pos.y())
            self._pump_drag()

    def _trace(self, hit: Hit) -> Trace | None:
        doc = self.ctx.document
        traces = doc.traces_of(hit.segment) if doc is not None else ()
        return traces[hit.trace] if hit.trace < len(traces) else None

    def _show_straight(self, pos: QPointF) -> None:
        """Straight lines from the moved waypoint's neighbours to the mouse, until a re-traced
        preview arrives."""
        hit = self.grab
        trace = self._trace(hit) if hit is not None else None
        if hit is None or trace is None:
            return
        path = QPainterPath()
        pts = trace.points
        for k in (hit.point - 1, hit.point + 1):
            if 0 <= k < len(pts):
                path.moveTo(*pts[k])
                path.lineTo(pos)
        self._set_drag_path(path, pos)

    def _set_drag_path(self, path: QPainterPath, at: QPointF | None = None) -> None:
        """Show the moved legs ``path`` and the moved waypoint's handle at ``at``."""
        if self._drag_item is None:
            # Cyan: apart from the selection's white dashes and the tracer's yellow.
            self._drag_item = self.tool.path_item(QColor(0, 200, 255), Qt.PenStyle.SolidLine, z=91)
        if self._drag_item is None:
            return
        view = self.tool.view
        if at is not None and view is not None:
            side = HANDLE_PX / max(view.transform().m11(), 1e-6)
            path.addRect(at.x() - side / 2, at.y() - side / 2, side, side)
        self._drag_item.setPath(path)

    def _pump_drag(self) -> None:
        hit, bgra = self.grab, self.ctx.photo_rgb()
        if self._drag_busy or self._drag_wanted is None or hit is None or bgra is None:
            return
        trace = self._trace(hit)
        if trace is None:
            return
        xy, self._drag_wanted = self._drag_wanted, None
        self._drag_busy = True
        h, w = bgra.shape[:2]
        xy = (min(max(xy[0], 0.0), w - 0.01), min(max(xy[1], 0.0), h - 0.01))

        def done(moved):
            self._drag_busy = False
            if self.grab == hit and self.dragging:
                self.drag_preview = moved
                if self._drag_wanted is None:
                    self._show_legs(moved, hit.point)
                self._pump_drag()

        def failed(error):
            self._drag_busy = False
            self._pump_drag()

        self.tool.run(lambda: move_point(_rgb(bgra), trace, hit.point, xy), "trace the moved waypoint", done, failed)

    def _show_legs(self, trace: Trace, point: int) -> None:
        path = QPainterPath()
        for k in (point - 1, point):
            if 0 <= k < len(trace.legs):
                path.addPath(path_of(trace.legs[k]))
        self._set_drag_path(path, QPointF(*trace.points[point]))

    def drag_done(self) -> None:
        """The worker's drag previews were dropped (tool cancelled): allow new ones."""
        self._drag_busy = False

    def release(self, pos: QPointF) -> bool:
        """End a press on a handle; True when it was a drag (committed here), False for a click."""
        hit, dragged = self.grab, self.dragging
        self.grab, self.dragging, self._drag_wanted = None, False, None
        self.tool.remove_overlay(self._drag_item)
        self._drag_item = None
        if hit is None or not dragged:
            return False
        self.move_waypoint(hit, (pos.x(), pos.y()))
        return True

    # --- edits ------------------------------------------------------------------------------------
    def move_waypoint(self, hit: Hit, xy) -> None:
        """Move a waypoint to ``xy`` (one undo step)."""
        bgra = self.ctx.photo_rgb()
        if bgra is None:
            return
        h, w = bgra.shape[:2]
        xy = (min(max(float(xy[0]), 0.0), w - 0.01), min(max(float(xy[1]), 0.0), h - 0.01))
        self._replace(hit, lambda rgb, t: move_point(rgb, t, hit.point, xy), "Move crack waypoint")

    def delete_waypoint(self, hit: Hit) -> None:
        """Delete a waypoint (one undo step); the trace's last waypoint takes the trace away."""
        self._replace(hit, lambda rgb, t: remove_point(rgb, t, hit.point), "Delete crack waypoint")

    def _replace(self, hit: Hit, change, name: str) -> None:
        doc, bgra = self.ctx.document, self.ctx.photo_rgb()
        if doc is None or bgra is None or hit.segment not in doc.editor.segments:
            return
        if doc.read_only or doc.busy:
            self.ctx.message(doc.read_only or "Still working on the last edit…")
            return
        traces = list(doc.traces_of(hit.segment))
        if hit.trace >= len(traces):
            return
        old = traces[hit.trace]
        target = doc.editor.segments[hit.segment]
        behind = self.ctx.settings.paint_behind
        result: dict = {}

        def op(ed):
            rgb = _rgb(bgra)
            new = change(rgb, old)
            others = traces[:hit.trace] + traces[hit.trace + 1:]
            keep = tuple(mask_of(rgb, t) for t in others)
            edit = paint_trace(ed, name, target, None if new is None else mask_of(rgb, new), mask_of(rgb, old),
                               keep, behind=behind)
            result[hit.segment] = tuple(others[:hit.trace]) + ((new,) if new is not None else ()) \
                + tuple(others[hit.trace:])
            return edit

        span = old.path.max(0) - old.path.min(0) + 80
        self.ctx.edit(name.lower(), op, int(span[0] * span[1]) * 2, traces=lambda: result)
