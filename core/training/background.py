"""A training run in a child process that reports on a queue, for programs that must stay
responsive while it runs (the desktop application).

    ctx = multiprocessing.get_context("spawn")
    queue, cancel, go = ctx.Queue(), ctx.Event(), ctx.Event()
    go.set()                                   # clear it to pause, set it again to continue
    proc = ctx.Process(target=child_main, args=(spec.to_dict(), queue, cancel, go))
    proc.start()
    # messages on ``queue``: ("record", record_to_dict(rec)) ..., then ("error", error_to_dict(e))
    # when it failed, and always ("end", exit status) last.

Why a process and not a thread: the training's own Python code (the loop, the Hungarian
matcher, the data pipeline) holds the interpreter lock and its torch threads take every core; in
a process of its own it cannot stall the window, and a crash or the kernel's out-of-memory killer
ends the training, not the program holding the user's annotations ("training from inside the tool
crashes the tool" is a common complaint about peer annotation tools).

The run itself is the one the command line makes (``build_trainer``: ``open_sources`` then
``Trainer``): same data selection, checkpoints, metrics file and resume.
"""
from __future__ import annotations

import logging
import os
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core import errors
from core.errors import InspectorError

log = logging.getLogger(__name__)

#: Seconds between looks at the cancel flag while paused.
_PAUSE_POLL_S = 0.1
#: Niceness the child adds to its own (POSIX): the window, not the training, gets the CPU first
#: when both want it; an idle machine still gives the training every core.
CHILD_NICENESS = 5


@dataclass(frozen=True)
class RunSpec:
    """What to train; plain values only (it crosses a process boundary).

    data: a project file or a COCO panoptic dataset (``core.data.open_sources``).
    output_dir: the run's folder (``last.pt``, ``best.pt``, ``metrics.jsonl``, ...).
    config: ``TrainConfig.to_dict()``; None with ``resume`` keeps the run's stored settings.
    resume: a resumable checkpoint (``last.pt``) to continue from, or "".
    overwrite: start afresh in a folder that already holds a run.
    """

    data: str
    output_dir: str
    config: dict | None = None
    resume: str = ""
    overwrite: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> RunSpec:
        return RunSpec(**d)


def build_trainer(spec: RunSpec, cancel=None):
    """The ``Trainer`` for ``spec``: the command line's code path (``open_sources`` + ``Trainer``).

    Raises ``InspectorError`` subclasses for unreadable data or checkpoints.
    """
    from core.data.sources import open_sources
    from core.training import Trainer
    from core.training.config import TrainConfig

    resume = Path(spec.resume) if spec.resume else None
    if spec.config is not None:
        try:
            config = TrainConfig.from_dict(spec.config)
        except ValueError as e:
            raise errors.TrainingError(str(e)) from e
    elif resume is not None:
        from core.training.checkpointing import stored_train_config

        config = stored_train_config(resume)
    else:
        raise errors.TrainingError("a run needs training settings or a checkpoint to resume")
    train_src, val_src = open_sources(spec.data)
    return Trainer(config, train_src, spec.output_dir, val_source=val_src, resume=resume,
                   overwrite=spec.overwrite, cancel=cancel)


def error_to_dict(e: BaseException) -> dict[str, Any]:
    """A picklable description of ``e`` that ``error_from_dict`` turns back into a typed error."""
    if isinstance(e, InspectorError):
        return {"type": type(e).__name__, "reason": e.reason, "path": e.path, "hint": e.hint}
    if isinstance(e, MemoryError):
        return {"type": "TrainingError", "reason": "the computer ran out of memory during training",
                "path": None, "hint": "use a smaller batch size or image size; the last checkpoint is kept"}
    return {"type": "unexpected", "reason": f"{type(e).__name__}: {e}", "path": None, "hint": None,
            "details": "".join(traceback.format_exception(type(e), e, e.__traceback__))}


class UnexpectedTrainingError(Exception):
    """An error the training code did not expect (a bug); ``details`` holds the child's traceback."""

    def __init__(self, reason: str, details: str = ""):
        super().__init__(reason)
        self.details = details


