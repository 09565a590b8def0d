"""Clocks for training budgets in benchmarks.

``wall`` is what a user waits (``time.monotonic``). ``cpu`` is the work done: the process's CPU
seconds divided by its torch threads, so that on a quiet machine it runs as fast as the wall
clock, and on a shared one (other processes taking cores) every variant still gets the same
amount of computation. The data loader's worker process is not counted (reading and augmenting
photos is a small share of a step here).
"""
from __future__ import annotations

import time
from collections.abc import Callable

CLOCKS = ("wall", "cpu")


def budget_clock(kind: str, threads: int) -> Callable[[], float]:
    """A monotonic seconds function for ``Trainer(clock=...)``; ``threads`` >= 1 for ``cpu``."""
    if kind == "wall":
        return time.monotonic
    if kind == "cpu":
        share = float(max(threads, 1))
        return lambda: time.process_time() / share
    raise ValueError(f"unknown clock {kind!r}; known: {', '.join(CLOCKS)}")
