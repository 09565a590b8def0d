"""Per-item work on a small thread pool, results in input order (importers and exporters).

Decoding photos and masks, labelling and numpy release the GIL, so a few threads overlap the
reading of one item with the conversion of the next; order is kept so that ids, names and
progress stay deterministic.
"""
from __future__ import annotations

import os
from collections import deque
from typing import TypeVar
from collections.abc import Callable, Generator, Iterable

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Threads for per-item work: up to 4, never more than the CPUs."""
    return max(1, min(4, os.cpu_count() or 1))


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int,
                prefetch: int | None = None) -> Generator[R, None, None]:
    """``map(fn, items)`` on a thread pool, results in input order, at most ``prefetch`` in flight.

    ``items`` is consumed on the caller's thread (so name allocation and cancel checks there stay
    ordered). An exception from ``fn`` comes out at its position; on exit, queued work is
    cancelled and running work awaited, so nothing writes after the caller has moved on. Use it
    under ``contextlib.closing`` when the consumer may stop early.
    """
    if workers <= 1:
        for item in items:
            yield fn(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    prefetch = prefetch or 2 * workers
    pending: deque = deque()
    source = iter(items)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="formats")
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < prefetch:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                pending.append(pool.submit(fn, item))
            if not pending:
                return
            yield pending.popleft().result()
    finally:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=True)
