"""``import``: bring a dataset (mask folder, COCO instances, COCO panoptic, labelme) into a project,
or convert it to a COCO panoptic folder.

    python main.py import masks photos/ --masks masks/ --classes 1=crack,2=spalling --fill concrete --project p.pinspect
    python main.py import coco annotations/instances_default.json --out coco_panoptic/ --split
    python main.py import labelme labelme_dir/ --project p.pinspect
    python main.py import auto dataset/ --project p.pinspect      # the format found as the window finds it
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.commands.options import count, fraction

if TYPE_CHECKING:
    from core.commands.progress import ProgressBar
    from core.formats import ClassMapping, ImportReport, ImportRun
    from core.progress import CancelFlag, ProgressFn

FORMATS = ("auto", "masks", "coco", "coco-panoptic", "labelme")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import a dataset into a project, or convert it to COCO panoptic",
                       description="Import photos with masks or annotations. Give --project to add them to a "
                                   "project (created when missing), or --out to write a COCO panoptic folder.")
    p.add_argument("format", choices=FORMATS, help="auto: found from the source, as a drop on the window "
                   "finds it; masks: photos + mask folder; coco: COCO instances JSON "
                   "(CVAT ...); coco-panoptic: panoptic JSON + PNG folder; labelme: labelme JSON files")
    p.add_argument("source", type=Path, help="photos folder (masks), the JSON file (coco, coco-panoptic), or a "
                   "labelme file or folder")
    g = p.add_argument_group("where to")
    dest = g.add_mutually_exclusive_group(required=True)
    dest.add_argument("--project", type=Path, help="project file (.pinspect) to add to")
    dest.add_argument("--out", type=Path, help="write a COCO panoptic folder instead")
    g.add_argument("--replace", action="store_true", help="replace annotations the project already has")
    g.add_argument("--split", nargs="?", type=fraction(), const=0.2, default=None, metavar="VAL_FRACTION",
                   help="with --out: seeded train/val split (default 0.2 when given without a value)")
    g.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    g.add_argument("--overwrite", action="store_true",
                   help="with --out: replace an earlier output there (never a folder we did not write)")
    g.add_argument("--dry-run", action="store_true",
                   help="read everything and say what would be created, replaced or skipped; write nothing")
    g.add_argument("--no-images", action="store_true", help="with --out: do not copy the photos")
    m = p.add_argument_group("masks")
    m.add_argument("--masks", type=Path, help="folder of masks (format masks)")
    m.add_argument("--classes", help="class mapping: a JSON file, or VALUE=CLASS,... (class-index masks) or "
                   "TOKEN=CLASS,... (binary masks); NAME:thing / NAME:stuff adds a class. Default: values are "
                   "category ids of the default set")
    m.add_argument("--mode", choices=("auto", "index", "binary"), default="auto",
                   help="one class-index mask per photo, or one binary mask per class (default: auto)")
    m.add_argument("--connectivity", type=int, choices=(4, 8), default=8, help="for splitting things (default 8)")
    m.add_argument("--min-area", type=count(0), default=0, help="thing components below this many pixels are "
                   "treated as unlabelled (default 0: keep all)")
    c = p.add_argument_group("all formats")
    c.add_argument("--fill", help="stuff class (name or id) that unlabelled pixels become, instead of void")
    c.add_argument("--images", type=Path, help="photo folder (coco, coco-panoptic; default: guessed)")
    c.add_argument("--png-dir", type=Path, help="PNG folder (coco-panoptic; default: the JSON path without .json)")
    c.add_argument("--stuff", default="", help="coco: comma-separated category names that are stuff")
    c.add_argument("--report", type=Path, help="write the full import report as JSON")
    c.add_argument("--strict", action="store_true", help="exit with 1 when any item was skipped or not saved")
    p.set_defaults(func=run)


def _mapping(args: argparse.Namespace) -> ClassMapping:
    from core.formats import ClassMapping, load_class_mapping, parse_class_option

    if not args.classes:
        return ClassMapping.identity()
    if args.classes.endswith(".json") or Path(args.classes).is_file():
        return load_class_mapping(args.classes)
    return parse_class_option(args.classes)


def open_run(args: argparse.Namespace, progress: ProgressFn | None, cancel: CancelFlag | None = None) -> ImportRun:
    """The importer's run for the parsed arguments."""
    from core.formats import (MaskFolderOptions, import_coco_instances, import_coco_panoptic, import_labelme,
                              import_mask_folder)

    if args.format == "masks":
        opts = MaskFolderOptions(args.mode, args.connectivity, args.min_area, args.fill)
        return import_mask_folder(args.source, args.masks, _mapping(args), opts, progress, cancel)
    if args.format == "coco":
        stuff = [s.strip() for s in args.stuff.split(",") if s.strip()]
        return import_coco_instances(args.source, args.images, stuff=stuff, fill=args.fill, progress=progress,
                                     cancel=cancel)
    if args.format == "coco-panoptic":
        return import_coco_panoptic(args.source, args.png_dir, args.images, progress, cancel)
    categories = _mapping(args).categories if args.classes else None
    return import_labelme(args.source, categories=categories, fill=args.fill, progress=progress, cancel=cancel)


