"""Project-store test helpers: tiny photos, deterministic annotations, comparing them, the
project file as another program sees it, paths made unwritable."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.panoptic import PanopticAnnotation, Segment


def write_photo(path: Path, h: int = 48, w: int = 64, seed: int = 0) -> Path:
    """A small JPEG with distinct content per seed (so hashes differ). Written as bytes, so
    non-ASCII names work on every platform."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.tobytes())
    return path


def annotation_for(h: int, w: int, seed: int) -> PanopticAnnotation:
    """A deterministic annotation: a concrete stuff segment and a few crack/spalling instances,
    with ids above 255 (they need the PNG's green channel)."""
    rng = np.random.default_rng(seed)
    id_map = np.zeros((h, w), np.int32)
    id_map[h // 8:] = 7
    segs = {7: Segment(7, 4)}
    for k in range(1 + seed % 5):
        seg_id = 300 + k * 70001  # up to ~280k: exercises all three PNG channels
        y, x = int(rng.integers(0, h - 4)), int(rng.integers(0, w - 6))
        id_map[y:y + 4, x:x + 6] = seg_id
        segs[seg_id] = Segment(seg_id, 1 + k % 2, iscrowd=bool(k == 3), source="manual" if k % 2 else "model",
                               score=None if k % 2 else 0.5 + 0.01 * k)
    return PanopticAnnotation(id_map, segs).pruned()


def same_annotation(a: PanopticAnnotation, b: PanopticAnnotation) -> bool:
    return a.id_map.dtype == b.id_map.dtype and np.array_equal(a.id_map, b.id_map) and a.segments == b.segments


@contextmanager
def file_sql(path: Path, read_only: bool = False):
    """A plain SQLite connection to a project file, as another program (or an earlier version of
    ours) reads and writes it: what is on disk, not what the store's API shows. Each statement
    commits; close the project first, as a user's other program would find it. ``read_only``
    opens the closed file as immutable: no lock or side files are made beside it."""
    uri = f"file:{Path(path).as_posix()}{'?mode=ro&immutable=1' if read_only else ''}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def read_only_path(path: Path):
    """Make a file or folder unwritable for this process, even as root (``chattr +i``)."""
    if os.name == "nt":
        pytest.skip("permission tests use POSIX modes")
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
        pytest.skip("running as root without chattr +i: cannot make a path read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