def error_from_dict(d: dict[str, Any]) -> BaseException:
    """Inverse of ``error_to_dict``: the same ``core.errors`` class when it is one."""
    cls = getattr(errors, str(d.get("type")), None)
    if isinstance(cls, type) and issubclass(cls, InspectorError):
        return cls(d.get("reason") or "training failed", d.get("path"), d.get("hint"))
    return UnexpectedTrainingError(f"the training stopped on an unexpected error: {d.get('reason')}",
                                   d.get("details", ""))


def _lower_priority() -> None:
    if hasattr(os, "nice"):
        try:
            os.nice(CHILD_NICENESS)
        except OSError:  # not allowed, or already at the lowest priority
            pass


def _use_default_start_method() -> None:
    """A spawned child inherits the ``spawn`` start method; its data-loader workers are then
    started as the command line starts them (``fork`` where the platform has it), so the run
    behaves the same (and its dataset need not be picklable)."""
    import multiprocessing
    import sys

    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        multiprocessing.set_start_method("fork", force=True)


def child_main(spec: dict, queue, cancel, go) -> None:
    """The child process: train ``spec`` and put its records on ``queue``.

    ``cancel`` (set: stop after the current step with a resumable checkpoint) and ``go`` (cleared:
    pause between two steps, holding the model in memory) are ``multiprocessing`` events. The
    trainer is a generator, so pausing is simply not asking it for the next step.
    """
    from core.training.records import record_to_dict

    logging.basicConfig(level=logging.WARNING, format="training: %(levelname)s %(name)s: %(message)s")
    _lower_priority()
    _use_default_start_method()
    status = "failed"
    parent = os.getppid()
    try:
        trainer = build_trainer(RunSpec.from_dict(spec), cancel)
        for rec in trainer.run():
            queue.put(("record", record_to_dict(rec)))
            if rec.kind == "summary":
                status = rec.status
            while True:
                if os.getppid() != parent:  # the program died: stop as on Cancel, resumable next time
                    cancel.set()
                if go.is_set() or cancel.is_set():
                    break
                go.wait(_PAUSE_POLL_S)
    except BaseException as e:  # noqa: BLE001 - every failure reaches the parent as a message
        log.debug("training failed:\n%s", traceback.format_exc())
        queue.put(("error", error_to_dict(e)))
    finally:
        try:
            from core.data.project_source import release_handles

            release_handles()
        except Exception:  # noqa: BLE001 - closing read-only handles cannot lose anything
            pass
        # The queue's feeder thread flushes this before the process exits (Queue.join_thread).
        queue.put(("end", status))


def _call_child(fn, args: tuple, queue) -> None:
    _lower_priority()
    try:
        queue.put(("ok", fn(*args)))
    except BaseException as e:  # noqa: BLE001 - reaches the parent as a message
        queue.put(("error", error_to_dict(e)))


def call_in_child(fn, args: tuple = (), cancel=None, poll_s: float = 0.1):
    """``fn(*args)`` in a fresh ``spawn`` process; its result (picklable) or its error re-raised
    as ``error_from_dict`` makes it. ``cancel.is_set()`` ends the child at once (terminated: use
    this only for work whose result can be thrown away, e.g. ``estimate`` timings) and raises
    ``CancelledError``. Blocks the calling thread: call it from a worker.

    Torch's thread count and memory stay the child's own, so a measurement never changes the
    settings of the calling program.
    """
    import multiprocessing
    import queue as queue_mod

    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_call_child, args=(fn, args, q), daemon=True)
    proc.start()
    try:
        while True:
            if cancel is not None and cancel.is_set():
                raise errors.CancelledError()
            try:
                kind, value = q.get(timeout=poll_s)
            except queue_mod.Empty:
                if not proc.is_alive() and q.empty():
                    raise errors.InspectorError(
                        f"the helper process ended unexpectedly (exit code {proc.exitcode})") from None
                continue
            if kind == "error":
                raise error_from_dict(value)
            return value
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(5)
        q.close()
