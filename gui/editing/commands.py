"""Undo commands: one ``core.editing.Edit`` each, replayed through the document's editor.

An edit holds only the changed box of the id map (run-length coded) and the segment-table diff,
so hundreds of undo steps on a 24-megapixel photo stay small. Tools apply their edit while the
user works (the stroke is visible as it is painted), so the first ``redo()`` that
``QUndoStack.push`` calls does nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

from core.editing import Edit

if TYPE_CHECKING:
    from gui.editing.document import AnnotationDocument


class EditCommand(QUndoCommand):
    def __init__(self, document: AnnotationDocument, edit: Edit):
        super().__init__(edit.name)
        self.document = document
        self.edit = edit
        self._skip_first_redo = True

    def redo(self) -> None:
        if self._skip_first_redo:
            self._skip_first_redo = False
            return
        self.document.editor.apply(self.edit)
        self.document.replayed(self.edit)

    def undo(self) -> None:
        self.document.editor.revert(self.edit)
        self.document.replayed(self.edit)


class TraceCommand(EditCommand):
    """An edit of a traced crack: the pixels (``edit``) and the segment's traces change together."""

    def __init__(self, document: AnnotationDocument, edit: Edit, before: dict, after: dict):
        super().__init__(document, edit)
        self.before, self.after = before, after

    def redo(self) -> None:
        first = self._skip_first_redo
        super().redo()
        if not first:  # the first redo: the document set the traces when it pushed the command
            self.document.set_traces(self.after)

    def undo(self) -> None:
        super().undo()
        self.document.set_traces(self.before)
