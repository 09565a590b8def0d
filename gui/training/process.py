"""``TrainingProcess``: one training run in a child process, seen from the GUI thread as signals.

The child (``core.training.background.child_main``) puts records on a queue; a timer on the GUI
thread drains it a few times a second, within a small time budget per tick, so a burst of
records never stalls the window. Nothing here blocks: pausing, continuing and cancelling set
``multiprocessing`` events the child looks at between two training steps.

Signals (GUI thread):
    record(ProgressRecord): every record the trainer yields, in order.
    failed(Exception): the run stopped on an error (typed ``core.errors`` when it was one), or the
        process died without a word (killed, out of memory).
    ended(str): always last: ``finished`` | ``cancelled`` | ``time_limit`` | ``failed``.
"""
from __future__ import annotations

import logging
import multiprocessing
import queue as queue_mod
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from core.errors import TrainingError
from core.training.background import RunSpec, child_main, error_from_dict
from core.training.records import record_from_dict

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

log = logging.getLogger(__name__)

#: How often the queue is drained, and the most one drain may take (the window stays smooth).
POLL_MS, DRAIN_BUDGET_S = 50, 0.02
#: An ended run's process that has not exited after this long is terminated.
EXIT_GRACE_S = 20.0


class TrainingProcess(QObject):
    record = Signal(object)
    failed = Signal(object)
    ended = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._ctx = multiprocessing.get_context("spawn")  # no forked copy of Qt's threads
        # all four are set together by start() and cleared together by _finish()
        self._proc: BaseProcess | None = None
        self._queue: Queue | None = None
        self._cancel: Event | None = None
        self._go: Event | None = None
        self._status = "failed"
        self._error_seen = False
        self._exiting: list = []  # (process, since): ended runs whose process is still exiting
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._tick)

    # --- control ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True from ``start`` until ``ended`` is emitted."""
        return self._proc is not None

    @property
    def paused(self) -> bool:
        return self._go is not None and not self._go.is_set()

    @property
    def cancelling(self) -> bool:
        return self._cancel is not None and self._cancel.is_set()

    def start(self, spec: RunSpec) -> None:
        if self.running:
            raise TrainingError("a training run is already in progress")
        self._queue = messages = self._ctx.Queue()
        self._cancel, self._go = cancel, go = self._ctx.Event(), self._ctx.Event()
        go.set()
        self._status, self._error_seen = "failed", False
        self._proc = proc = self._ctx.Process(target=child_main, name="training",
                                              args=(spec.to_dict(), messages, cancel, go))
        proc.start()
        self._timer.start()

    def pause(self) -> None:
        """Hold the run between two steps (the model stays in memory)."""
        if self._go is not None:
            self._go.clear()

    def resume(self) -> None:
        if self._go is not None:
            self._go.set()

    def cancel(self) -> None:
        """Stop after the current step with a resumable checkpoint (``ended("cancelled")``)."""
        if self._cancel is not None and self._go is not None:
            self._cancel.set()
            self._go.set()  # a paused run must wake up to stop

    def kill(self) -> None:
        """Last resort when a run does not stop: end the process (its last checkpoint stays)."""
        if self._proc is not None and self._proc.is_alive():
            log.warning("ending the training process %s by force", self._proc.pid)
            self._proc.terminate()

    # --- the queue --------------------------------------------------------------------------------
    def _tick(self) -> None:
        if self._proc is not None:
            self._drain()
        self._reap()

    def _drain(self) -> None:
        assert self._queue is not None  # a run is on: _tick checked its process
        deadline = time.monotonic() + DRAIN_BUDGET_S
        while time.monotonic() < deadline:
            try:
                kind, payload = self._queue.get_nowait()
            except queue_mod.Empty:
                break
            except (EOFError, OSError, ValueError) as e:  # the pipe broke with the child
                log.warning("training queue unreadable: %s", e)
                break
            if kind == "record":
                try:
                    rec = record_from_dict(payload)
                except (KeyError, TypeError, ValueError) as e:
                    log.warning("unreadable training record %r: %s", payload, e)
                    continue
                self.record.emit(rec)
            elif kind == "error":
                self._error_seen = True
                self.failed.emit(error_from_dict(payload))
            elif kind == "end":
                self._status = str(payload)
                self._finish()
                return
        if self._proc is not None and not self._proc.is_alive() and self._queue.empty():
            # Gone without its last message: killed (out of memory?) or crashed.
            code = self._proc.exitcode
            self.failed.emit(TrainingError(
                f"the training process ended unexpectedly (exit code {code})",
                hint="the computer may have run out of memory; the last saved checkpoint is kept, "
                     "resume from the Models panel, perhaps with a smaller batch or image size"))
            self._error_seen = True
            self._status = "failed"
            self._finish()

    def _finish(self) -> None:
        # The child has sent its last message and is exiting (flushing, freeing its memory);
        # it is reaped by the timer, never waited for on this thread.
        assert self._queue is not None  # only a running run finishes
        self._exiting.append((self._proc, time.monotonic()))
        self._proc = None
        self._queue.close()
        self._queue = self._cancel = self._go = None
        self.ended.emit(self._status)

    def _reap(self) -> None:
        alive = []
        for proc, since in self._exiting:
            if proc.is_alive():
                if time.monotonic() - since > EXIT_GRACE_S:
                    proc.terminate()
                alive.append((proc, since))
            else:
                proc.join(0)
        self._exiting = alive
        if not alive and self._proc is None:
            self._timer.stop()
