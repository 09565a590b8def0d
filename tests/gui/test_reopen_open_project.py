"""Opening the project that is already open in this window (File > Open recent, File > Open)
changes nothing: it stays writable, nothing is reloaded, and the window comes to the front."""
from __future__ import annotations

import pytest

from tests.support.gui import open_project

pytestmark = pytest.mark.timeout(60)


def _recent_action(window, name: str):
    menu = window.actions.recent_menu
    menu.aboutToShow.emit()  # what opening the submenu does: the list is filled then
    return next(a for a in menu.actions() if a.text() == name)


def test_open_recent_on_the_open_project_is_a_no_op(qtbot, window, make_project):
    path = make_project(2, annotated=1)
    open_project(qtbot, window, path)
    project = window.session.project
    opened = []
    window.session.opened.connect(opened.append)
    _recent_action(window, path.name).trigger()
    qtbot.wait(300)
    assert window.session.project is project and not window.session.read_only and not opened
    assert "already open" in window.status.currentMessage()
    assert not [r for r in window.reporter.history]  # no warning about "another Panoptic Inspector"


def test_file_open_on_the_open_project_is_a_no_op_too(qtbot, window, make_project, monkeypatch):
    path = make_project(1, annotated=1)
    open_project(qtbot, window, path)
    project = window.session.project
    monkeypatch.setattr("gui.shell.project_actions.QFileDialog.getOpenFileName", lambda *a, **k: (str(path), ""))
    window.actions.a["open"].trigger()
    qtbot.wait(300)
    assert window.session.project is project and not window.session.read_only
