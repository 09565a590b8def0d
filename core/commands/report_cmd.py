"""``report``: write the inspection report (self-contained HTML + CSV of every segment, a PDF).

    python main.py report bridge.pinspect --out report/
    python main.py report bridge.pinspect --out report/ --pdf --page-size Letter --structure "Pier 3"
    python main.py report dataset/panoptic_val.json --out report/ --mm-per-pixel 0.25

The input is a project (``*.pinspect``) or a COCO panoptic dataset (its JSON, or the folder).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from core.commands.options import add_scale_option, count, fraction

    p = sub.add_parser("report", help="write an inspection report (HTML + CSV) of a project or dataset",
                       description="Measure every defect and write OUT/report.html (one self-contained file: "
                                   "open it in any browser, offline) and OUT/segments.csv (one row per segment).")
    p.add_argument("input", type=Path, help="a project file (.pinspect), or a COCO panoptic JSON or its folder")
    p.add_argument("--out", type=Path, required=True, help="folder for report.html and segments.csv")
    p.add_argument("--source", choices=("auto", "annotation", "prediction"), default="auto",
                   help="projects: measure annotations, model predictions, or the annotation where there is "
                        "one and else the prediction (default: auto)")
    p.add_argument("--model", type=int, default=None, metavar="ID",
                   help="projects: the model whose predictions are used (default: the latest used)")
    p.add_argument("--threshold", type=fraction(upper_open=False), default=None, metavar="SCORE",
                   help="drop predicted segments scoring below this (0..1)")
    add_scale_option(p, "scale for photos without a calibration of their own (a dataset has none)")
    p.add_argument("--images", type=Path, default=None, metavar="DIR",
                   help="datasets: the folder of the photos (default: found beside the JSON)")
    p.add_argument("--title", default=None, help="the report's title (default: Inspection report)")
    p.add_argument("--image-width", type=count(minimum=200), default=1200, metavar="PX",
                   help="width of the pictures in the report (default: 1200)")
    p.add_argument("--pdf", action="store_true",
                   help="also write OUT/report.pdf: print-ready, a page or more per photo, page numbers, capture "
                        "time and GPS from the photos' EXIF, the calibration used")
    p.add_argument("--page-size", choices=("A4", "Letter"), default="A4", help="the PDF's paper (default: A4)")
    p.add_argument("--structure", default=None, metavar="TEXT", help="the structure inspected (report header)")
    p.add_argument("--element", default=None, metavar="TEXT", help="the element inspected (report header)")
    p.add_argument("--notes", default=None, metavar="TEXT", help="notes for the report header")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from core.commands.progress import ProgressBar
    from core.calibration import calibration_from_gsd
    from core.report import write_report

    from core.commands.inputs import dataset_inputs, project_inputs
    from core.safety import check_no_overlap

    # The report is written into --out: never over the photos it reports on or a folder holding
    # them. Inside their folder is fine (the window's default is beside the project): a report
    # holds only HTML, CSV and PDF files, which no importer takes for photos.
    check_no_overlap(args.out, project_inputs(args.input) if args.input.suffix.lower() == ".pinspect"
                     else dataset_inputs(args.input, args.images), inside_allowed=True)
    fallback = calibration_from_gsd(args.mm_per_pixel) if args.mm_per_pixel is not None else None
    project = None
    try:
        if args.input.suffix.lower() == ".pinspect":
            from core.project import Project
            from core.report.project import report_from_project

            project = Project.open(args.input, read_only=True)
            photos, categories, info = report_from_project(project, source=args.source, model_id=args.model,
                                                           min_score=args.threshold)
            if fallback is not None:
                photos = [p if p.calibration is not None else replace(p, calibration=fallback) for p in photos]
        else:
            from core.report.coco import report_from_coco

            photos, categories, info = report_from_coco(args.input, images_dir=args.images, calibration=fallback)
            info = replace(info, min_score=args.threshold)
        if args.title:
            info = replace(info, title=args.title)
        notes = tuple((label, text.strip()) for label, text in (("Structure", args.structure),
                      ("Element", args.element), ("Notes", args.notes)) if text and text.strip())
        if notes:
            info = replace(info, details=info.details + notes)
        if not any(p.has_figures for p in photos):
            print(f"error: {args.input}: nothing to report (no annotated or predicted photos)", file=sys.stderr)
            return 1
        bar = ProgressBar("report")
        result = write_report(photos, categories, args.out, info, image_width=args.image_width, progress=bar)
        if args.pdf:
            from core.report.pdf_report import PDF_NAME, write_pdf

            pdf = write_pdf(photos, categories, args.out / PDF_NAME, info, page_size=args.page_size,
                            progress=ProgressBar("pdf"))
    finally:
        if project is not None:
            project.close()
    n_defects = sum(len(p.defects) for p in result.photos)
    n_cal = sum(1 for p in result.photos if p.calibration is not None)
    print(f"{len(result.photos)} photos, {n_defects} defects ({n_cal} photos calibrated, "
          f"{len(result.photos) - n_cal} in pixels)")
    for problem in result.problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(f"wrote {result.html_path}")
    print(f"wrote {result.csv_path}")
    if args.pdf:
        print(f"wrote {pdf.path} ({pdf.pages} pages, {args.page_size})")
    return 0
