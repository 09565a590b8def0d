"""What the screenshot scripts (``tools/screenshot_*.py``) share: a fresh user's settings, the
application, the sample project, the main window, waiting on it and saving grabs.

    from tools.shots import fresh_user, make_app, sample_project, open_window, spin, save

    tmp = fresh_user("pi-shots-")                 # before the QApplication: settings and data in tmp
    app = make_app()                              # gui.shell.app.create_app + the light palette
    path = sample_project(tmp, with_demo_model=True)
    w = open_window(app, path, (1600, 1000))      # shown, the project open, its first photo loaded
    open_photo(app, w, "wall_05.jpg")
    save(w, out / "gui_x.png")                    # a widget (grabbed) or a pixmap

Nothing outside the temporary folder is touched: ``fresh_user`` points the XDG folders (where
QSettings and QStandardPaths look on Linux) into it, so every run starts as a new user would.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def fresh_user(prefix: str = "pi-shots-") -> Path:
    """A new temporary folder holding this process's settings, data and cache (XDG_CONFIG_HOME,
    XDG_DATA_HOME, XDG_CACHE_HOME), as on a first start. Call it before the QApplication exists."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        (tmp / sub).mkdir()
        os.environ[var] = str(tmp / sub)
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")
    return tmp


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """``--out`` (default docs/images) and ``--size`` (the window, default 1600x1000)."""
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--size", default="1600x1000", help="window size, WIDTHxHEIGHT")


def window_size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def make_app(theme: str | None = "light"):
    """The application as ``main.py`` makes it (``gui.shell.app.create_app``), in the light palette
    unless ``theme`` is None (then the user's setting, i.e. the system's on a first start)."""
    from gui.shell.app import create_app
    from gui.shell.theme import apply_theme

    app = create_app([])
    if theme is not None:
        apply_theme(app, theme)
    return app


def spin(app, seconds: float = 0.0, until=None, timeout: float = 60.0) -> bool:
    """Run the event loop for ``seconds``, or until ``until()`` is true (at most ``timeout`` s).
    Returns False when the wait timed out."""
    end = time.perf_counter() + (timeout if until else seconds)
    ok = until is None
    while time.perf_counter() < end:
        app.processEvents()
        if until is not None and until():
            ok = True
            break
        time.sleep(0.01)
    for _ in range(5):
        app.processEvents()
    return ok


def sample_project(tmp: Path, *, with_demo_model: bool = False) -> Path:
    """The sample project in ``tmp`` (``core.demo.sample_project.build_sample_project``); with the
    shipped demo model active and every photo predicted when asked (what a first start makes)."""
    from core.demo.sample_project import build_sample_project

    return build_sample_project(tmp / "Sample bridge inspection.pinspect", with_demo_model=with_demo_model)


def open_window(app, project: Path | None, size: tuple[int, int] = (1600, 1000)):
    """A MainWindow with this user's (fresh) preferences, sized, at the screen's corner, shown;
    with ``project`` opened and its photo loaded at full resolution."""
    from gui.shell.main_window import MainWindow

    w = MainWindow(show_error_dialogs=False)
    w.resize(*size)
    w.move(0, 0)
    w.show()
    if project is not None:
        w.project_actions.open_path(project)
        if not spin(app, until=lambda: w.photo.document is not None and w.view.photo_item is not None
                    and w.view.photo_item.full_resolution, timeout=120):
            raise TimeoutError(f"{project} did not open")
    return w


def photo_ready(w, image_id: int) -> bool:
    return (w.photo.document is not None and w.photo.record is not None and w.photo.record.id == image_id
            and w.view.photo_item.full_resolution)


def open_photo(app, w, name: str, until=None, timeout: float = 60.0):
    """Select the photo called ``name`` in the list and wait until it is on the canvas (and
    ``until()``, when given). Returns its record."""
    rec = next(r for r in w.session.images if r.name == name)
    w.browser.select_image(rec.id)
    if not spin(app, until=lambda: photo_ready(w, rec.id) and (until is None or until()), timeout=timeout):
        raise TimeoutError(f"{name} did not open")
    return rec


def save(image, path: Path, scale: float = 1.0) -> Path:
    """Save a QPixmap, or a widget's ``grab()``, as ``path`` (PNG), scaled smoothly when asked."""
    from PySide6.QtCore import Qt

    pixmap = image if hasattr(image, "save") and not hasattr(image, "grab") else image.grab()
    if scale != 1.0:
        pixmap = pixmap.scaledToWidth(int(pixmap.width() * scale), Qt.TransformationMode.SmoothTransformation)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(str(path)):
        raise OSError(f"could not write {path}")
    print("wrote", path, flush=True)
    return path


def grab_screen(app, rect) -> object:
    """What the screen shows inside ``rect`` (a QRect in global coordinates): unlike ``grab()``,
    it includes top-level windows over the widget (dialogs, tooltips)."""
    return app.primaryScreen().grabWindow(0, rect.x(), rect.y(), rect.width(), rect.height())


def close_window(app, w) -> None:
    """Close the window without the autosave of the open photo (the project is a temporary one)."""
    w.autosaver.set_document(None)
    w.close()
    spin(app, until=lambda: not w.isVisible(), timeout=30)
