"""Tiny datasets made on the fly: photos (optionally EXIF-rotated), masks (gray or palette)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.categories import default_categories

from tests.support.datasets import defect_mask


class Maker:
    """Writes small photos and masks; every file is a few kilobytes."""

    def __init__(self, root: Path):
        self.root = root
        self.rng = np.random.default_rng(0)

    def photo(self, rel: str, w: int = 40, h: int = 30, orientation: int = 1) -> Path:
        """A JPEG/PNG whose *stored* pixels are ``w`` x ``h``; EXIF orientation as given."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        img = Image.fromarray(self.rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        if orientation != 1:
            exif = Image.Exif()
            exif[0x0112] = orientation
            img.save(path, exif=exif.tobytes())
        else:
            img.save(path)
        return path

    def mask(self, rel: str, arr: np.ndarray, palette: list[int] | None = None) -> Path:
        """A gray PNG of ``arr`` (uint8/uint16), or a palette PNG whose indices are ``arr``."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if palette is not None:
            h, w = arr.shape
            img = Image.frombytes("P", (w, h), np.ascontiguousarray(arr, np.uint8).tobytes())
            img.putpalette(palette)
            img.save(path)
        else:
            Image.fromarray(arr).save(path)
        return path

    @staticmethod
    def defect(h: int = 30, w: int = 40) -> np.ndarray:
        return defect_mask(h, w)


@pytest.fixture
def make(tmp_path) -> Maker:
    return Maker(tmp_path)


@pytest.fixture
def cats():
    return default_categories()