def _detect_format(args: argparse.Namespace) -> None:
    """Replace ``auto`` by the format found at ``args.source`` (and the mask folder it found)."""
    from core.errors import DatasetError
    from core.formats.detect import DATASET_NAMES, IMPORT_FORMATS, detect_dataset

    found = detect_dataset(args.source)
    if found is None:
        raise DatasetError("no dataset found here (a COCO or COCO panoptic JSON, labelme files, or photos with a "
                           "masks/labels folder beside them)", args.source,
                           hint="name the format instead of auto: masks, coco, coco-panoptic or labelme")
    args.format, args.source = IMPORT_FORMATS[found.kind], found.path
    if found.masks is not None and args.masks is None:
        args.masks = found.masks
    print(f"found {DATASET_NAMES[found.kind]}: {found.path}")


def run(args: argparse.Namespace) -> int:
    from core.commands.progress import ProgressBar
    from core.errors import InspectorError
    from core.formats import export_coco_panoptic, records_from_import

    if args.format == "auto":
        _detect_format(args)
    if args.format == "masks" and args.masks is None:
        print("error: import masks needs --masks DIR", file=sys.stderr)
        return 2
    if args.out is not None:
        from core.safety import check_no_overlap, check_replaceable

        check_no_overlap(args.out, [args.source, args.masks, args.images, args.png_dir])
        check_replaceable(args.out, args.overwrite)
    bar = ProgressBar(f"import {args.format}")
    not_saved = 0  # items read but not saved into the project: --strict counts them too
    run_ = open_run(args, bar)
    if args.dry_run:
        return _dry_run(args, run_, bar)
    try:
        if args.project is not None:
            from core.formats.project_io import import_into_project
            from core.project import Project

            if args.project.exists():
                project = Project.open(args.project)
            else:
                project = Project.create(args.project)
                print(f"created the project {project.path}")
            with project:
                if project.read_only:
                    print(f"error: {project.path}: opened read-only ({project.read_only_reason})", file=sys.stderr)
                    return 1
                into = import_into_project(project, run_, replace_existing=args.replace)
                lines_after = into.lines()
                not_saved = len(into.problems)
        else:
            summary = export_coco_panoptic(records_from_import(run_), run_.categories, args.out,
                                           val_fraction=args.split, seed=args.seed, images=not args.no_images,
                                           overwrite=args.overwrite)
            lines_after = summary.lines(run_.categories)
    except InspectorError:
        bar.close()
        _print_report(run_.report, [], args.report)  # what was skipped explains most failures
        raise
    bar.close()
    _print_report(run_.report, lines_after, args.report)
    if run_.report.images == 0:
        print("error: nothing was imported", file=sys.stderr)
        return 1
    return 1 if args.strict and (run_.report.skipped or not_saved) else 0


def _dry_run(args: argparse.Namespace, run_: ImportRun, bar: ProgressBar) -> int:
    from core.commands.dry_run import destination_plan, print_plan, project_plan

    try:
        if args.project is not None:
            plan = project_plan(args.project, run_, args.replace)
        else:
            run_.collect()
            plan = destination_plan(args.out, args.overwrite, f"{run_.report.images - run_.report.unannotated} "
                                    "annotated images as COCO panoptic")
    finally:
        bar.close()
    print_plan(plan, [p.message() for p in run_.report.skipped])
    return 1 if args.strict and run_.report.skipped else 0


def _print_report(report: ImportReport, lines_after: list[str], json_path: Path | None) -> None:
    for line in report.lines() + lines_after:
        print(line)
    if json_path is not None:
        from core.atomic import atomic_write_text
        from core.errors import InspectorError

        try:
            atomic_write_text(json_path, json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        except OSError as e:
            raise InspectorError(f"cannot write the import report: {e.strerror or e}", json_path,
                                 hint="give a file path, in a folder you can write") from e
