"""GUI test helpers: small projects on disk, an isolated window, waiting, and event-loop watching."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer, QObject, QSettings, QTimer

from core.imageio import encode_jpeg
from core.panoptic import PanopticAnnotation, Segment
from core.project import Project


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


@pytest.fixture
def make_project(tmp_path):
    """``make_project(n_photos, annotated=1) -> path`` of a closed project with small photos."""
    def make(n: int = 3, annotated: int = 1, w: int = 96, h: int = 64, name: str = "test") -> Path:
        files = write_photos(tmp_path / f"{name}_photos", n, w, h)
        path = tmp_path / f"{name}.pinspect"
        with Project.create(path) as project:
            project.images.add_files(files)
            for rec in project.images.list()[:annotated]:
                project.annotations.save(rec.id, annotation_for(rec.height, rec.width))
        return path
    return make


@pytest.fixture
def prefs(tmp_path):
    from gui.settings import Preferences

    return Preferences(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def window(qtbot, prefs):
    from gui.main_window import MainWindow

    # Not qtbot.addWidget: pytest-qt would close and delete it before this fixture's teardown,
    # while saves may still be running.
    w = MainWindow(prefs, show_error_dialogs=False, autosave_delay_ms=100)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    # Leave nothing running: save what is pending, then close for real.
    if w.autosaver.has_unsaved or w.autosaver.state == "saving":
        w.autosaver.flush()
        qtbot.waitUntil(lambda: w.autosaver.state in ("saved", "failed"), timeout=10_000)
    w.close()
    qtbot.waitUntil(lambda: not w.isVisible() and not w.runner.busy, timeout=10_000)
    w.deleteLater()
    qtbot.wait(1)
    unexpected = [r for r in w.reporter.history if r.unexpected]
    assert not unexpected, unexpected[0].details


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

    def __enter__(self) -> "LoopWatch":
        self.clock.start()
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.stop()


def settle(qtbot, ms: int = 50) -> None:
    qtbot.wait(ms)


def now() -> float:
    return time.perf_counter()
