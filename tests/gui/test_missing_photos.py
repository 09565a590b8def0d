"""Photos whose files were moved: a "Missing" badge in the photo list, a message that says the
file was moved (not that it is incomplete), and Photo > Locate photo file… that relinks it and
offers to find the other missing photos in the same folder."""
from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from gui.views.photo_browser import badges


pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def moved(make_project, tmp_path):
    """A project of three photos whose folder was renamed after; returns (project, new folder)."""
    path = make_project(3, annotated=1)
    new = tmp_path / "moved_photos"
    shutil.move(str(tmp_path / "test_photos"), str(new))
    return path, new


def _box(qtbot, window, name: str) -> QMessageBox:
    qtbot.waitUntil(lambda: any(b.isVisible() for b in window.findChildren(QMessageBox, name)), timeout=5000)
    return next(b for b in window.findChildren(QMessageBox, name) if b.isVisible())


def _click(qtbot, box: QMessageBox, text: str) -> None:
    button = next(b for b in box.buttons() if b.text().replace("&", "") == text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)


def _row_badges(window, row: int) -> list[str]:
    return badges(window.browser.proxy.index(row, 0))


def test_missing_photos_have_a_badge_and_a_message_that_says_moved(qtbot, window, moved):
    path, _ = moved
    window.project_actions.open_path(path)
    box = _box(qtbot, window, "missingPhotoMessage")
    text = (box.text() + " " + box.informativeText()).lower()
    assert "not found" in text and "moved" in text and "complete photo" not in text
    assert all("Missing" in _row_badges(window, r) for r in range(3))
    _click(qtbot, box, "Close")


def test_locate_relinks_the_photo_and_then_the_others_from_its_folder(qtbot, window, moved, monkeypatch):
    path, new = moved
    window.project_actions.open_path(path)
    box = _box(qtbot, window, "missingPhotoMessage")
    first = window.photo.record
    picked = new / first.name
    monkeypatch.setattr("gui.views.missing_photos.QFileDialog.getOpenFileName",
                        lambda *a, **k: (str(picked), ""))
    _click(qtbot, box, "Locate…")
    ask = _box(qtbot, window, "relinkOthersQuestion")
    assert "2 other" in ask.text() and str(new) in ask.text()
    assert "Missing" not in _row_badges(window, 0)
    _click(qtbot, ask, "Look there")
    qtbot.waitUntil(lambda: all(r.exists for r in window.session.images), timeout=10_000)
    assert all("Missing" not in _row_badges(window, r) for r in range(3))
    stored = {r.name: r.path for r in window.session.project.images.list()}
    assert stored == {p.name: p for p in new.iterdir()}
    qtbot.waitUntil(lambda: window.view.photo_item is not None and window.view.photo_item.full_resolution,
                    timeout=10_000)  # the photo is on the canvas now
    assert "found all 2" in window.status.currentMessage()


def test_locate_from_the_photo_menu_refuses_another_photo_with_a_reason(qtbot, window, moved, monkeypatch):
    path, new = moved
    window.project_actions.open_path(path)
    _click(qtbot, _box(qtbot, window, "missingPhotoMessage"), "Close")
    other = sorted(new.iterdir())[2]  # not the open photo
    monkeypatch.setattr("gui.views.missing_photos.QFileDialog.getOpenFileName", lambda *a, **k: (str(other), ""))
    assert window.actions.a["locate_photo"].isEnabled()
    window.actions.a["locate_photo"].trigger()
    assert "not the same photo" in window.reporter.history[-1].text
    assert not window.photo.record.exists
    window.reporter.history.clear()  # expected, not a failure of the window


def test_any_file_not_found_error_says_moved_not_incomplete(tmp_path):
    from core.errors import BadImageError
    from gui.shell.error_reporter import describe

    report = describe(BadImageError("file not found", tmp_path / "IMG_0042.jpg"), "predict the photo")
    assert "complete photo" not in report.hint and "moved" in report.hint
    other = describe(BadImageError("not a JPEG, PNG or TIFF", tmp_path / "notes.jpg"), "open the photo")
    assert "complete photo" in other.hint  # a broken file still gets that advice
