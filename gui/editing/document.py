"""``AnnotationDocument``: the annotation of one photo while it is edited.

It owns the ``core.editing.AnnotationEditor`` (the id map, the segment table and the areas), the
undo stack, and the segment selection and hidden set of the canvas. Every change goes through
``push(edit)`` (a new edit) or the undo stack (replays), and is announced by signals:

* ``pixelsChanged(box)``: pixels inside ``(y0, x0, y1, x1)`` changed (canvas repaints that box)
* ``segmentsChanged()``: the table changed (panels refresh, overlay recolours)
* ``contentChanged()``: anything that must be saved changed (autosave listens)
* ``selectionChanged()`` / ``hiddenChanged()``: view state only, never saved
* ``tracesChanged()``: the traced cracks' waypoints changed (``traces``; the tracer draws their
  handles). They change with the edit that traced them, in the same undo step.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtGui import QUndoStack

from core.categories import CategorySet
from core.editing import AnnotationEditor, Box, Edit, box_is_empty
from core.panoptic import PanopticAnnotation
from gui.editing.commands import EditCommand, TraceCommand


class AnnotationDocument(QObject):
    pixelsChanged = Signal(tuple)
    segmentsChanged = Signal()
    contentChanged = Signal()
    selectionChanged = Signal()
    hiddenChanged = Signal()
    busyChanged = Signal(bool)          # a large edit runs in the background: no other edit meanwhile
    tracesChanged = Signal()

    def __init__(self, image_id: int, editor: AnnotationEditor, parent: QObject | None = None):
        super().__init__(parent)
        self.image_id = image_id
        self.editor = editor
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(0)  # unlimited: edits are small (changed box only)
        self.revision = 0  # +1 per change of content (edit, undo, redo): what autosave compares
        self._selected: tuple[int, ...] = ()
        self._hidden: set[int] = set()
        self.live = False  # a stroke is being painted: the map holds pixels not yet in the table
        self.busy = False  # a large edit is being computed on a worker thread
        self.read_only = ""  # why edits are refused (a read-only project), "" when they are not
        #: ``{segment id: (core.assist.traces.Trace, ...)}``: the traced cracks' waypoints, kept with
        #: the project (``core.assist.trace_store``) so yesterday's trace can still be edited.
        self.traces: dict[int, tuple] = {}

    @classmethod
    def from_annotation(cls, image_id: int, annotation: PanopticAnnotation, categories: CategorySet,
                        areas: dict[int, int] | None = None, parent: QObject | None = None) -> AnnotationDocument:
        return cls(image_id, AnnotationEditor(annotation, categories, areas), parent)

    # --- state ------------------------------------------------------------------------------------
    @property
    def annotation(self) -> PanopticAnnotation:
        return self.editor.annotation

    @property
    def categories(self) -> CategorySet:
        return self.editor.categories

    def set_categories(self, categories: CategorySet) -> None:
        """Renames and recolours; the table is untouched (segments refer to category ids)."""
        self.editor.categories = categories
        self.segmentsChanged.emit()

    @property
    def selected(self) -> tuple[int, ...]:
        """Selected segment ids, the primary one first."""
        return self._selected

    @property
    def primary(self) -> int | None:
        return self._selected[0] if self._selected else None

    def select(self, ids: Iterable[int]) -> None:
        ids = tuple(i for i in dict.fromkeys(ids) if i in self.editor.segments)
        if ids != self._selected:
            self._selected = ids
            self.selectionChanged.emit()

    @property
    def hidden(self) -> frozenset[int]:
        return frozenset(self._hidden)

    def set_hidden(self, segment_id: int, hidden: bool) -> None:
        before = set(self._hidden)
        (self._hidden.add if hidden else self._hidden.discard)(segment_id)
        if before != self._hidden:
            self.hiddenChanged.emit()

    def segment_at(self, x: int, y: int) -> int:
        h, w = self.editor.shape
        if 0 <= x < w and 0 <= y < h:
            return int(self.editor.id_map[y, x])
        return 0

    # --- changes ----------------------------------------------------------------------------------
    def push(self, edit: Edit | None, traces: dict[int, tuple] | None = None) -> Edit | None:
        """Record an edit that the editor has already applied (one undo step); ``traces``:
        ``{segment id: traces or ()}`` that change with it (the same undo step)."""
        if edit is None:
            return None
        if traces:
            before = {k: self.traces.get(k, ()) for k in traces}
            self.undo_stack.push(TraceCommand(self, edit, before, dict(traces)))
            self.set_traces(traces)
        else:
            self.undo_stack.push(EditCommand(self, edit))
        self._announce(edit)
        return edit

    def set_traces(self, traces: dict[int, tuple]) -> None:
        """Replace the traces of the given segments (``()`` drops them); commands call it."""
        for k, v in traces.items():
            if v:
                self.traces[k] = tuple(v)
            else:
                self.traces.pop(k, None)
        self.tracesChanged.emit()

    def traces_of(self, segment_id: int | None) -> tuple:
        """The traces of a segment that is in the table and whose paths still run on its pixels
        (``()`` otherwise): a deleted crack's id may come back for a segment painted with the
        brush, which must not show the old waypoints."""
        if segment_id is None or segment_id not in self.editor.segments:
            return ()
        traces = self.traces.get(segment_id, ())
        if not traces:
            return ()
        from core.assist.trace_store import valid_traces

        return valid_traces({segment_id: traces}, self.editor.annotation).get(segment_id, ())

    def run(self, operation: Callable[[AnnotationEditor], Edit | None]) -> Edit | None:
        """Apply ``operation(editor)`` (a ``core.editing`` operation) as one undo step."""
        return self.push(operation(self.editor))

    def replayed(self, edit: Edit) -> None:
        """Called by commands after undo/redo."""
        self._announce(edit)

    def _announce(self, edit: Edit) -> None:
        self.revision += 1
        if not box_is_empty(edit.box):
            self.pixelsChanged.emit(edit.box)
        if edit.segments_after or edit.segments_before:
            gone = [i for i in self._selected if i not in self.editor.segments]
            self._hidden &= set(self.editor.segments)
            self.segmentsChanged.emit()
            if gone:
                self.select(i for i in self._selected if i in self.editor.segments)
        self.contentChanged.emit()

    def set_busy(self, busy: bool) -> None:
        """A worker edits the map (``EditingController.edit``): tools, undo and autosave wait."""
        self.busy = self.live = bool(busy)
        self.busyChanged.emit(self.busy)

    def live_pixels(self, box: Box) -> None:
        """A stroke in progress changed the map (not yet an undo step)."""
        if not box_is_empty(box):
            self.pixelsChanged.emit(box)

    def snapshot(self) -> tuple[int, PanopticAnnotation]:
        """``(revision, copy of the annotation)`` for saving off the GUI thread."""
        return self.revision, self.editor.annotation.copy()


def relink(old: AnnotationDocument | None, new: AnnotationDocument | None,
           links: Callable[[AnnotationDocument], Iterable[tuple[SignalInstance, Callable]]]) -> None:
    """Move a follower's connections from the document it followed (``old``) to the next
    (``new``); either may be None. ``links(doc)`` lists the ``(doc's signal, slot)`` pairs.

    Disconnecting tolerates a pair that is gone already: the old document's C++ object may have
    been deleted with its photo (RuntimeError) or the slot never connected (TypeError)."""
    if old is not None:
        for sig, slot in links(old):
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
    if new is not None:
        for sig, slot in links(new):
            sig.connect(slot)
