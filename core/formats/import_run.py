"""The loop that runs an import: ``ImportRun`` and its deferred per-item ``Job``.

An importer returns an :class:`ImportRun`: the dataset's categories (known before any item is read),
the number of items, and jobs that each read one item. Iterating the run fills its
:class:`ImportReport`, calls ``progress(done, total, message)`` and stops with ``CancelledError``
between items when ``cancel.is_set()``. One bad item never stops the batch: its failure becomes an
:class:`ImportProblem`.
"""
from __future__ import annotations

import logging
from contextlib import closing
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator

from core.categories import CategorySet
from core.errors import CancelledError, InspectorError
from core.formats.parallel import default_workers, ordered_map
from core.formats.records import ImportProblem, ImportReport, ImportResult
from core.progress import CancelFlag, ProgressFn

log = logging.getLogger(__name__)


class ImportRun:
    """The result of calling an importer: iterate it (once) to read the items one by one.

    Attributes:
        categories: the dataset's categories, complete before the first item is read.
        total: how many items will be produced (for progress bars; problems count as items).
        report: filled while iterating.
        workers: threads that read and convert items ahead of the consumer (results still come in
            order; decoding, labelling and numpy release the GIL). Set to 1 before iterating to
            keep everything on the calling thread.
    """

    def __init__(self, categories: CategorySet, total: int, items: Iterable[Callable[[], list[ImportResult]]],
                 source: str | Path = "", progress: ProgressFn | None = None, cancel: CancelFlag | None = None,
                 preamble: Iterable[ImportResult] = ()):
        self.categories = categories
        self.total = int(total)
        self.source = str(source)
        self.report = ImportReport(categories)
        self.workers = default_workers()
        self._jobs = items
        self._preamble = list(preamble)
        self._progress = progress
        self._cancel = cancel

    def _check_cancel(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise CancelledError("import cancelled", self.source)

    def _feed(self) -> Iterator[Callable[[], list[ImportResult]]]:
        for job in self._jobs:
            self._check_cancel()
            yield job

    def __iter__(self) -> Iterator[ImportResult]:
        for res in self._preamble:
            self.report.add(res)
            yield res
        done = 0
        with closing(ordered_map(_run_job, self._feed(), self.workers)) as outputs:
            for results, label in outputs:
                self._check_cancel()  # items read ahead are dropped once cancel is set
                for res in results:
                    self.report.add(res)
                    yield res
                done += 1
                if self._progress is not None:
                    self._progress(done, self.total, Path(label).name if label else "")

    def collect(self) -> list[ImportResult]:
        """All results in a list (small datasets and tests)."""
        return list(self)


def _run_job(job: Callable[[], list[ImportResult]]) -> tuple[list[ImportResult], str]:
    """Run one item's work; any failure becomes a problem for that item so the batch goes on."""
    label = getattr(job, "label", "")
    try:
        return job(), label
    except CancelledError:
        raise
    except InspectorError as e:
        return [ImportProblem.from_error(e, label)], label
    except Exception as e:  # a batch never stops on one bad item; the trace goes to the log
        log.exception("unexpected error importing %s", label)
        return [ImportProblem(label, f"unexpected error: {type(e).__name__}: {e}")], label


class Job:
    """A deferred per-item import step with a label (the item's path) for messages and progress."""

    def __init__(self, label: str | Path, fn: Callable[..., list[ImportResult]], *args: object) -> None:
        self.label = str(label)
        self._fn = fn
        self._args = args

    def __call__(self) -> list[ImportResult]:
        return self._fn(*self._args)
