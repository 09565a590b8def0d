"""A small text progress bar for the command line (stderr), shared by every sub-command.

Library code reports progress through a callback ``progress(done, total, message)``; the CLI
passes ``ProgressBar(...)`` as that callback.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Callable ``(done, total, message="")`` that redraws one line at most ~10 times a second.

    On a non-terminal stream (CI logs) it prints a plain line every 10 % instead of redrawing.
    """

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._last_decile = -1
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, done: int, total: int | None = None, message: str = "") -> None:
        now = time.monotonic()
        elapsed = now - self.start
        if total:
            frac = min(max(done / total, 0.0), 1.0)
            eta = elapsed / frac - elapsed if frac > 0 else float("nan")
            bar = "#" * int(frac * self.width) + "-" * (self.width - int(frac * self.width))
            text = f"{self.label} [{bar}] {done}/{total} {frac:4.0%} eta {_fmt(eta)} {message}"
        else:
            frac = None
            text = f"{self.label} {done} {_fmt(elapsed)} {message}"
        if self._tty:
            if now - self._last_draw < 0.1 and (total is None or done < total):
                return
            self._last_draw = now
            self.stream.write("\r" + text[:160].ljust(100))
            if total and done >= total:
                self.stream.write("\n")
        else:
            decile = int(frac * 10) if frac is not None else -1
            if frac is None or decile > self._last_decile:
                self._last_decile = decile
                self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()


def _fmt(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):  # NaN / inf
        return "--:--"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
