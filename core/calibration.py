"""Per-photo scale: how many millimetres one pixel spans.

Two ways to get one:

* ``calibration_from_line(p0, p1, length)``: the user draws a line over something of known
  length (a scale bar, a folding rule, a rebar of known diameter) and types the length;
* ``calibration_from_gsd(mm_per_pixel)``: a ground sampling distance typed in (drone and
  survey software report it, often in cm/px).

Without a calibration every figure is in pixels and says so (``UNIT_PX``); with one, in
millimetres. The scale holds for the photo's *oriented* pixel frame (the one masks use) and for
objects in the plane of the reference: a photo taken at an angle has no single scale.

This is the one calibration type: the project store (``project.calibration``) keeps and returns
it, measurement uses it, dialogs make it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping, Sequence

from core.errors import InspectorError

UNIT_MM, UNIT_PX = "mm", "px"
AREA_UNITS = {UNIT_MM: "mm²", UNIT_PX: "px²"}

#: Length units accepted by the constructors, in millimetres.
LENGTH_UNITS_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4}

METHOD_LINE, METHOD_GSD, METHOD_MARKER, METHOD_EXIF = "line", "gsd", "marker", "exif"
#: How a scale can be obtained: a drawn reference line, a typed ground sampling distance, a printed
#: target, the camera's focal length and distance.
METHODS = (METHOD_LINE, METHOD_GSD, METHOD_MARKER, METHOD_EXIF)
#: Names that projects written before the methods were unified carry, read as today's.
LEGACY_METHODS = {"reference_length": METHOD_LINE, "entered": METHOD_GSD}


class CalibrationError(InspectorError):
    """A scale cannot be made from the input: a zero-length line, a length that is not positive."""


def _positive(value: float, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as e:
        raise CalibrationError(f"{what} must be a number, got {value!r}") from e
    if not math.isfinite(v) or v <= 0:
        raise CalibrationError(f"{what} must be a positive number, got {value!r}")
    return v


def _unit_factor(unit: str) -> float:
    try:
        return LENGTH_UNITS_MM[unit]
    except KeyError as e:
        raise CalibrationError(f"unknown length unit {unit!r}", hint=f"use one of {sorted(LENGTH_UNITS_MM)}") from e


@dataclass(frozen=True)
class Calibration:
    """The scale of one photo.

    Attributes:
        mm_per_pixel: millimetres spanned by one pixel of the oriented photo (> 0).
        method: ``"line"`` (a drawn reference), ``"gsd"`` (typed in), or another store keyword.
        detail: what reproduces the figure, plain JSON values (for a line: the end points in
            pixels, the pixel length, the typed length and its unit).
    """

    mm_per_pixel: float
    method: str = METHOD_GSD
    detail: dict = field(default_factory=dict, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "mm_per_pixel", _positive(self.mm_per_pixel, "millimetres per pixel"))
        method = str(self.method).strip()
        if not method:
            raise CalibrationError("a calibration needs a method name", hint=f"e.g. one of {METHODS}")
        object.__setattr__(self, "method", LEGACY_METHODS.get(method, method))

    @property
    def unit(self) -> str:
        return UNIT_MM

    def length(self, pixels: float) -> float:
        """A length in pixels, in millimetres."""
        return float(pixels) * self.mm_per_pixel

    def area(self, pixels: float) -> float:
        """An area in pixels, in square millimetres."""
        return float(pixels) * self.mm_per_pixel ** 2

    def describe(self) -> str:
        """One line for people: ``1 px = 0.25 mm (reference line 400.0 px = 100 mm)``."""
        text = f"1 px = {_fmt(self.mm_per_pixel)} mm"
        d = self.detail
        if self.method == METHOD_LINE and "length_px" in d and "length" in d:
            length = f"{_fmt(float(d['length']))} {d.get('unit', 'mm')}"
            text += f" (reference line {float(d['length_px']):.1f} px = {length})"
        elif self.method == METHOD_GSD:
            text += " (ground sampling distance entered)"
        else:
            text += f" ({self.method})"
        return text

    # --- the project store ----------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"mm_per_pixel": self.mm_per_pixel, "method": self.method, "detail": dict(self.detail)}

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> Calibration:
        try:
            return Calibration(float(d["mm_per_pixel"]), str(d.get("method", METHOD_GSD)),
                               dict(d.get("detail") or {}))
        except KeyError as e:
            raise CalibrationError(f"a calibration is missing the key {e.args[0]!r}") from e


def calibration_from_line(p0: Sequence[float], p1: Sequence[float], length: float,
                          unit: str = "mm") -> Calibration:
    """Scale from a line drawn over something of known length.

    Args:
        p0, p1: the line's end points ``(x, y)`` in pixels of the oriented photo (sub-pixel ok).
        length: the true length of what the line covers, in ``unit``.
        unit: ``mm`` (default), ``cm``, ``m`` or ``in``.
    Raises:
        CalibrationError: the points coincide, or the length is not a positive number.
    """
    x0, y0 = (float(v) for v in p0)
    x1, y1 = (float(v) for v in p1)
    px = math.hypot(x1 - x0, y1 - y0)
    if not math.isfinite(px) or px < 1.0:
        raise CalibrationError(f"the reference line is {px:.2f} px long; draw it over the object of known length",
                               hint="it must be at least one pixel long")
    mm = _positive(length, "the reference length") * _unit_factor(unit)
    return Calibration(mm / px, METHOD_LINE, {"p0": [x0, y0], "p1": [x1, y1], "length_px": px,
                                              "length": float(length), "unit": unit})


def calibration_from_gsd(gsd: float, unit: str = "mm") -> Calibration:
    """Scale from a ground sampling distance: ``gsd`` ``unit`` per pixel (e.g. ``0.05, "cm"``)."""
    mm = _positive(gsd, "the ground sampling distance") * _unit_factor(unit)
    return Calibration(mm, METHOD_GSD, {"gsd": float(gsd), "unit": f"{unit}/px"})


def _fmt(x: float) -> str:
    """Four significant figures without trailing zeros: 0.25, 0.1235, 12.5."""
    return f"{x:.4g}"
