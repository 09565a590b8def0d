"""Process-wide tuning for command-line runs that churn through many images in their own threads.

Only the command line calls these: a long-lived process (the GUI) keeps the libraries' defaults.

**Memory.** glibc hands allocations above its mmap threshold back to the OS when they are
freed, and trims the heap top above its trim threshold; the next image's buffers are then
page-faulted in and zeroed again. Decoding 600 PNGs of 512 x 512 in ``main.py evaluate`` took ~100,000 minor page
faults and 0.3 s of system CPU that way, against ~13,000 and 0.05 s with the thresholds raised,
for a peak memory that is the same (the window of images in flight) but held until the process
exits.

**OpenCV threads.** When the command already runs one worker thread per core, OpenCV's own
thread pool inside each ``cvtColor`` / ``calcHist`` only adds hand-offs: with it off, the same
evaluation took ~5 % less CPU on 2 cores.
"""
from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
_MMAP_THRESHOLD = 32 << 20   # glibc's largest allowed on 64-bit: bigger blocks are still mapped
_TRIM_THRESHOLD = 256 << 20  # keep up to this much freed memory for reuse


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed buffers for reuse (see the module docstring); True when it agreed.

    A no-op returning False off Linux or without glibc's ``mallopt``.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
    log.debug("malloc thresholds raised: %s", ok)
    return ok


def single_threaded_opencv() -> None:
    """One thread inside each OpenCV call, for commands that parallelise across images themselves."""
    import cv2

    cv2.setNumThreads(1)
