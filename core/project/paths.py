"""How a project stores the location of a file it references (photos, checkpoints).

Both forms are kept: the path relative to the project's folder (POSIX separators, so a project
made on Windows opens on Linux), which survives moving the project *together with* its photos,
and the absolute path, which survives moving the project file *alone*. ``locate`` tries both.
"""
from __future__ import annotations

import os
from pathlib import Path, PurePosixPath


def normalized_abs(path: str | Path) -> Path:
    """Absolute, ``..``-free path without resolving symlinks (the path the user chose)."""
    return Path(os.path.normpath(os.path.abspath(os.fspath(path))))


def to_stored(folder: Path, path: str | Path) -> tuple[str | None, str]:
    """``(relative path or None, absolute path)`` of ``path`` as a project stores it."""
    absolute = normalized_abs(path)
    try:
        rel = os.path.relpath(absolute, normalized_abs(folder))
    except ValueError:  # another drive on Windows: no relative path exists
        rel = None
    if rel is not None:
        rel = PurePosixPath(*Path(rel).parts).as_posix()
    return rel, str(absolute)


def candidates(folder: Path, rel: str | None, absolute: str | None) -> list[Path]:
    """Where the file may be, most likely first."""
    out = []
    if rel is not None:
        out.append(normalized_abs(folder / Path(*PurePosixPath(rel).parts)))
    if absolute:
        p = Path(absolute)
        if p not in out:
            out.append(p)
    return out


def locate(folder: Path, rel: str | None, absolute: str | None) -> tuple[Path, bool]:
    """``(path, exists)``: the first candidate that exists, else the first candidate."""
    cands = candidates(folder, rel, absolute)
    for p in cands:
        if p.is_file():
            return p, True
    return cands[0], False
