"""GUI fixtures: small projects on disk and an isolated window (helpers: ``tests.support.gui``)."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from core.project import Project
from tests.support.gui import annotation_for, write_photos


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
    from gui.shell.settings import Preferences

    return Preferences(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def window(qtbot, prefs):
    from gui.shell.main_window import MainWindow

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
