"""GUI test helpers: small photos and annotations on disk, opening a project in the window,
waiting, and watching the event loop. Fixtures that use them are in ``tests/gui/conftest.py``."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, QTimer

from core.imageio import encode_jpeg
from core.panoptic import PanopticAnnotation, Segment


def photo(seed: int, w: int = 96, h: int = 64) -> np.ndarray:
    """A small photo: a smooth gradient with a dark block, different per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = (120 + 40 * np.sin(x / 9 + seed) + 20 * np.cos(y / 7)).astype(np.uint8)
    rgb = np.stack([base, base, (base * 0.9).astype(np.uint8)], axis=2)
    x0, y0 = rng.integers(0, w // 2), rng.integers(0, h // 2)
    rgb[y0:y0 + h // 3, x0:x0 + w // 3] = (30, 30, 35)
    return rgb


def write_photos(folder: Path, n: int, w: int = 96, h: int = 64, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, start + n):
        p = folder / f"photo_{i:03d}.jpg"
        p.write_bytes(encode_jpeg(photo(i, w, h)))
        out.append(p)
    return out


def annotation_for(h: int, w: int) -> PanopticAnnotation:
    id_map = np.zeros((h, w), np.int32)
    id_map[h // 2:] = 1                 # concrete (stuff) on the lower half
    id_map[4:12, 4:40] = 2              # a crack
    id_map[20:30, 50:70] = 3            # a spall
    return PanopticAnnotation(id_map, {1: Segment(1, 4), 2: Segment(2, 1), 3: Segment(3, 2)})


def open_project(qtbot, window, path: Path, timeout: int = 10_000):
    """Open ``path`` and wait until the first photo's annotation is on the canvas."""
    with qtbot.waitSignal(window.photo.documentReady, timeout=timeout):
        window.project_actions.open_path(path)
    return window.photo.document


def wait_until(qtbot, condition, timeout: int = 5000) -> None:
    qtbot.waitUntil(condition, timeout=timeout)


class LoopWatch(QObject):
    """Measures how long the event loop stays away: the largest gap between 5 ms timer ticks."""

    def __init__(self):
        super().__init__()
        self.timer = QTimer(self)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.max_gap_ms = 0
        self.ticks = 0

    def _tick(self) -> None:
        gap = self.clock.restart()
        if self.ticks:
            self.max_gap_ms = max(self.max_gap_ms, gap)
        self.ticks += 1

    def __enter__(self) -> LoopWatch:
        # The test process holds the objects of every test before this one (~500,000 in a full
        # run): a full cyclic collection over them stops this thread for 200-300 ms, a pause the
        # program itself does not have (it freezes its start-up heap, gui.shell.app). Freezing
        # them here measures the window, not the suite's history.
        import gc

        gc.collect()
        gc.freeze()
        self.clock.start()
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        import gc

        self.timer.stop()
        gc.unfreeze()


def settle(qtbot, ms: int = 50) -> None:
    qtbot.wait(ms)


def now() -> float:
    return time.perf_counter()
