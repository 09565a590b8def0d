"""When and where a photo was taken, from its EXIF tags (for the PDF report).

Capture time: ``DateTimeOriginal`` (else ``DateTimeDigitized``, else the main ``DateTime``),
with ``OffsetTimeOriginal`` when the camera wrote one. Position: the GPS IFD's latitude and
longitude (degrees, minutes, seconds as rationals, with their N/S and E/W references) and, when
there, the altitude. Tags that are missing or malformed give None: a photo without EXIF is
reported without them, never refused.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME, _DATETIME_ORIGINAL, _DATETIME_DIGITIZED, _OFFSET_ORIGINAL = 0x0132, 0x9003, 0x9004, 0x9011
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON, _GPS_ALT_REF, _GPS_ALT = 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class PhotoExif:
    """``taken``: ``"2024-05-03 14:21:07"`` (+ offset when known); ``lat`` / ``lon``: decimal
    degrees (south and west negative); ``altitude_m``: metres above sea level."""

    taken: str | None = None
    lat: float | None = None
    lon: float | None = None
    altitude_m: float | None = None

    @property
    def position(self) -> str | None:
        """``"52.520008° N, 13.404954° E"`` (+ altitude), or None."""
        if self.lat is None or self.lon is None:
            return None
        text = (f"{abs(self.lat):.6f}° {'N' if self.lat >= 0 else 'S'}, "
                f"{abs(self.lon):.6f}° {'E' if self.lon >= 0 else 'W'}")
        if self.altitude_m is not None:
            text += f", {self.altitude_m:.0f} m"
        return text


def _dms(value) -> float:
    d, m, s = (float(v) for v in value)
    return d + m / 60.0 + s / 3600.0


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ").strip()
    return value or None


def _when(exif, sub) -> str | None:
    raw = _text(sub.get(_DATETIME_ORIGINAL)) or _text(sub.get(_DATETIME_DIGITIZED)) or _text(exif.get(_DATETIME))
    if raw is None:
        return None
    # EXIF writes "YYYY:MM:DD HH:MM:SS"; show the date the ISO way.
    if len(raw) >= 19 and raw[4] == ":" and raw[7] == ":":
        raw = raw[:4] + "-" + raw[5:7] + "-" + raw[8:]
    offset = _text(sub.get(_OFFSET_ORIGINAL))
    return f"{raw} {offset}" if offset else raw


def read_exif(path: str | Path) -> PhotoExif:
    """The capture time and GPS position of the photo at ``path`` (fields None when absent)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            exif = img.getexif()
            sub = exif.get_ifd(_EXIF_IFD)
            gps = exif.get_ifd(_GPS_IFD)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as e:
        log.debug("no EXIF from %s: %s", path, e)
        return PhotoExif()
    taken = _when(exif, sub)
    lat = lon = alt = None
    try:
        if _GPS_LAT in gps and _GPS_LON in gps:
            lat, lon = _dms(gps[_GPS_LAT]), _dms(gps[_GPS_LON])
            if _text(gps.get(_GPS_LAT_REF)) == "S":
                lat = -lat
            if _text(gps.get(_GPS_LON_REF)) == "W":
                lon = -lon
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                lat = lon = None
        if _GPS_ALT in gps:
            alt = float(gps[_GPS_ALT])
            ref = gps.get(_GPS_ALT_REF)
            if ref in (1, b"\x01"):
                alt = -alt
    except (TypeError, ValueError, ZeroDivisionError) as e:
        log.debug("malformed GPS tags in %s: %s", path, e)
        lat = lon = alt = None if lat is None or lon is None else alt
    return PhotoExif(taken, lat, lon, alt)
