"""The inspection report: a self-contained HTML file and a CSV of every segment.

Start at ``write_report`` (writer.py) with a list of ``ReportPhoto`` (model.py); adapters build
that list from a project (project.py) or a COCO panoptic dataset (coco.py).
"""
from core.report.csv_report import csv_columns, write_csv
from core.report.model import (SOURCE_ANNOTATION, SOURCE_NONE, SOURCE_PREDICTION, ReportInfo, ReportPhoto,
                               ReportResult)
from core.report.overlay import render_overlay
from core.report.writer import CSV_NAME, HTML_NAME, write_report

__all__ = [
    "write_report", "ReportPhoto", "ReportInfo", "ReportResult",
    "SOURCE_ANNOTATION", "SOURCE_PREDICTION", "SOURCE_NONE",
    "render_overlay", "write_csv", "csv_columns", "HTML_NAME", "CSV_NAME",
]
