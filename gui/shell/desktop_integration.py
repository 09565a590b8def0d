"""How the app presents itself to the desktop: its icon, the name of its .desktop file, and the
project files the system asks it to open.

- ``apply_identity(app)``: window and taskbar icon (resources/icons), the application version, and
  the desktop file name, which Wayland and the X11 task bars use to match windows to
  ``panoptic-inspector.desktop`` (packaging/linux).
- ``ProjectOpenFilter``: macOS does not put a double-clicked file on the command line; Finder
  sends a ``QFileOpenEvent`` to the running application instead (at start and later).
"""
from __future__ import annotations

import logging
from pathlib import Path
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFileOpenEvent, QIcon
from PySide6.QtWidgets import QApplication

from core import __version__
from core.project import PROJECT_SUFFIX

log = logging.getLogger(__name__)

DESKTOP_FILE_NAME = "panoptic-inspector"  # packaging/linux/panoptic-inspector.desktop
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def application_icon() -> QIcon:
    """The app icon with every rendered size, so no size is scaled from another. Raises
    FileNotFoundError (listing the resources) when the icon files are missing."""
    from core.resources import resource_path

    icon = QIcon()
    for n in ICON_SIZES:
        icon.addFile(str(resource_path(f"icons/panoptic-inspector-{n}.png")))
    return icon


def apply_identity(app: QApplication) -> None:
    """Icon, version and desktop file name. A missing icon (an install without ``resources/``)
    is logged; the app still starts."""
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(DESKTOP_FILE_NAME)
    try:
        app.setWindowIcon(application_icon())
    except FileNotFoundError as e:
        log.warning("the application icon is missing: %s", e)


def project_in(event: QEvent) -> Path | None:
    """The project file a FileOpen event asks for, or None when it is something else."""
    if event.type() != QEvent.Type.FileOpen or not isinstance(event, QFileOpenEvent):
        return None
    path = event.file()
    return Path(path) if path and path.lower().endswith(PROJECT_SUFFIX) else None


class ProjectOpenFilter(QObject):
    """Install on the QApplication: ``app.installEventFilter(ProjectOpenFilter(open_path, app))``;
    ``open_path(Path)`` is called for each project file the system asks to open."""

    def __init__(self, open_path: Callable[[Path], None], parent: QObject | None = None):
        super().__init__(parent)
        self.open_path = open_path

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        path = project_in(event)
        if path is None:
            return False
        log.info("asked by the system to open %s", path)
        self.open_path(path)
        return True
