"""Photos: EXIF orientation, every pixel mode, broken files, bombs, non-ASCII paths."""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from core.errors import BadImageError
from core.imageio import MAX_PIXELS, load_image, read_image_info

T = Image.Transpose
# What a viewer applies to the stored pixels for each EXIF orientation; we store the inverse.
TO_UPRIGHT = {1: None, 2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM, 5: T.TRANSPOSE,
              6: T.ROTATE_270, 7: T.TRANSVERSE, 8: T.ROTATE_90}
INVERSE = {None: None, T.FLIP_LEFT_RIGHT: T.FLIP_LEFT_RIGHT, T.ROTATE_180: T.ROTATE_180,
           T.FLIP_TOP_BOTTOM: T.FLIP_TOP_BOTTOM, T.TRANSPOSE: T.TRANSPOSE, T.ROTATE_270: T.ROTATE_90,
           T.TRANSVERSE: T.TRANSVERSE, T.ROTATE_90: T.ROTATE_270}


def upright_pattern() -> np.ndarray:
    """A 40 x 24 (w x h) picture that looks different under every flip and rotation."""
    a = np.zeros((24, 40, 3), np.uint8)
    a[:8, :10] = (255, 0, 0)      # red block top-left
    a[-6:, -4:] = (0, 0, 255)     # blue block bottom-right
    a[:4, -20:] = (0, 255, 0)     # green bar top-right
    return a


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, orientation):
    upright = upright_pattern()
    stored = Image.fromarray(upright)
    if INVERSE[TO_UPRIGHT[orientation]] is not None:
        stored = stored.transpose(INVERSE[TO_UPRIGHT[orientation]])
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"phone_{orientation}.png"
    stored.save(path, exif=exif)
    np.testing.assert_array_equal(load_image(path), upright)
    info = read_image_info(path)
    assert (info.width, info.height, info.orientation) == (40, 24, orientation)


def test_exif_rotated_jpeg_size_and_pixels(tmp_path):
    upright = upright_pattern()
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "IMG_0001.jpg"
    Image.fromarray(upright).transpose(T.ROTATE_90).save(path, exif=exif, quality=100)
    img = load_image(path)
    assert img.shape == (24, 40, 3)
    assert img[2, 2, 0] > 200 and img[2, 2, 2] < 60  # red corner is top-left again


def _save(tmp_path, img: Image.Image, name: str):
    path = tmp_path / name
    img.save(path)
    return path


def test_16bit_grayscale_is_scaled_not_black(tmp_path):
    ramp = (np.arange(64 * 32, dtype=np.uint16).reshape(32, 64) * 30)  # up to ~61k
    path = _save(tmp_path, Image.fromarray(ramp), "gray16.png")
    out = load_image(path)
    assert out.dtype == np.uint8 and out.shape == (32, 64, 3)
    assert out.max() == round(ramp.max() / 65535 * 255) and out[0, 0, 0] == 0
    assert (out[..., 0] == out[..., 1]).all()


def test_12bit_data_in_16bit_container_uses_the_12bit_range(tmp_path):
    ramp = np.linspace(0, 4095, 32 * 32).astype(np.uint16).reshape(32, 32)
    out = load_image(_save(tmp_path, Image.fromarray(ramp), "gray12.png"))
    assert out.max() == 255


def test_cmyk_converts_to_rgb(tmp_path):
    path = _save(tmp_path, Image.new("CMYK", (16, 8), (0, 255, 255, 0)), "cmyk.jpg")  # pure red in CMYK
    out = load_image(path)
    assert out.shape == (8, 16, 3)
    assert out[..., 0].mean() > 200 and out[..., 1].mean() < 60


@pytest.mark.parametrize("mode, color", [("RGBA", (10, 200, 30, 0)), ("LA", (100, 0))])
def test_transparent_pixels_become_white(tmp_path, mode, color):
    out = load_image(_save(tmp_path, Image.new(mode, (8, 8), color), f"alpha_{mode}.png"))
    assert (out == 255).all()


def test_palette_and_gray_and_bilevel(tmp_path):
    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    assert (load_image(_save(tmp_path, pal, "pal.png"))[0, 0] == (10, 20, 30)).all()
    gray = load_image(_save(tmp_path, Image.new("L", (8, 8), 77), "gray.png"))
    assert (gray == 77).all()
    bilevel = load_image(_save(tmp_path, Image.new("1", (8, 8), 1), "bw.png"))
    assert (bilevel == 255).all()


def test_empty_bogus_and_truncated_files_give_clear_errors(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a photo")
    good = tmp_path / "good.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 300, 3), np.uint8)).save(good)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[:2000])
    for path, reason in [(empty, "empty"), (text, "not an image"), (truncated, "cannot decode"),
                         (tmp_path / "missing.jpg", "not found")]:
        with pytest.raises(BadImageError, match=reason) as err:
            load_image(path)
        assert err.value.path == str(path)


def _png_with_declared_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims width x height (a decompression bomb's calling card)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_without_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_with_declared_size(20000, 20000))
    with pytest.raises(BadImageError, match="too large|above the limit"):
        load_image(bomb)
    with pytest.raises(BadImageError):
        read_image_info(bomb)
    assert 20000 * 20000 > MAX_PIXELS


def test_non_ascii_paths(tmp_path):
    folder = tmp_path / "Brücke_Nord" / "裂缝"
    folder.mkdir(parents=True)
    path = folder / "Riss 1.jpg"
    Image.new("RGB", (30, 20), (1, 2, 3)).save(path)
    assert load_image(path).shape == (20, 30, 3)
    assert read_image_info(path).width == 30


def test_max_side_downscales_large_jpeg(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (2400, 1600), (90, 90, 90)).save(path)
    small = load_image(path, max_side=256)
    assert max(small.shape[:2]) <= 256 and small.shape[1] > small.shape[0]
