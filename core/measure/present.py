"""Presenting measurements: numbers, tooltips, the measurements table's columns, clipboard text.

Only formatting lives here; the figures come from ``segments.py`` (``Measurement``, ``measurement.py``),
and CSV/JSON records (``measurement_record``) round them for files.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from core.calibration import AREA_UNITS, UNIT_PX
from core.measure.exposure import WidthLimit, compare_measurement, verdict_text
from core.measure.roles import Role
from core.measure.measurement import Measurement


def format_number(x: float | None) -> str:
    """Three significant figures, no exponent, thousands separated: 0.234, 3.00, 12.3, 1,235."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    ax = abs(float(x))
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax == 0:
        return "0"
    decimals = min(3, max(0, 2 - int(math.floor(math.log10(ax)))))
    return f"{x:.{decimals}f}"


def format_measurement(m: Measurement, limit: WidthLimit | None = None) -> str:
    """A few lines for a tooltip: what it is and its figures with units; with ``limit`` (the
    project's tolerable crack width), where a crack's width stands against it."""
    head = f"#{m.label} {m.category_name}" if m.label is not None else m.category_name
    if m.score is not None:
        head += f" (score {m.score:.2f})"
    lines = [head]
    u = m.unit
    if m.role == Role.CRACK:
        lines.append(f"length {format_number(m.length)} {u}")
        if m.width is not None:
            spread = f", IQR {format_number(m.width_spread)} {u} along it" if m.width_spread is not None else ""
            lines.append(f"width {format_number(m.width)} {u}{spread} ({width_method_text(m.width_method)})")
            if m.width_low is not None and m.width_high is not None:
                lines.append(f"thin and blurred: anywhere from {format_number(m.width_low)} to "
                             f"{format_number(m.width_high)} {u} fits its profiles")
        lines.append(f"width max {format_number(m.max_width)} {u}, mean {format_number(m.mean_width)} {u}")
        if limit is not None:
            verdict = compare_measurement(m, limit)
            if verdict is not None:
                lines.append(f"{verdict_text(verdict, limit)} tolerable: {limit.describe()}")
            elif m.width is not None:
                lines.append(f"not compared with {limit.limit_mm:.2f} mm: the photo has no scale")
        if m.orientation_deg is not None:
            lines.append(f"orientation {m.orientation_deg:.0f}°")
    elif m.role == Role.REBAR:
        lines.append(f"exposed length {format_number(m.length)} {u}")
        lines.append(f"visible diameter {format_number(m.mean_width)} {u}")
    else:
        bw, bh = m.bbox_size
        lines.append(f"size {format_number(bw)} × {format_number(bh)} {u}, "
                     f"equivalent diameter {format_number(m.equivalent_diameter)} {u}")
    lines.append(f"area {format_number(m.area)} {m.area_unit} ({100 * m.area_share:.2f} % of the photo)")
    if not m.calibrated:
        lines.append("not calibrated: figures in pixels")
    return "\n".join(lines)


#: How a crack's width was read, in words (keys: ``profile_width.METHOD_*``).
WIDTH_METHOD_TEXT = {
    "profile": "read from the photo",
    "profile-ref": "read from the photo, interior contrast from its wider cracks",
    "profile-range": "read from the photo; thin and blurred, its interior's contrast estimated: uncertain",
    "mixed": "partly read from the photo, partly counted from the mask",
    "mask": "counted from the mask",
}


#: Short forms for a table cell.
WIDTH_METHOD_SHORT = {"profile": "photo", "profile-ref": "photo (ref.)", "profile-range": "photo (est.)",
                      "mixed": "photo + mask", "mask": "mask"}


def width_method_text(method: str | None) -> str:
    """Words for a width method (``Measurement.width_method``); unknown ones as they are."""
    return WIDTH_METHOD_TEXT.get(method or "mask", method or "")


