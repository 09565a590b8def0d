"""Crack widths against a tolerable width: the project's exposure class or its own limit.

Design guides name crack widths that are reasonable for reinforced concrete under service loads,
by exposure. ACI 224R-01 ("Control of Cracking in Concrete Structures"), Table 4.1, as quoted by
secondary sources: dry air or protective membrane 0.41 mm; humidity, moist air, soil 0.30 mm;
de-icing chemicals 0.18 mm; seawater and seawater spray, wetting and drying 0.15 mm;
water-retaining structures 0.10 mm. The guide itself says these are a guide to what is reasonable,
not acceptance limits: a crack wider than them is a finding to look at, not a verdict. A project
may enter its own limit instead (Eurocode 2's w_max, a client's specification), with its source.

A crack is compared by its width and the spread of that width along it (the IQR,
``Measurement.width_spread``): ``near`` when the limit lies within half the IQR of the width,
else ``below`` or ``above``. Widths in pixels (a photo without a scale) are not compared.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.measure.measurement import Measurement
    from core.project import Project

#: Project setting holding the chosen limit (``to_setting`` / ``from_setting``).
WIDTH_LIMIT_SETTING = "measure.width_limit"

ACI_SOURCE = "ACI 224R-01, Table 4.1"

BELOW, NEAR, ABOVE = "below", "near", "above"


@dataclass(frozen=True)
class WidthLimit:
    """A tolerable crack width.

    Attributes:
        key: ``aci-<exposure>`` for the guide's rows, ``custom`` for a project's own limit.
        label: the exposure or the limit's name, e.g. ``"De-icing chemicals"``.
        limit_mm: the width (mm).
        source: where it comes from, e.g. ``"ACI 224R-01, Table 4.1"`` or ``"EN 1992-1-1, XC3"``.
        guidance: True for the guide's values (shown as guidance, never as acceptance limits).
    """

    key: str
    label: str
    limit_mm: float
    source: str
    guidance: bool = True

    def describe(self) -> str:
        """One line: ``0.18 mm – De-icing chemicals (ACI 224R-01, Table 4.1; guidance, not an
        acceptance limit)``."""
        kind = "guidance, not an acceptance limit" if self.guidance else "project limit"
        return f"{self.limit_mm:.2f} mm – {self.label} ({self.source}; {kind})"


ACI_224R_TABLE_4_1: tuple[WidthLimit, ...] = (
    WidthLimit("aci-dry", "Dry air or protective membrane", 0.41, ACI_SOURCE),
    WidthLimit("aci-humid", "Humidity, moist air, soil", 0.30, ACI_SOURCE),
    WidthLimit("aci-deicing", "De-icing chemicals", 0.18, ACI_SOURCE),
    WidthLimit("aci-seawater", "Seawater and seawater spray, wetting and drying", 0.15, ACI_SOURCE),
    WidthLimit("aci-water", "Water-retaining structures", 0.10, ACI_SOURCE),
)


def custom_limit(limit_mm: float, label: str = "Project limit", source: str = "entered for this project"
                 ) -> WidthLimit:
    """A project's own limit. Raises ``ValueError`` for a width that is not a positive number."""
    limit_mm = float(limit_mm)
    if not limit_mm > 0 or limit_mm != limit_mm or limit_mm > 1000:
        raise ValueError(f"a crack width limit must be a positive number of mm, got {limit_mm}")
    return WidthLimit("custom", label.strip() or "Project limit", limit_mm, source.strip() or "entered for this "
                      "project", guidance=False)


def to_setting(limit: WidthLimit | None) -> dict | None:
    """The JSON value kept in the project (None: no limit)."""
    return None if limit is None else asdict(limit)


def from_setting(value: Any) -> WidthLimit | None:
    """The limit from a project's setting; None for none or a value this version cannot read
    (a damaged setting never stops measuring)."""
    if not isinstance(value, dict):
        return None
    key = value.get("key")
    preset = next((p for p in ACI_224R_TABLE_4_1 if p.key == key), None)
    if preset is not None:
        return preset
    try:
        return custom_limit(value["limit_mm"], str(value.get("label", "")), str(value.get("source", "")))
    except (KeyError, TypeError, ValueError):
        return None


def project_width_limit(project: Project) -> WidthLimit | None:
    """The limit a project chose (``project.get_setting``), or None."""
    return from_setting(project.get_setting(WIDTH_LIMIT_SETTING))


def set_project_width_limit(project: Project, limit: WidthLimit | None) -> None:
    """Keep ``limit`` (None: no limit) in the project."""
    project.set_setting(WIDTH_LIMIT_SETTING, to_setting(limit))


def compare(width_mm: float | None, spread_mm: float | None, limit: WidthLimit | None) -> str | None:
    """``BELOW``, ``NEAR`` or ``ABOVE`` the limit; None without a limit or a width in mm."""
    if limit is None or width_mm is None:
        return None
    half = 0.5 * (spread_mm or 0.0)
    if abs(width_mm - limit.limit_mm) <= half:
        return NEAR
    return ABOVE if width_mm > limit.limit_mm else BELOW


def compare_measurement(m: Measurement, limit: WidthLimit | None) -> str | None:
    """``compare`` for a crack's ``Measurement`` (None for other roles and uncalibrated photos)."""
    if limit is None or m.width is None or not m.calibrated:
        return None
    return compare(m.width, m.width_spread, limit)


def verdict_text(verdict: str | None, limit: WidthLimit | None) -> str:
    """Words for a table cell or tooltip: ``above 0.18 mm`` etc.; empty when not compared."""
    if verdict is None or limit is None:
        return ""
    return {BELOW: "below", NEAR: "near", ABOVE: "above"}[verdict] + f" {limit.limit_mm:.2f} mm"
