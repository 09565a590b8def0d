"""At first start, while the sample project is being made (10-15 s), the photo list says so
instead of "No photos yet"; when it is ready, the project opens and the message goes."""
from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.timeout(60)


def test_the_photo_list_says_the_sample_is_being_prepared(qtbot, window, make_project, monkeypatch):
    import gui.shell.startup
    from gui.shell.app import open_start_project

    ready = threading.Event()
    real = make_project(2, annotated=1)

    def slow_sample(dest, progress=None, cancel=None):  # stands in for the generator and the demo model
        progress(3, 12, "wall_03.jpg")
        ready.wait(20)
        return real

    monkeypatch.setattr(gui.shell.startup, "sample_project_path", lambda: real.with_name("sample.pinspect"))
    monkeypatch.setattr(gui.shell.startup, "ensure_sample", slow_sample)
    open_start_project(window, [])  # no last project: the sample
    hint = window.browser.empty_hint
    qtbot.waitUntil(lambda: "3 of 12" in hint.text(), timeout=5000)
    assert hint.isVisible() and "Preparing the sample project" in hint.text()
    assert "No photos yet" not in hint.text()
    with qtbot.waitSignal(window.photo.documentReady, timeout=20_000):
        ready.set()
    assert not hint.isVisible() and window.browser.list.isVisible()
