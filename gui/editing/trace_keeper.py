"""Keeps an open photo's traced cracks (their waypoints) in the project across sessions.

``keep_traces(document, project, autosaver)`` reads the photo's stored traces into
``document.traces`` (``core.assist.trace_store``: only those that still fit the annotation) and,
each time the autosaver has written the annotation, writes the traces if they changed since:
the traces follow the annotation they describe, never run ahead of it. The write is a few
kilobytes of JSON in the project's ``meta`` table, done on the GUI thread right after the save.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject

from core.assist.trace_store import load_traces, save_traces
from gui.editing.autosave import Autosaver
from gui.editing.document import AnnotationDocument

log = logging.getLogger(__name__)


class TraceKeeper(QObject):
    """Child of the document: its connections end with it."""

    def __init__(self, document: AnnotationDocument, project, autosaver: Autosaver):
        super().__init__(document)
        self.document, self.project = document, project
        self.dirty = False
        document.traces = load_traces(project, document.image_id, document.annotation)
        document.tracesChanged.connect(self._changed)
        autosaver.saved.connect(self._saved)

    def _changed(self) -> None:
        self.dirty = True

    def _saved(self, image_id: int) -> None:
        doc = self.document
        if image_id != doc.image_id or not self.dirty or getattr(self.project, "read_only", False):
            return
        traces = {k: v for k, v in doc.traces.items() if k in doc.editor.segments and v}
        try:
            save_traces(self.project, image_id, traces)
            self.dirty = False
        except Exception as e:  # noqa: BLE001 - the annotation is saved; the waypoints are an aid
            log.warning("the traced cracks' waypoints of image %s were not stored: %s", image_id, e)


def keep_traces(document: AnnotationDocument, project, autosaver: Autosaver) -> TraceKeeper | None:
    """Load and keep ``document``'s traces in ``project`` (None without a project)."""
    if project is None:
        return None
    return TraceKeeper(document, project, autosaver)
