"""``Measurement``: the figures of one segment, in pixels, with the photo's scale beside them.

Pixel figures are stored; the unit-bearing properties (``length``, ``area``, ...) give millimetres
when the photo is calibrated and pixels otherwise, and ``unit`` / ``area_unit`` say which. The
figures are made by ``segments.py`` and presented (numbers, tooltips, CSV records) by ``present.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import overload

from core.calibration import AREA_UNITS, UNIT_MM, UNIT_PX, Calibration
from core.measure.roles import Role


@dataclass(frozen=True)
class Measurement:
    """The figures of one segment. Pixel figures are stored; unit figures are properties.

    Attributes:
        segment_id, category_id, category_name, role, isthing, iscrowd, score, source: from
            the segment and its category (``score`` only for predictions).
        label: the defect's number on the photo (None for surfaces).
        image_size: ``(width, height)`` of the photo in px.
        area_px: pixel count; bbox_px: ``(x, y, w, h)`` in px (COCO convention).
        anchor_xy: ``(x, y)`` px, a point inside the segment for labels and tooltips.
        equivalent_diameter_px, major_axis_px: see ``regions.py``.
        length_px, max_width_px, mean_width_px, orientation_deg: linear roles only, else None.
            For cracks measured with their photo, the widths are read from the photo's grey
            profile (``profile_width``), else counted from the mask (``cracks``).
        width_px: a crack's typical width (median along it), width_spread_px: its spread along
            the crack (interquartile range: the uncertainty shown beside it), width_method: how it
            was read (``profile_width.METHOD_*``; ``"mask"`` when counted from the mask), max_xy:
            where the maximum width is (px). Cracks only, else None.
        mask_width_px: the mask-count mean width (area / length) of a crack, kept for comparison.
        width_low_px, width_high_px: for a thin crack whose interior's contrast could not be
            read (``profile-range``), the widths at both ends of the contrasts its profiles allow:
            the width's real uncertainty; None otherwise.
        mm_per_pixel: the photo's scale, None when not calibrated.
    """

    segment_id: int
    category_id: int
    category_name: str
    role: Role
    isthing: bool
    iscrowd: bool
    score: float | None
    source: str
    image_size: tuple[int, int]
    area_px: int
    bbox_px: tuple[int, int, int, int]
    anchor_xy: tuple[float, float] | None
    equivalent_diameter_px: float
    major_axis_px: float
    length_px: float | None = None
    max_width_px: float | None = None
    mean_width_px: float | None = None
    orientation_deg: float | None = None
    mm_per_pixel: float | None = None
    label: int | None = None
    width_px: float | None = None
    width_spread_px: float | None = None
    width_method: str | None = None
    max_xy: tuple[float, float] | None = None
    mask_width_px: float | None = None
    width_low_px: float | None = None
    width_high_px: float | None = None

    # --- units ----------------------------------------------------------------------------------
    @property
    def calibrated(self) -> bool:
        return self.mm_per_pixel is not None

    @property
    def unit(self) -> str:
        """``"mm"`` when calibrated, else ``"px"``: the unit of every length property."""
        return UNIT_MM if self.calibrated else UNIT_PX

    @property
    def area_unit(self) -> str:
        return AREA_UNITS[self.unit]

    @overload
    def _len(self, px: float) -> float: ...
    @overload
    def _len(self, px: float | None) -> float | None: ...

    def _len(self, px: float | None) -> float | None:
        return None if px is None else float(px) * (self.mm_per_pixel or 1.0)

    # One property per figure, alike on purpose: the table, report and tooltips read each by its
    # name in the photo's unit; a generic accessor would lose the names and their types.
    @property
    def length(self) -> float | None:
        return self._len(self.length_px)

    @property
    def max_width(self) -> float | None:
        return self._len(self.max_width_px)

    @property
    def mean_width(self) -> float | None:
        return self._len(self.mean_width_px)

    @property
    def width(self) -> float | None:
        return self._len(self.width_px)

    @property
    def width_spread(self) -> float | None:
        return self._len(self.width_spread_px)

    @property
    def width_low(self) -> float | None:
        return self._len(self.width_low_px)

    @property
    def width_high(self) -> float | None:
        return self._len(self.width_high_px)

    @property
    def equivalent_diameter(self) -> float:
        return self._len(self.equivalent_diameter_px)

    @property
    def major_axis(self) -> float:
        return self._len(self.major_axis_px)

    @property
    def area(self) -> float:
        return float(self.area_px) * (self.mm_per_pixel or 1.0) ** 2

    @property
    def bbox_size(self) -> tuple[float, float]:
        """Bounding-box width and height in ``unit``."""
        return self._len(self.bbox_px[2]), self._len(self.bbox_px[3])

    @property
    def area_share(self) -> float:
        """Fraction (0..1) of the photo's pixels this segment covers."""
        w, h = self.image_size
        return self.area_px / float(w * h) if w * h else 0.0

    @property
    def is_defect(self) -> bool:
        """Numbered on the photo: a thing, or stuff whose role is a defect role."""
        return self.isthing or self.role != Role.REGION

    def with_calibration(self, calibration: Calibration | None) -> Measurement:
        """The same figures under another scale (no re-measuring)."""
        return replace(self, mm_per_pixel=None if calibration is None else calibration.mm_per_pixel)
