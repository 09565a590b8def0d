"""The one way photos are read.

* EXIF orientation (1-8) is applied, so pixels, masks, training and export share the upright frame.
* Every mode becomes 8-bit RGB by a documented rule (see ``_to_rgb``), never a black image.
* Images above ``MAX_PIXELS`` are refused with a clear error instead of freezing the machine.
* Files are read as bytes and decoded from memory, so non-ASCII paths work on every platform.
* Zero-byte, truncated and non-image files raise ``BadImageError`` naming the file.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import BadImageError
from core.safety import special_file_reason

#: Largest photo accepted, in pixels: 150 MP covers every phone and DSLR (a 100 MP medium-format
#: frame included) while refusing decompression bombs such as 20000 x 20000 (400 MP), which would
#: need 1.2 GB as RGB alone.
MAX_PIXELS = 150_000_000

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")


def is_image_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


@dataclass(frozen=True)
class ImageInfo:
    """Size of a photo *after* EXIF orientation, and the orientation tag found (1 when none)."""

    width: int
    height: int
    orientation: int


def pixel_limit_error(width: int, height: int, path: str | Path | None) -> BadImageError | None:
    """The one refusal of every image-like file above ``MAX_PIXELS`` (photo, mask, embedded
    image), from its header before any pixel is decoded; None when the size is within the limit."""
    if int(width) * int(height) <= MAX_PIXELS:
        return None
    return BadImageError(f"image is {width} x {height} = {int(width) * int(height):,} pixels, above the "
                         f"limit of {MAX_PIXELS:,}", path, hint="downsample it before importing")


def read_file_bytes(path: Path) -> bytes:
    """A photo's bytes; ``BadImageError`` for special files (never a hang) and read errors."""
    reason = special_file_reason(path)
    if reason is not None:
        raise BadImageError(f"{reason}; skipped", path)
    try:
        return path.read_bytes()
    except FileNotFoundError as e:
        raise BadImageError("file not found", path) from e
    except IsADirectoryError as e:
        raise BadImageError("a folder, not a photo", path) from e
    except OSError as e:
        raise BadImageError(f"cannot read the file: {e.strerror or e}", path) from e


