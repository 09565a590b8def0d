"""The canvas's photo decoding (OpenCV for plain JPEGs, to keep the start-up's memory down) gives
exactly the pixels ``core.imageio.load_image`` gives, rotations and other formats included."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.imageio import load_image
from gui.workers.photo_loader import _bgra, decode_bgra
from tests.support.gui import photo


@pytest.mark.parametrize("kind", ["jpeg", "jpeg_rotated", "jpeg_grey", "png"])
def test_same_pixels_as_load_image(tmp_path, kind):
    rgb = photo(7, 120, 80)
    path = tmp_path / ("p.png" if kind == "png" else "p.jpg")
    img = Image.fromarray(rgb).convert("L") if kind == "jpeg_grey" else Image.fromarray(rgb)
    if kind == "jpeg_rotated":
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 degrees clockwise to view upright
        img.save(path, quality=90, exif=exif)
    else:
        img.save(path, **({"quality": 90} if kind != "png" else {}))
    got = decode_bgra(path)
    want = _bgra(load_image(path))
    assert got.shape == want.shape
    if kind == "jpeg_rotated":
        assert got.shape[:2] == (120, 80)  # upright: the sides swapped
    assert np.array_equal(got, want)
