"""A photo's measurements with what they were made from, and totals per category over photos."""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence

from core.calibration import AREA_UNITS, UNIT_MM, UNIT_PX, Calibration
from core.categories import CategorySet
from core.measure.measurement import Measurement
from core.measure.roles import Role


@dataclass(frozen=True)
class PhotoMeasurements:
    """The measurements of one photo with what they were made from."""

    name: str
    width: int
    height: int
    calibration: Calibration | None
    source: str
    measurements: tuple[Measurement, ...] = field(default_factory=tuple)

    @property
    def unit(self) -> str:
        return UNIT_PX if self.calibration is None else UNIT_MM

    # defects and surfaces: the two halves of a photo's segments, as CategorySet.things/stuff are
    @property
    def defects(self) -> list[Measurement]:
        return [m for m in self.measurements if m.is_defect]

    @property
    def surfaces(self) -> list[Measurement]:
        return [m for m in self.measurements if not m.is_defect]


@dataclass(frozen=True)
class CategoryTotal:
    """Totals of one category over photos that share a unit (mm and px are never added up).

    ``total_length`` is None for roles without a centreline, ``max_width`` for all but cracks
    (a bar's width is its diameter, not a crack opening); ``area_share`` is the category's area
    over the area of all photos in the group (0..1).
    """

    category_id: int
    category_name: str
    role: Role
    unit: str
    count: int
    n_photos: int
    total_length: float | None
    max_width: float | None
    total_area: float
    area_share: float

    @property
    def area_unit(self) -> str:
        return AREA_UNITS[self.unit]


def summarize(photos: Sequence[PhotoMeasurements], categories: CategorySet,
              defects_only: bool = False) -> list[CategoryTotal]:
    """Totals per (category, unit), in category order, mm groups before px groups."""
    photo_area: dict[str, float] = {}
    for p in photos:
        scale = 1.0 if p.calibration is None else p.calibration.mm_per_pixel ** 2
        photo_area[p.unit] = photo_area.get(p.unit, 0.0) + p.width * p.height * scale
    groups: dict[tuple[int, str], list[tuple[int, Measurement]]] = {}
    for k, p in enumerate(photos):
        for m in p.measurements:
            if defects_only and not m.is_defect:
                continue
            groups.setdefault((m.category_id, m.unit), []).append((k, m))
    order = {cid: i for i, cid in enumerate(categories.ids)}
    out = []
    for (cid, unit), items in sorted(groups.items(), key=lambda kv: (kv[0][1] != UNIT_MM, order.get(kv[0][0], 1e9))):
        ms = [m for _, m in items]
        linear = any(m.length_px is not None for m in ms)
        area = sum(m.area for m in ms)
        out.append(CategoryTotal(
            category_id=cid, category_name=ms[0].category_name, role=ms[0].role, unit=unit, count=len(ms),
            n_photos=len({k for k, _ in items}),
            total_length=sum(m.length or 0.0 for m in ms) if linear else None,
            max_width=max((m.max_width for m in ms if m.max_width is not None and m.role == Role.CRACK),
                          default=None),
            total_area=area, area_share=area / photo_area[unit] if photo_area.get(unit) else 0.0))
    return out
