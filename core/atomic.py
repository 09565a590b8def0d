"""Atomic file writes: write a temporary file beside the target, fsync, then ``os.replace``.

A crash at any moment leaves either the old file or the new one, never half of one.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO
from collections.abc import Iterator


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def temp_prefix(path: Path) -> str:
    """``.<name>.pid<N>-``: the temporary file of ``path`` names the process writing it, so a later
    run can tell a leftover of a killed process from a write in progress
    (``core.safety.remove_stale_temp_files``)."""
    return f".{path.name}.pid{os.getpid()}-"


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success it replaces ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (umask applied), or
        # keep the mode of the file being replaced.
        try:
            file_mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            file_mode = 0o666 & ~_umask()
        os.chmod(tmp, file_mode)
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)
