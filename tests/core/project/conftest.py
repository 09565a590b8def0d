"""Fixtures of the project-store tests: tiny photos and a fresh project (helpers: tests/support/project.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.project import Project

from tests.support.project import write_photo


@pytest.fixture
def photos(tmp_path):
    """``photos(n, folder=..., size=(h, w))`` -> list of written JPEG paths."""
    def make(n: int, folder: Path | None = None, size=(48, 64), start_seed: int = 0) -> list[Path]:
        folder = folder or tmp_path / "photos"
        return [write_photo(folder / f"img_{i:04d}.jpg", *size, seed=start_seed + i) for i in range(n)]
    return make


@pytest.fixture
def project(tmp_path):
    p = Project.create(tmp_path / "survey.pinspect")
    yield p
    p.close()
