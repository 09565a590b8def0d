"""``EditingController``: joins the current photo's document, the canvas and the tools.

It is the ``ToolContext`` the tools use, forwards document changes to the canvas layers (only
the changed box is repainted), and offers the segment operations the menus and the segment
panel call (delete, merge, split, change category, accept prediction). Each is one undo step.

A crack traced over the live prediction replaces the predicted crack under it: the prediction's
segments that the annotation's traced cracks run along (``traced_over``) are no longer offered:
the prediction layer does not draw them and accepting the prediction leaves them out. They follow
the traces, which change in the tracing edit's undo step, so undo offers them again.
"""
from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.editing import Box, box_is_empty
from core.panoptic import PanopticAnnotation, Segment
from gui.canvas.photo_view import PhotoView
from gui.editing.crack_tool import CrackTracerTool
from gui.editing.document import AnnotationDocument, relink
from gui.editing.region_tool import RegionTool
from gui.editing.tool_settings import ToolSettings
from gui.editing.tools import ALL_TOOLS, Tool
from gui.workers.base import TaskRunner

log = logging.getLogger(__name__)

#: Edits touching more pixels than this run on a worker thread (a 2 MP edit takes ~50 ms here).
BACKGROUND_PIXELS = 2_000_000


class EditingController(QObject):
    documentChanged = Signal(object)   # AnnotationDocument or None
    toolChanged = Signal(object)       # Tool
    notice = Signal(str)               # a short status-bar message
    offerChanged = Signal()            # ``traced_over`` changed: the prediction offered is another

    def __init__(self, view: PhotoView, settings: ToolSettings, runner: TaskRunner,
                 report_error=None, parent: QObject | None = None):
        super().__init__(parent)
        self.view = view
        self.settings = settings
        self.runner = runner
        self.report_error = report_error or (lambda e, what: log.error("%s: %s", what, e))
        self._doc: AnnotationDocument | None = None
        self._bgra: np.ndarray | None = None
        self.prediction: PanopticAnnotation | None = None
        #: Ids of the live prediction's segments a traced crack runs along: not offered.
        self.traced_over: frozenset[int] = frozenset()
        tools = ALL_TOOLS + (CrackTracerTool, RegionTool)  # the annotation aids live in their own files
        self.tools: dict[str, Tool] = {cls.__name__: cls(self) for cls in tools}
        self.tool: Tool | None = None
        self.set_tool("BrushTool")
        settings.changed.connect(self._settings_changed)
        view.brushWheel.connect(settings.grow_brush)

    # --- ToolContext --------------------------------------------------------------------------------
    def message(self, text: str) -> None:
        self.notice.emit(text)

    @property
    def document(self) -> AnnotationDocument | None:
        return self._doc

    def photo_rgb(self) -> np.ndarray | None:
        return self._bgra

    def stroke_started(self, target: Segment | None) -> None:
        item = self.view.annotation_item
        if item is not None:
            item.set_extra_segments((target,) if target is not None else ())

    def stroke_ended(self) -> None:
        pass  # the extra segment is now in the table (or the stroke painted nothing)

    def flood_fill(self, x: float, y: float, over_defects: bool = False) -> None:
        """Fill the region of similar colour and texture around the click (``core.assist``'s
        region grower) with the active category; defects already painted are kept unless
        ``over_defects`` (Shift+click)."""
        doc = self._doc
        if doc is None or self._refuse_busy(doc):
            return
        if self._bgra is None:
            self.message("The photo is still loading; the fill works once it is shown at full resolution.")
            return
        category = self.settings.category_id
        if category is None or self.tools["FloodFillTool"]._target() is None:
            return
        bgra, tol, behind, mode = self._bgra, self.settings.tolerance, self.settings.paint_behind, \
            self.settings.instance_mode
        name = f"Fill {doc.categories.by_id(category).name}"

        def op(ed):
            # The region's colour features are Lab: the grower needs RGB order (the copy is made
            # here, on the worker, not on the GUI thread).
            rgb = np.ascontiguousarray(bgra[..., 2::-1])
            target = ed.paint_target(category, mode, doc.primary)
            return ed.flood_fill(rgb, (x, y), tol, target, behind, name, over_defects=over_defects)

        # The region is unknown until it is grown: always off the GUI thread.
        self.edit("fill the region", op, BACKGROUND_PIXELS, select_new=True)

    # --- edits that may be large --------------------------------------------------------------------
    def edit(self, what: str, op, pixels: int = 0, select_new: bool = False, traces=None) -> None:
        """Apply ``op(editor) -> Edit`` as one undo step.

        Up to ``BACKGROUND_PIXELS`` touched pixels it runs here; above, on a worker thread, with the
        document marked busy (tools, undo and autosave wait), so the window never freezes on a fill
        of a whole 24-megapixel photo. ``traces``: ``() -> {segment id: traces}`` called after
        ``op`` (the crack tracer's waypoints that change in the same undo step).
        """
        doc = self._doc
        if doc is None or self._refuse_busy(doc):
            return

        def done(edit):
            if edit is not None and select_new:
                new = [k for k, v in edit.segments_after.items() if v is not None and k in doc.editor.segments]
                if new:
                    doc.select(new)

        def run():
            edit = op(doc.editor)
            return doc.push(edit, traces() if traces is not None and edit is not None else None)

        if pixels < BACKGROUND_PIXELS:
            done(self._guard(what, run))
            return
        doc.set_busy(True)
        self.message(f"Working: {what}…")

        def work(progress, cancel):
            return op(doc.editor)

        def finished(edit):
            doc.set_busy(False)
            self.message("")
            doc.push(edit, traces() if traces is not None and edit is not None else None)
            done(edit)

        def failed(error):
            doc.set_busy(False)
            doc.pixelsChanged.emit((0, 0) + doc.editor.shape)  # repaint whatever the worker touched
            self.report_error(error, what)

        self.runner.start(work, what, on_finished=finished, on_failed=failed, report_errors=False)

    def _refuse_busy(self, doc: AnnotationDocument) -> bool:
        if doc.read_only:
            self.message(doc.read_only)
            return True
        if doc.busy:
            self.message("Still working on the last edit…")
        return doc.busy

    # --- document and photo -------------------------------------------------------------------------
    def set_document(self, doc: AnnotationDocument | None) -> None:
        if self.tool is not None:
            self.tool.cancel()
        relink(self._doc, doc, self._connections)
        self._doc = doc
        self._offer()
        self.documentChanged.emit(doc)

    def _connections(self, d: AnnotationDocument):
        return ((d.pixelsChanged, self._pixels), (d.segmentsChanged, self._segments),
                (d.selectionChanged, self._selection), (d.hiddenChanged, self._hidden),
                (d.tracesChanged, self._offer))

    def set_photo_pixels(self, bgra: np.ndarray | None) -> None:
        self._bgra = bgra

    def set_prediction(self, prediction: PanopticAnnotation | None) -> None:
        """The live prediction shown (after the canvas's prediction layer was set to it)."""
        self.prediction = prediction
        self._offer()

    def _offer(self) -> None:
        """Work out ``traced_over`` for the live prediction and the document's traces, and hide
        those segments in the prediction layer. Reads the prediction's full-size map only when a
        traced crack's category is predicted at all (a few ms per trace then)."""
        pred, doc = self.prediction, self._doc
        ids: frozenset[int] = frozenset()
        if pred is not None and doc is not None and doc.traces:
            from core.assist.trace_edit import prediction_under_traces

            traces = {k: doc.traces_of(k) for k in list(doc.traces)}
            cats = {k: doc.editor.segments[k].category_id for k, v in traces.items() if v}
            try:
                ids = frozenset(prediction_under_traces(pred, traces, cats))
            except Exception as e:  # noqa: BLE001 - an aid: the prediction is then offered whole
                log.warning("could not match the traced cracks against the prediction: %s", e)
        item = self.view.prediction_item
        if item is not None:
            item.set_hidden(ids)
        if ids != self.traced_over:
            self.traced_over = ids
            self.offerChanged.emit()

    def offered(self, ids=None) -> list[int]:
        """The live prediction's segment ids (of ``ids``, or all) that are offered: not traced over."""
        pred = self.prediction
        if pred is None:
            return []
        chosen = sorted(pred.segments) if ids is None else list(ids)
        return [i for i in chosen if i in pred.segments and i not in self.traced_over]

    def _pixels(self, box: Box) -> None:
        item = self.view.annotation_item
        if item is not None and not box_is_empty(box):
            item.invalidate(box)

    def _segments(self) -> None:
        item = self.view.annotation_item
        if item is not None:
            item.set_extra_segments(())
            item.segments_changed()

    def _selection(self) -> None:
        item = self.view.annotation_item
        if item is not None and self._doc is not None:
            item.set_selected(self._doc.selected)

    def _hidden(self) -> None:
        item = self.view.annotation_item
        if item is not None and self._doc is not None:
            item.set_hidden(self._doc.hidden)

    # --- tools --------------------------------------------------------------------------------------
    def add_tool(self, tool: Tool) -> str:
        """Register a tool a feature brings (measuring's reference line) beside the editing tools;
        returns its key (the class name, which ``set_tool`` and the saved preferences use).
        ``ValueError`` when a tool of that key is registered already: replacing one would leave
        its menu action choosing a tool nobody holds."""
        key = type(tool).__name__
        if key in self.tools:
            raise ValueError(f"a tool {key!r} is registered already")
        self.tools[key] = tool
        return key

    def set_tool(self, name: str) -> None:
        tool = self.tools[name]
        if tool is self.tool:
            return
        self.tool = tool
        self.view.set_tool(tool)
        self._settings_changed()
        self.toolChanged.emit(tool)

    def _settings_changed(self) -> None:
        self.view.brush_cursor.set_diameter(self.settings.brush_size)

    # --- segment operations -------------------------------------------------------------------------
    def _guard(self, what: str, fn):
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - shown to the user, the document is unchanged
            self.report_error(e, what)
            return None

    def _area(self, ids) -> int:
        doc = self._doc
        return sum(doc.editor.areas.get(i, 0) for i in ids) if doc is not None else 0

    def delete_selected(self) -> None:
        doc = self._doc
        if doc is not None and doc.selected:
            ids = doc.selected
            self.edit("delete the segment", lambda ed: ed.delete_segments(ids), self._area(ids))

    def merge_selected(self) -> None:
        doc = self._doc
        if doc is None or len(doc.selected) < 2:
            self.message("Select two or more segments to merge (Ctrl+click).")
            return
        ids = doc.selected
        self.edit("merge the segments", lambda ed: ed.merge_segments(ids), self._area(ids[1:]))
        doc.select([ids[0]])

    def split_selected(self) -> None:
        doc = self._doc
        if doc is None or doc.primary is None:
            return
        seg = doc.primary
        before = doc.undo_stack.count()
        self.edit("split the segment", lambda ed: ed.split_segment(seg), self._area([seg]))
        if doc.undo_stack.count() == before and not doc.busy:
            self.message("The segment is already in one piece.")

    def set_category_of_selected(self, category_id: int) -> None:
        doc = self._doc
        if doc is None or not doc.selected or self._refuse_busy(doc):
            return
        ids = list(doc.selected)

        def change():
            doc.undo_stack.beginMacro(f"Change category of {len(ids)} segments") if len(ids) > 1 else None
            try:
                for seg_id in ids:
                    if seg_id in doc.editor.segments:
                        doc.run(lambda ed, s=seg_id: ed.set_category(s, category_id))
            finally:
                if len(ids) > 1:
                    doc.undo_stack.endMacro()
        self._guard("change the category", change)

    def accept_prediction(self, segment_ids: list[int] | None = None) -> None:
        """Copy predicted segments (all when None) into the annotation: one undo step. The whole
        prediction onto an annotated photo asks first: merge, replace or cancel."""
        doc, pred = self._doc, self.prediction
        if doc is None or pred is None:
            self.message("There is no prediction for this photo.")
            return
        if segment_ids is None and doc.editor.segments:
            from gui.dialogs.accept_prediction_dialog import MERGE, ask_merge_or_replace

            ask_merge_or_replace(self.view.window(), len(doc.editor.segments),
                                 lambda choice: self._accept_whole(doc, pred, merge=choice == MERGE))
            return
        behind = self.settings.paint_behind
        h, w = doc.editor.shape
        pixels = h * w if segment_ids is None else BACKGROUND_PIXELS // 2  # one segment: its box scan is quick
        ids = None if segment_ids is None and not self.traced_over else self.offered(segment_ids)
        if ids is not None and not ids:
            self.message("Those predicted segments were traced over; nothing to accept.")
            return
        name = "Accept prediction" if segment_ids is None else None
        self.edit("accept the prediction", lambda ed: ed.accept_prediction(pred, ids, behind, name), pixels,
                  select_new=True)

    def _accept_whole(self, doc: AnnotationDocument, pred: PanopticAnnotation, merge: bool) -> None:
        if doc is not self._doc or pred is not self.prediction:
            self.message("The photo or its prediction changed meanwhile; nothing was accepted.")
            return
        h, w = doc.editor.shape
        ids = self.offered() if self.traced_over else None  # what a trace replaced stays out

        def op(ed):
            from core.editing.merge import prediction_for_merge

            part = prediction_for_merge(ed.id_map, ed.segments, ed.categories, pred) if merge else pred
            return ed.accept_prediction(part, ids, False, "Merge the prediction" if merge else "Accept prediction")
        self.edit("merge the prediction" if merge else "accept the prediction", op, h * w, select_new=True)
