"""Clocks for training budgets in benchmarks.

``wall`` is what a user waits (``time.monotonic``). ``cpu`` is the work done: the process's CPU
seconds divided by its torch threads, so that on a quiet machine it runs as fast as the wall
clock, and on a shared one (other processes taking cores) every variant still gets the same
amount of computation. The data loader's worker process is not counted (reading and augmenting
photos is a small share of a step here).

OpenMP threads that wait for each other spin by default, and spinning is CPU time: with more
threads than free cores a 2-thread run measured 0.44 images per CPU-second, a tenth of its rate on
a quiet machine. ``passive_waits()`` (call it before torch is imported, in the process or its
parent) makes waiting threads sleep, so the CPU clock counts work.
"""
from __future__ import annotations

import os
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


def passive_waits() -> None:
    """Waiting OpenMP threads sleep instead of spinning (before torch is imported; inherited by
    child processes); a value the user set is kept."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("GOMP_SPINCOUNT", "0")


def precision_words() -> str:
    """How training and prediction compute on this machine's CPU (``core.device.amp_dtype_for``),
    for a benchmark's header: step counts in a budget differ about 1.5x between the two."""
    import torch

    from core.device import amp_dtype_for

    amp = amp_dtype_for(torch.device("cpu"))
    return f"mixed precision {str(amp).removeprefix('torch.')}" if amp is not None else \
        "float32 (no native bfloat16 on this CPU)"
