"""The app's icon and desktop name, and project files the system asks it to open (macOS)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from gui.shell.desktop_integration import (DESKTOP_FILE_NAME, ICON_SIZES, ProjectOpenFilter, application_icon,
                                           apply_identity)

ROOT = Path(__file__).resolve().parents[2]


def test_icon_has_every_size_drawn(qapp):
    icon = application_icon()
    assert not icon.isNull()
    assert {s.width() for s in icon.availableSizes()} == set(ICON_SIZES)
    small = icon.pixmap(QSize(16, 16)).toImage()
    assert small.width() == 16 and small.pixelColor(0, 0).alpha() < 255  # rounded corner, not a square


def test_identity_matches_the_desktop_file(qapp):
    apply_identity(qapp)
    assert not QApplication.windowIcon().isNull()
    assert qapp.desktopFileName() == DESKTOP_FILE_NAME
    assert (ROOT / "packaging" / "linux" / f"{DESKTOP_FILE_NAME}.desktop").is_file()


def test_a_project_file_the_system_sends_is_opened_and_other_files_are_left_alone(qapp, tmp_path):
    opened = []
    filt = ProjectOpenFilter(opened.append, qapp)
    qapp.installEventFilter(filt)
    try:
        project = tmp_path / "Brücke Nord.PINSPECT"
        assert QApplication.sendEvent(qapp, QFileOpenEvent(str(project)))
        assert opened == [project]
        assert not QApplication.sendEvent(qapp, QFileOpenEvent(str(tmp_path / "photo.jpg")))
        assert opened == [project]
    finally:
        qapp.removeEventFilter(filt)


def test_a_missing_icon_is_logged_and_the_app_still_gets_its_name(qapp, monkeypatch, caplog):
    import core.resources

    monkeypatch.setattr(core.resources, "RESOURCES_DIR", Path("/nonexistent/resources"))
    qapp.setDesktopFileName("")
    apply_identity(qapp)
    assert qapp.desktopFileName() == DESKTOP_FILE_NAME
    assert "icon is missing" in caplog.text
