"""Autosave: the document is written to the project shortly after each change, off the GUI thread.

* Debounced: a save starts ``delay_ms`` after the last change (a burst of strokes is one save).
* One save at a time; a change during a save schedules the next one (the newest state wins).
* Never during a stroke (the map then holds pixels that are not in the table yet).
* ``flush()`` saves now (Ctrl+S, switching photos, closing the window).
* A failed save keeps the document marked unsaved, reports the error once, and retries on the
  next change or ``flush()``; nothing in memory is lost.

``state`` is one of ``SAVED``, ``PENDING`` (changes not written yet), ``SAVING``, ``FAILED``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from core.panoptic import PanopticAnnotation
from gui.editing.document import AnnotationDocument
from gui.workers.base import TaskRunner

log = logging.getLogger(__name__)

SAVED, PENDING, SAVING, FAILED = "saved", "pending", "saving", "failed"

#: ``save(image_id, annotation)``, run on a worker thread (``project.annotations.save``).
SaveFn = Callable[[int, PanopticAnnotation], object]


class Autosaver(QObject):
    stateChanged = Signal(str)
    saved = Signal(int)        # image id whose annotation reached the project
    failed = Signal(object)    # the exception of a failed save

    def __init__(self, save: SaveFn, runner: TaskRunner, delay_ms: int = 800, parent: QObject | None = None):
        super().__init__(parent)
        self._save = save
        self._runner = runner
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._start)
        self._doc: AnnotationDocument | None = None
        self._saved_revision = 0
        self._saving = False
        self._failed = False
        self._state = SAVED
        self._waiters: list[Callable[[bool], None]] = []

    # --- the document -----------------------------------------------------------------------------
    def set_document(self, document: AnnotationDocument | None) -> None:
        """Follow another document. Call ``flush()`` first if the old one may hold changes."""
        if self._doc is not None:
            try:
                self._doc.contentChanged.disconnect(self._changed)
            except (RuntimeError, TypeError):
                pass
        self._doc = document
        self._saved_revision = document.revision if document is not None else 0
        self._failed = False
        if document is not None:
            document.contentChanged.connect(self._changed)
        self._update_state()

    @property
    def document(self) -> AnnotationDocument | None:
        return self._doc

    @property
    def state(self) -> str:
        return self._state

    @property
    def has_unsaved(self) -> bool:
        return self._doc is not None and self._doc.revision != self._saved_revision

    def _changed(self) -> None:
        self._failed = False
        self._timer.start()
        self._update_state()

    def _update_state(self) -> None:
        if self._saving:
            state = SAVING
        elif self._failed and self.has_unsaved:
            state = FAILED
        elif self.has_unsaved:
            state = PENDING
        else:
            state = SAVED
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    # --- saving -----------------------------------------------------------------------------------
    def flush(self, then: Callable[[bool], None] | None = None) -> None:
        """Save now if anything is unsaved; ``then(ok)`` runs when the document is saved (or the
        save failed)."""
        if then is not None:
            self._waiters.append(then)
        self._timer.stop()
        if self._saving:
            return  # the running save re-checks and saves again when it ends
        if not self.has_unsaved:
            self._notify(True)
            return
        self._start(force=True)

    def _start(self, force: bool = False) -> None:
        doc = self._doc
        if doc is None or self._saving or not self.has_unsaved:
            self._update_state()
            return
        if doc.live:  # mid-stroke: try again shortly
            self._timer.start(150)
            return
        revision, snapshot = doc.snapshot()
        image_id = doc.image_id
        self._saving = True
        self._update_state()

        def work(progress, cancel):
            self._save(image_id, snapshot)
            return revision

        self._runner.start(work, "save the annotation", on_finished=lambda rev, d=doc: self._done(d, rev, None),
                           on_failed=lambda e, d=doc: self._done(d, None, e), report_errors=False)

    def _done(self, doc: AnnotationDocument, revision: int | None, error: BaseException | None) -> None:
        self._saving = False
        if error is not None:
            log.warning("autosave failed: %s", error)
            self._failed = True
            self._update_state()
            self.failed.emit(error)
            self._notify(False)
            return
        if doc is self._doc:
            self._saved_revision = max(self._saved_revision, revision)
        self.saved.emit(doc.image_id)
        if doc is self._doc and self.has_unsaved and (self._waiters or not self._timer.isActive()):
            self._start(force=True)  # changes arrived while saving: write the newest state
            return
        self._update_state()
        if not self.has_unsaved:
            self._notify(True)

    def _notify(self, ok: bool) -> None:
        waiters, self._waiters = self._waiters, []
        for fn in waiters:
            fn(ok)
