"""The one way the GUI runs long work: a ``Task`` on a thread pool that reports by signals.

A task wraps a plain function ``fn(progress, cancel) -> result`` (the shape every long core
function has: a ``progress(done, total, message)`` callback and a cancel flag with ``is_set()``).
It never touches a widget; its ``signals`` are delivered on the GUI thread (queued connection):

* ``progress(done, total, message)``
* ``finished(result)`` on success
* ``failed(error)`` with the exception, which ``ErrorReporter`` turns into a dialog
* ``cancelled()`` when it stopped because ``cancel()`` was asked (``core.errors.CancelledError``)

Every outcome also emits ``done()`` last, so a caller can always clean up in one place.
"""
from __future__ import annotations

import logging
import threading
import traceback
from typing import Any
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from core.errors import CancelledError

log = logging.getLogger(__name__)

#: ``fn(progress, cancel)``; ``progress(done, total, message)``; ``cancel.is_set()``.
TaskFn = Callable[[Callable[[int, int, str], None], threading.Event], Any]


class TaskSignals(QObject):
    progress = Signal(int, int, str)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    done = Signal()


class Task(QRunnable):
    """One unit of background work. Keep a reference while it runs (``TaskRunner`` does)."""

    def __init__(self, fn: TaskFn, name: str = "task"):
        super().__init__()
        self.setAutoDelete(False)  # the runner keeps it; its signals object must outlive run()
        self.fn = fn
        self.name = name
        self.signals = TaskSignals()
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def _progress(self, done: int, total: int, message: str = "") -> None:
        self.signals.progress.emit(int(done), int(total), str(message))

    def run(self) -> None:  # runs on a pool thread
        try:
            result = self.fn(self._progress, self.cancel_event)
        except CancelledError:
            self.signals.cancelled.emit()
        except BaseException as e:  # noqa: BLE001 - reported to the user by the GUI thread; a task's failure is never lost
            log.debug("task %s failed:\n%s", self.name, traceback.format_exc())
            self.signals.failed.emit(e)
        else:
            if self.cancel_event.is_set() and result is None:
                self.signals.cancelled.emit()
            else:
                self.signals.finished.emit(result)
        self.signals.done.emit()


class TaskRunner(QObject):
    """Starts tasks on a pool and keeps them alive until they are done.

    ``failed`` signals of every task also reach ``on_error`` (the window's ``ErrorReporter``)
    unless the caller connects its own handler and passes ``report_errors=False``.
    """

    def __init__(self, parent: QObject | None = None, max_threads: int | None = None,
                 on_error: Callable[[BaseException, str], object] | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        if max_threads:
            self.pool.setMaxThreadCount(max_threads)
        self._running: set[Task] = set()
        self.on_error = on_error

    def start(self, fn: TaskFn, name: str = "task", *, on_finished: Callable[[Any], None] | None = None,
              on_progress: Callable[[int, int, str], None] | None = None,
              on_failed: Callable[[BaseException], None] | None = None,
              on_done: Callable[[], None] | None = None,
              report_errors: bool = True, priority: int = 0) -> Task:
        """Run ``fn`` on the pool. The callbacks are connected before it starts, so none is missed
        however fast it ends (connect to ``task.signals`` afterwards only for what may be lost).
        ``on_done`` runs last after every outcome (finished, failed or cancelled)."""
        task = Task(fn, name)
        if on_finished:
            task.signals.finished.connect(self._guard(on_finished))
        if on_progress:
            task.signals.progress.connect(self._guard(on_progress))
        if on_failed:
            task.signals.failed.connect(self._guard(on_failed))
        on_error = self.on_error
        if report_errors and on_error is not None:
            task.signals.failed.connect(self._guard(lambda e, what=name: on_error(e, what)))
        if on_done:
            task.signals.done.connect(self._guard(on_done))
        task.signals.done.connect(lambda t=task: self._running.discard(t))
        self._running.add(task)
        self.pool.start(task, priority)
        return task

    def _guard(self, fn: Callable) -> Callable:
        """Results are delivered by queued signals, possibly after the window that asked for them
        has been deleted (closing while a task ends): then they are dropped, not run on dead objects."""
        def call(*args):
            if shiboken6.isValid(self):
                fn(*args)
        return call

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def cancel_all(self) -> None:
        for t in list(self._running):
            t.cancel()

    def wait(self, msecs: int = -1) -> bool:
        """Block until every task has returned (close, tests). True when all finished."""
        return self.pool.waitForDone(msecs)
