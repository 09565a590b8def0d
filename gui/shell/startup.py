"""Which project the window opens first: the one named on the command line, else the last one,
else the bundled sample project (made once into the user's data folder)."""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QStandardPaths

from core.project import PROJECT_SUFFIX
from gui.shell.settings import Preferences

log = logging.getLogger(__name__)


def sample_project_path() -> Path:
    base = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    return base / "sample" / f"Sample bridge inspection{PROJECT_SUFFIX}"


def choose_start_project(argv: list[str], prefs: Preferences) -> tuple[Path | None, bool]:
    """``(path, is_sample)``; the sample's path may not exist yet (``ensure_sample`` makes it)."""
    for arg in argv:
        if arg.endswith(PROJECT_SUFFIX):
            return Path(arg), False
    last = prefs.last_project()
    if last is not None and last.exists():
        return last, False
    if prefs.get_bool("startup/sample_offered", False) and last is not None:
        return None, False
    return sample_project_path(), True


def ensure_sample(dest: Path, progress=None, cancel=None) -> Path | None:
    """Make the sample project at ``dest`` unless it is there; None when it was cancelled."""
    if dest.exists():
        return dest
    # Imported here: the generator and the demo model are needed on the first start only.
    from core.demo.sample_project import build_sample_project

    dest.parent.mkdir(parents=True, exist_ok=True)
    # The first start's sample comes with the shipped demo model active and its predictions made.
    result = build_sample_project(dest, progress=progress, cancel=cancel, with_demo_model=True)
    return Path(result) if result is not None else dest
