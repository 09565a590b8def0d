"""How many CPU threads torch gets for the demo's training and predictions.

On a machine shared with other work, torch threads that wait for a busy core stall every step
(measured on the 2-core development machine at load 4: the demo model predicted a sample photo
in 0.22 s with one thread and 3.7 s with two; training made 34 steps in 45 s with one, 10 with
two), while on an idle machine every core helps. So the demo uses the cores that are idle.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from collections.abc import Iterator


def idle_cores() -> int:
    """CPU cores not busy with other work: cores minus the 1-minute load average, at least 1."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # no load average on this platform
        return cores
    return max(1, min(cores, int(cores - load + 0.5)))


@contextmanager
def torch_threads(threads: int = 0) -> Iterator[int]:
    """Within: torch's CPU thread count is ``threads`` (0: ``idle_cores()``); yields it. The
    process's previous count is restored after (torch's setting is process-wide)."""
    import torch

    before = torch.get_num_threads()
    chosen = threads if threads > 0 else idle_cores()
    torch.set_num_threads(chosen)
    try:
        yield chosen
    finally:
        torch.set_num_threads(before)
