"""Start the desktop application: check for a display, build QApplication and the main window."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path


def display_problem() -> str | None:
    """A one-line explanation when Qt would fail for lack of a screen, else None."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("No display found (DISPLAY is not set). Run it on a desktop, or headless with "
                "`xvfb-run -a make run` (Xvfb is installed by `make run` as root).")
    return None


def setup_logging() -> Path | None:
    """Log to a file in the user's data folder (what a bug report needs), warnings to stderr."""
    from PySide6.QtCore import QStandardPaths

    root = logging.getLogger()
    root.setLevel(logging.INFO)
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.WARNING)
    root.addHandler(stderr)
    try:
        folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "panoptic-inspector.log"
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        return path
    except OSError:
        return None


def create_app(argv: list[str]):
    from PySide6.QtWidgets import QApplication

    from gui.shell.settings import Preferences
    from gui.shell.theme import apply_theme

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    assert isinstance(app, QApplication), "a QCoreApplication exists already: the GUI needs a QApplication"
    app.setApplicationName("Panoptic Inspector")
    app.setOrganizationName("PanopticInspector")
    app.setApplicationDisplayName("Panoptic Inspector")
    from gui.shell.desktop_integration import apply_identity

    apply_identity(app)
    apply_theme(app, os.environ.get("PANOPTIC_THEME") or Preferences().get_str("view/theme", "system"))
    return app


def open_start_project(window, argv: list[str]) -> None:
    """Open the project named on the command line, the last one, or the sample (made in the
    background the first time)."""
    from gui.shell import startup
    from gui.shell.startup import choose_start_project

    path, is_sample = choose_start_project(argv, window.prefs)
    if path is None:
        return
    if not is_sample:
        window.project_actions.open_path(path)
        return
    window.prefs.set("startup/sample_offered", True)
    # The photo list would say "No photos yet" for the 10-15 s this takes: it says what happens.
    preparing = "Preparing the sample project…\n\nIt opens by itself when it is ready."
    window.browser.set_preparing(preparing)

    def work(progress, cancel):
        # Looked up at call time: tests put a stand-in in its place.
        return startup.ensure_sample(path, progress, cancel)

    def progress(done: int, total: int, what: str) -> None:
        # Two passes over the photos (import, then the demo model's predictions): counted, named.
        window.browser.set_preparing(f"Preparing the sample project…\n\n{done} of {total}: {what}\n\n"
                                     "It opens by itself when it is ready.")

    def finished(result):
        if result is not None:
            window.project_actions.open_path(result)

    task = window.runner.start(work, "prepare the sample project", on_finished=finished, on_progress=progress,
                               on_done=lambda: window.browser.set_preparing(None))
    window.status.track(task, "Preparing the sample project")


def run_app(argv: list[str]) -> int:
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    app = create_app(argv)
    setup_logging()
    from gui.shell.desktop_integration import ProjectOpenFilter
    from gui.shell.error_reporter import install_excepthook
    from gui.shell.main_window import MainWindow
    from gui.shell.single_instance import ProjectBeacon, hand_over

    # A project already open in another window of ours: bring that one forward instead of
    # opening the same file twice (the store would open read-only here).
    if hand_over(argv):
        return 0
    window = MainWindow()
    install_excepthook(window.reporter)
    ProjectBeacon(window).follow(window.session)
    # macOS Finder and other launchers deliver "open this file" as an event, not as argv.
    app.installEventFilter(ProjectOpenFilter(window.project_actions.open_path, window))
    close_on_signals(window)
    window.show()
    open_start_project(window, argv)
    # Everything made so far (Qt wrappers, the libraries' module objects) lives as long as the
    # program: out of the cyclic collector's reach, a full collection later walks only what the
    # session makes, instead of stopping the GUI thread for a pass over every start-up object.
    import gc

    gc.freeze()
    return app.exec()


def close_on_signals(window) -> None:
    """Ctrl+C in the terminal or SIGTERM (logout, ``kill``) closes the window the normal way, so
    pending edits are saved first. Python handles signals only between bytecodes, hence the timer
    that wakes the interpreter while Qt's loop waits."""
    import signal

    from PySide6.QtCore import QTimer

    def handler(signum, frame):
        QTimer.singleShot(0, window.close)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread, or not on this platform
            pass
    wake = QTimer(window)
    wake.setInterval(250)
    wake.timeout.connect(lambda: None)
    wake.start()