#: Columns of the measurements table: (key of ``table_row``, title, unit kind: "len", "area", "").
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("label", "#", ""), ("category", "Category", ""), ("length", "Length", "len"),
    ("max_width", "Max width", "len"), ("mean_width", "Mean width", "len"), ("width", "Width", "len"),
    ("width_spread", "Width IQR", "len"), ("width_method", "Width from", ""),
    ("orientation_deg", "Orientation (°)", ""), ("area", "Area", "area"),
    ("area_share_percent", "Share (%)", ""), ("equivalent_diameter", "Eq. diameter", "len"),
    ("score", "Score", ""),
)


def column_titles(unit: str) -> list[str]:
    """Column titles with the unit in brackets, e.g. ``Length (mm)``, ``Area (px²)``."""
    return [f"{t} ({unit})" if k == "len" else f"{t} ({AREA_UNITS[unit]})" if k == "area" else t
            for _, t, k in TABLE_COLUMNS]


def table_row(m: Measurement) -> list:
    """Raw values (numbers for sorting, None when not applicable) in ``TABLE_COLUMNS`` order."""
    rec = measurement_record(m)
    return [rec[key] if key != "category" else m.category_name for key, _, _ in TABLE_COLUMNS]


def to_tsv(measurements: Sequence[Measurement]) -> str:
    """Tab-separated text of the table (header included) for the clipboard; spreadsheets paste it."""
    unit = measurements[0].unit if measurements else UNIT_PX
    lines = ["\t".join(column_titles(unit))]
    for m in measurements:
        lines.append("\t".join("" if v is None else str(v) for v in table_row(m)))
    return "\n".join(lines) + "\n"


#: Keys of ``measurement_record`` in order: the CSV's columns after photo and source.
RECORD_COLUMNS: tuple[str, ...] = (
    "label", "segment_id", "category_id", "category", "role", "isthing", "iscrowd", "score", "segment_source", "unit",
    "length", "max_width", "mean_width", "width", "width_spread", "width_method", "width_low", "width_high",
    "orientation_deg", "area_unit", "area", "area_share_percent", "equivalent_diameter", "major_axis", "bbox_width",
    "bbox_height", "bbox_x_px", "bbox_y_px", "bbox_w_px", "bbox_h_px", "length_px", "max_width_px", "mean_width_px",
    "width_px", "width_spread_px", "width_low_px", "width_high_px", "mask_width_px", "area_px", "mm_per_pixel",
)


def measurement_record(m: Measurement) -> dict:
    """Plain JSON/CSV values, every figure beside its unit; pixel figures kept as well."""
    r = _round
    return {
        "label": m.label, "segment_id": m.segment_id, "category_id": m.category_id,
        "category": m.category_name, "role": m.role.value, "isthing": int(m.isthing),
        "iscrowd": int(m.iscrowd), "score": None if m.score is None else round(m.score, 4),
        "segment_source": m.source, "unit": m.unit,
        "length": r(m.length), "max_width": r(m.max_width), "mean_width": r(m.mean_width),
        "width": r(m.width), "width_spread": r(m.width_spread), "width_method": m.width_method,
        "width_low": r(m.width_low), "width_high": r(m.width_high),
        "orientation_deg": None if m.orientation_deg is None else round(m.orientation_deg, 1),
        "area_unit": m.area_unit, "area": r(m.area),
        "area_share_percent": round(100.0 * m.area_share, 4),
        "equivalent_diameter": r(m.equivalent_diameter), "major_axis": r(m.major_axis),
        "bbox_width": r(m.bbox_size[0]), "bbox_height": r(m.bbox_size[1]),
        "bbox_x_px": m.bbox_px[0], "bbox_y_px": m.bbox_px[1],
        "bbox_w_px": m.bbox_px[2], "bbox_h_px": m.bbox_px[3],
        "length_px": r(m.length_px), "max_width_px": r(m.max_width_px),
        "mean_width_px": r(m.mean_width_px), "width_px": r(m.width_px),
        "width_spread_px": r(m.width_spread_px), "width_low_px": r(m.width_low_px),
        "width_high_px": r(m.width_high_px), "mask_width_px": r(m.mask_width_px),
        "area_px": m.area_px,
        "mm_per_pixel": m.mm_per_pixel,
    }


def _round(x: float | None) -> float | None:
    """Six significant figures: plenty for pixels and millimetres, short in a CSV."""
    return None if x is None else float(f"{x:.6g}")