def _open(path: Path, data: bytes | None = None):
    from PIL import Image, UnidentifiedImageError

    # PIL's own bomb guard warns from 89 MP on: one limit for all, ours (PIL then errs at twice it)
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    if data is None:
        data = read_file_bytes(path)
    if not data:
        raise BadImageError("the file is empty (0 bytes)", path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        if isinstance(e, UnidentifiedImageError):
            raise BadImageError("not an image file, or a format that cannot be read", path) from e
        raise BadImageError(f"image is too large to open safely (above the limit of {MAX_PIXELS:,} pixels)", path,
                            hint="downsample it before importing") from e
    except OSError as e:
        raise BadImageError(f"cannot decode the image: {e}", path) from e
    too_large = pixel_limit_error(img.width, img.height, path)
    if too_large is not None:
        raise too_large
    return img


def _orientation(img) -> int:
    try:
        value = int(img.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block must not make a readable photo unreadable
        return 1
    return value if 1 <= value <= 8 else 1


def read_image_info(path: str | Path) -> ImageInfo:
    """Oriented size without decoding the pixels (reads the header only)."""
    path = Path(path)
    img = _open(path)
    orient = _orientation(img)
    w, h = img.size
    if orient in (5, 6, 7, 8):  # these orientations swap width and height
        w, h = h, w
    return ImageInfo(int(w), int(h), orient)


def image_info_from_bytes(data: bytes, path: str | Path | None = None) -> ImageInfo:
    """``read_image_info`` of bytes already in memory (an embedded image, a file read once)."""
    img = _open(Path(path) if path is not None else Path("<embedded image>"), data)
    orient = _orientation(img)
    w, h = img.size
    if orient in (5, 6, 7, 8):
        w, h = h, w
    return ImageInfo(int(w), int(h), orient)


def verify_image(path: str | Path, data: bytes | None = None) -> ImageInfo:
    """Check a photo's *whole* file, cheaply, and return its upright size.

    The header alone says nothing of a file cut short by an interrupted copy: such a photo would
    be imported, exported as part of a complete dataset, and fail only when training reads it.
    So every byte is read and checked at import, at a fraction of a full decode's cost:

    * JPEG: decoded at 1/8 scale (``draft``): libjpeg still reads and Huffman-decodes every
      coefficient, but skips most of the inverse DCT and colour work (about 40 ms of CPU for
      12 MP here, ``bench/bench_import_verify.py``); a truncated or corrupt stream raises.
    * PNG: every chunk's CRC and the order of the chunks up to IEND (``verify``), without
      inflating the pixels.
    * Other formats (TIFF, BMP, WebP): a full decode.

    Raises ``BadImageError`` naming the file (truncated, corrupt, special file, too large ...).
    """
    from PIL import Image

    path = Path(path)
    if data is None:
        data = read_file_bytes(path)
    img = _open(path, data)
    orient = _orientation(img)
    w, h = img.size  # before draft() shrinks it
    try:
        if img.format == "PNG":
            # chunk CRCs and structure up to IEND, without inflating the pixels (verify() must
            # come straight after open(), so on an object of its own)
            Image.open(io.BytesIO(data)).verify()
        else:
            if img.format == "JPEG":
                # grey output skips the colour conversion; every component is still decoded
                img.draft("L" if img.mode in ("RGB", "L") else img.mode,
                          (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()
    except BadImageError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise BadImageError(f"the file is truncated or corrupt: {e}", path,
                            hint="copy the photo again from its source") from e
    if orient in (5, 6, 7, 8):
        w, h = h, w
    return ImageInfo(int(w), int(h), orient)


def _to_rgb(img) -> np.ndarray:
    """Convert any PIL mode to ``[H, W, 3]`` uint8 RGB.

    Rules: RGB as is; L/1 replicated; CMYK through PIL's conversion; P, RGBA, LA and PA composited
    over white (transparent pixels become white, not black); 16-bit and 32-bit integer images
    scaled linearly from [0, 65535], or from [0, 4095] when no value exceeds 4095 (12-bit sensors);
    float images from [0, 1], or min-max when values exceed 1.
    """
    from PIL import Image

    mode = img.mode
    if mode == "RGB":
        return np.asarray(img, dtype=np.uint8)
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(img).astype(np.float64)
        peak = a.max(initial=0)
        # 12-bit sensors store 0..4095 in 16-bit words; 8-bit data in a 16-bit file stays as it is
        top = 4095.0 if 255 < peak <= 4095 else (255.0 if peak <= 255 else 65535.0)
        gray = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "F":
        a = np.asarray(img, dtype=np.float64)
        lo, hi = (0.0, 1.0) if a.size == 0 or (a.min() >= 0 and a.max() <= 1) else (a.min(), a.max())
        gray = np.clip((a - lo) / max(hi - lo, 1e-12) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA", "P", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.uint8)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def load_image(path: str | Path, max_side: int | None = None, data: bytes | None = None) -> np.ndarray:
    """Read a photo as upright ``[H, W, 3]`` uint8 RGB.

    Args:
        path: the photo (used for errors too when ``data`` is given).
        max_side: when set, the result is downscaled so that its longer side is at most this
            (JPEG files decode at reduced size directly: fast thumbnails of 24 MP photos).
        data: the file's bytes, if the caller already has them.
    Raises:
        BadImageError: missing, empty, truncated, not an image, or above ``MAX_PIXELS``.
    """
    from PIL import Image, ImageOps

    path = Path(path)
    img = _open(path, data)
    try:
        if max_side is not None and img.format == "JPEG":
            img.draft("RGB", (max_side, max_side))
        img.load()
        img = ImageOps.exif_transpose(img) if _orientation(img) != 1 else img
        if max_side is not None and max(img.size) > max_side:
            img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
        return np.ascontiguousarray(_to_rgb(img))
    except BadImageError:
        raise
    except (OSError, ValueError, SyntaxError) as e:  # truncated data, broken headers
        raise BadImageError(f"cannot decode the image: {e}", path) from e


def encode_jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    """JPEG bytes of an ``[H, W, 3]`` uint8 RGB array."""
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise BadImageError("could not encode JPEG")
    return buf.tobytes()


def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of a ``[H, W]`` uint8/uint16 or ``[H, W, 3]`` uint8 RGB array."""
    import cv2

    a = array[..., ::-1] if array.ndim == 3 else array
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(a))
    if not ok:
        raise BadImageError("could not encode PNG")
    return buf.tobytes()
