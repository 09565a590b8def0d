"""The one lookup for files shipped in ``resources/``."""
from __future__ import annotations

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"


def resource_path(name: str) -> Path:
    """Path of a bundled resource such as ``categories/concrete_defects.json``.

    Raises FileNotFoundError listing what exists when the name is unknown, so a typo fails loudly.
    """
    path = RESOURCES_DIR / name
    if not path.exists():
        known = sorted(str(p.relative_to(RESOURCES_DIR)) for p in RESOURCES_DIR.rglob("*") if p.is_file())
        raise FileNotFoundError(f"no resource {name!r}; known resources: {known}")
    return path
