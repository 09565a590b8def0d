"""Preferences kept between runs (``QSettings``): recent projects, view and tool options.

Typed accessors in one place, so a key is spelled once and every value comes back in its type
(QSettings returns strings for some back-ends).
"""
from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 8
_N = TypeVar("_N", int, float)


class Preferences:
    def __init__(self, settings: QSettings | None = None):
        self.qs = settings if settings is not None else QSettings()

    # --- generic ----------------------------------------------------------------------------------
    def get_float(self, key: str, default: float) -> float:
        return self._number(key, default, float)

    def get_int(self, key: str, default: int) -> int:
        return self._number(key, default, int)

    def _number(self, key: str, default: _N, kind: type[_N]) -> _N:
        """``kind(value)``, or ``default`` when the stored value is missing or no number (the file
        is the user's: a hand edit or another version may have left anything there)."""
        v = self.qs.value(key, default)
        if not isinstance(v, (int, float, str)):  # None, a list: no number
            return default
        try:
            return kind(v)
        except ValueError:
            return default

    def get_bool(self, key: str, default: bool) -> bool:
        v = self.qs.value(key, default)
        if isinstance(v, str):
            return v.lower() in ("1", "true", "yes")
        return bool(v)

    def get_str(self, key: str, default: str = "") -> str:
        v = self.qs.value(key, default)
        return default if v is None else str(v)

    def set(self, key: str, value) -> None:
        self.qs.setValue(key, value)

    # --- recent projects --------------------------------------------------------------------------
    def recent_projects(self) -> list[Path]:
        raw = self.qs.value("recent/projects", [])
        if isinstance(raw, str):  # QSettings gives a one-item list back as the item
            raw = [raw]
        elif not isinstance(raw, (list, tuple)):
            raw = []
        return [Path(p) for p in raw if p]

    def add_recent(self, path: Path) -> None:
        path = Path(path).resolve()
        items = [p for p in self.recent_projects() if p.resolve() != path]
        self.qs.setValue("recent/projects", [str(p) for p in ([path] + items)[:MAX_RECENT]])

    def remove_recent(self, path: Path) -> None:
        items = [p for p in self.recent_projects() if p != Path(path)]
        self.qs.setValue("recent/projects", [str(p) for p in items])

    def last_project(self) -> Path | None:
        items = self.recent_projects()
        return items[0] if items else None

    # --- per project ------------------------------------------------------------------------------
    @staticmethod
    def _project_key(path: Path) -> str:
        import hashlib

        return "projects/" + hashlib.sha1(str(Path(path).resolve()).encode("utf-8")).hexdigest()[:16]

    def last_photo(self, project: Path) -> int | None:
        """The photo that was open when the project was last used (kept here, not in the project,
        so looking at photos never writes to the project file)."""
        value = self.get_int(self._project_key(project) + "/last_photo", -1)
        return value if value >= 0 else None

    def set_last_photo(self, project: Path, image_id: int) -> None:
        self.qs.setValue(self._project_key(project) + "/last_photo", int(image_id))

    # --- window -----------------------------------------------------------------------------------
    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self.qs.value("window/geometry"), self.qs.value("window/state")

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self.qs.setValue("window/geometry", geometry)
        self.qs.setValue("window/state", state)

    def sync(self) -> None:
        self.qs.sync()
