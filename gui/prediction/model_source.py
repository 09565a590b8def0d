"""``ModelSource``: which model the project predicts with, and its loaded ``Predictor``.

The active model is the project's (``core.inference.project_model.active_model_id``); the training
package announces a new choice through ``activeModelChanged(model_id)`` and this follows it. A
predictor is loaded on a worker thread the first time it is needed and kept while its checkpoint
file is unchanged (loading DETR-R50 takes seconds; the slider and repeated predictions should not
pay that again). ``predictor()`` is called *from worker functions*; the cache is locked.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from gui.session.project_session import ProjectSession

log = logging.getLogger(__name__)


class ModelSource(QObject):
    changed = Signal(object, str)  # model id or None, a name to show ("" when none)
    #: ``core.report.provenance.ModelProvenance`` of the model (None: no model): its evaluation
    #: on the project, what the panels cite beside its figures. Emitted before ``changed``.
    provenanceChanged = Signal(object)

    def __init__(self, session: ProjectSession, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.model_id: int | None = None
        self.name = ""
        self.provenance = None
        self._lock = threading.Lock()
        self._use = threading.Lock()  # one run of the model at a time (see ``exclusive``)
        self._cached: tuple[tuple, object] | None = None  # ((model id, checkpoint, mtime), Predictor)
        session.opened.connect(lambda _p: self.refresh())
        session.closed.connect(self._closed)

    # --- which model ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the project's active model again (after opening, or after training registered one)."""
        from core.project.active_model import active_model_id

        project = self.session.project
        self._set(active_model_id(project) if project is not None else None)

    def set_active(self, model_id: int | None) -> None:
        """Follow ``activeModelChanged`` of the training panel (which stores the choice itself)."""
        self._set(model_id)

    def _set(self, model_id: int | None) -> None:
        project = self.session.project
        name = ""
        if model_id is not None and project is not None:
            try:
                name = project.models.get(model_id).name
            except Exception:  # noqa: BLE001 - deleted meanwhile: no model
                model_id = None
        self.model_id, self.name = model_id, name
        self.reload_provenance()
        self.changed.emit(model_id, name)

    def reload_provenance(self) -> None:
        """Read the model's evaluation on the project again (after an evaluation or a training epoch)."""
        from core.report.provenance import model_provenance

        project, model_id = self.session.project, self.model_id
        try:
            self.provenance = None if model_id is None or project is None else model_provenance(project, model_id)
        except Exception as e:  # noqa: BLE001 - deleted meanwhile: no provenance to cite
            log.warning("cannot read the evaluation of model %s: %s", model_id, e)
            self.provenance = None
        self.provenanceChanged.emit(self.provenance)

    def _closed(self) -> None:
        with self._lock:
            self._cached = None
        self._set(None)

    # --- the loaded model (worker threads) --------------------------------------------------------
    def predictor(self, project, model_id: int):
        """The checked ``Predictor`` of ``model_id`` (loaded now or cached). Call from a worker:
        the first call imports torch and reads the checkpoint. Raises the errors of
        ``load_project_predictor`` (missing, damaged, NaN weights, other categories)."""
        from core.inference.project_model import load_project_predictor

        rec = project.models.get(model_id)
        ckpt = rec.checkpoint
        try:
            mtime = Path(ckpt).stat().st_mtime_ns if ckpt is not None else None
        except OSError:
            mtime = None
        key = (model_id, str(ckpt), mtime)
        with self._lock:
            if self._cached is not None and self._cached[0] == key:
                return self._cached[1]
            predictor = load_project_predictor(project, model_id)
            self._cached = (key, predictor)
            return predictor

    @contextlib.contextmanager
    def exclusive(self, cancel=None):
        """Hold the model for one batch (a prediction run, an evaluation): the network is not
        run from two threads at once (predict changes the weights' memory layout on the CPU).
        Waiting stops with ``CancelledError`` when ``cancel`` is set."""
        from core.errors import CancelledError

        while not self._use.acquire(timeout=0.2):
            if cancel is not None and cancel.is_set():
                raise CancelledError("cancelled while waiting for the model")
        try:
            yield
        finally:
            self._use.release()

    def run(self, project, model_id: int, work, progress, cancel, total: int = 1):
        """On a worker thread: load (or reuse) the model, hold it, and return
        ``work(predictor)``; the one shape of "predict" and "evaluate"."""
        progress(0, total, "loading the model")
        with self.exclusive(cancel):
            return work(self.predictor(project, model_id))
