"""Start the desktop application: check for a display, build QApplication and the main window."""
from __future__ import annotations

import os
import sys


def display_problem() -> str | None:
    """A one-line explanation when Qt would fail for lack of a screen, else None."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("No display found (DISPLAY is not set). Run it on a desktop, or headless with "
                "`xvfb-run -a make run` (Xvfb is installed by `make run` as root).")
    return None


def run_app(argv: list[str]) -> int:
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("Panoptic Inspector")
    app.setOrganizationName("PanopticInspector")
    window = MainWindow()
    window.show()
    return app.exec()
