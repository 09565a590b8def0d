"""How long work in core reports progress and is told to stop: one protocol for every part.

    def import_things(..., progress: ProgressFn | None = None, cancel: CancelFlag | None = None):
        for i, item in enumerate(items):
            if cancel is not None and cancel.is_set():
                raise CancelledError(...)
            ...
            if progress is not None:
                progress(i + 1, len(items), item.name)

The command line turns the calls into a progress bar, the window into signals of a worker; a
``threading.Event`` (or a ``multiprocessing`` one) is a ``CancelFlag``.
"""
from __future__ import annotations

from typing import Protocol
from collections.abc import Callable

#: ``progress(done, total, message)``: ``done`` of ``total`` steps finished, the last one named.
ProgressFn = Callable[[int, int, str], None]


class CancelFlag(Protocol):
    """Anything with ``is_set()``: true once the work should stop (``threading.Event`` is one)."""

    def is_set(self) -> bool: ...
