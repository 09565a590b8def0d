"""The CSV of a report: one row per segment of every photo, every figure beside its unit.

Columns: ``photo``, ``source`` then ``core.measure.present.measurement_record`` (``unit`` says mm or px for
every length column, ``area_unit`` mm² or px² for ``area``; pixel figures are repeated in the
``*_px`` columns so a later calibration needs no re-measuring). Empty cells: not applicable.
Written atomically in UTF-8 with a byte-order mark, which spreadsheet programs need to read
``mm²`` correctly; ``csv.reader(open(path, encoding="utf-8-sig"))`` reads it.

(Named ``csv_report`` rather than ``csv`` so it never shadows the standard library module.)
"""
from __future__ import annotations

import csv
from pathlib import Path
from collections.abc import Sequence

from core.atomic import atomic_open
from core.measure.present import RECORD_COLUMNS, measurement_record
from core.measure.totals import PhotoMeasurements

#: Columns before the measurement record.
LEAD_COLUMNS = ("photo", "source")


def csv_columns() -> list[str]:
    """The header row."""
    return list(LEAD_COLUMNS) + list(RECORD_COLUMNS)


def write_csv(path: str | Path, photos: Sequence[PhotoMeasurements]) -> Path:
    """Write the segments of ``photos`` to ``path`` atomically; returns the path."""
    path = Path(path)
    columns = csv_columns()
    with atomic_open(path, "w", encoding="utf-8-sig") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for p in photos:
            for m in p.measurements:
                rec = measurement_record(m)
                row = [p.name, p.source] + ["" if rec[c] is None else rec[c] for c in RECORD_COLUMNS]
                writer.writerow(row)
    return path
