"""Measuring defects: calibration, per-segment figures by category role, totals.

Start at ``measure_annotation`` (segments.py), which makes ``Measurement`` records (measurement.py);
``totals.py`` adds them up over photos and ``present.py`` formats them. The rules are in
the docstrings of ``roles.py`` (which figures a category gets), ``skeleton.py`` and ``cracks.py``
(length and mask width along the centreline), ``profile_width.py`` (crack width read from the
photo, below a pixel), ``regions.py`` (area figures); the scale (millimetres per pixel) is ``core.calibration``.
"""
from core.calibration import (AREA_UNITS, UNIT_MM, UNIT_PX, Calibration, CalibrationError, calibration_from_gsd,
                              calibration_from_line)
from core.measure.cracks import LinearFigures, measure_linear
from core.measure.present import (RECORD_COLUMNS, TABLE_COLUMNS, column_titles, format_measurement, format_number,
                                  measurement_record, table_row, to_tsv)
from core.measure.regions import RegionFigures, measure_region
from core.measure.roles import ROLE_KEYWORDS, Role, role_for, role_for_name
from core.measure.totals import CategoryTotal, PhotoMeasurements, summarize
from core.measure.measurement import Measurement
from core.measure.segments import at_threshold, measure_annotation, measure_segment, number_defects, segment_boxes

__all__ = [
    "Calibration", "CalibrationError", "calibration_from_line", "calibration_from_gsd", "UNIT_MM", "UNIT_PX",
    "AREA_UNITS", "Role", "ROLE_KEYWORDS", "role_for", "role_for_name", "LinearFigures", "measure_linear",
    "RegionFigures", "measure_region", "Measurement", "PhotoMeasurements", "CategoryTotal",
    "measure_annotation", "measure_segment", "at_threshold", "number_defects", "segment_boxes", "summarize",
    "format_number", "format_measurement", "measurement_record", "RECORD_COLUMNS", "TABLE_COLUMNS", "column_titles",
    "table_row", "to_tsv",
]
