"""``export``: write a project (or a COCO panoptic dataset) as COCO panoptic, COCO instances or
semantic class-index PNGs, atomically.

    python main.py export bridge.pinspect --format coco-panoptic --out export/ --split
    python main.py export bridge.pinspect --format coco-instances --include-stuff --out det/
    python main.py export panoptic_all.json --format semantic --out semantic/
"""
from __future__ import annotations

import argparse
from pathlib import Path

from core.commands.options import fraction

FORMATS = ("coco-panoptic", "coco-instances", "semantic")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export annotations (COCO panoptic, COCO instances, semantic PNGs)",
                       description="Export the annotated images of a project (.pinspect), or convert a COCO "
                                   "panoptic JSON. The folder is written atomically: a failed export leaves "
                                   "nothing that looks complete.")
    p.add_argument("source", type=Path, help="a project file (.pinspect) or a COCO panoptic JSON")
    p.add_argument("--format", choices=FORMATS, default="coco-panoptic", help="default: coco-panoptic")
    p.add_argument("--out", type=Path, required=True, help="destination folder (new or empty)")
    p.add_argument("--split", nargs="?", type=fraction(), const=0.2, default=None, metavar="VAL_FRACTION",
                   help="seeded train/val split (default 0.2 when given without a value)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    p.add_argument("--project-splits", action="store_true",
                   help="use the photos' splits stored in the project instead")
    p.add_argument("--include-stuff", action="store_true", help="coco-instances: also write stuff segments")
    p.add_argument("--keep-ids", action="store_true",
                   help="coco-panoptic: keep segment ids as stored (default: canonical 1..N)")
    p.add_argument("--no-images", action="store_true", help="do not copy the photos")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier export in --out after success (never a folder we did not write)")
    p.add_argument("--dry-run", action="store_true",
                   help="say what would be created, replaced or skipped, and write nothing")
    p.set_defaults(func=run)


def _options(args: argparse.Namespace) -> dict:
    opts = {"val_fraction": args.split, "seed": args.seed, "images": not args.no_images,
            "overwrite": args.overwrite}
    if args.format == "coco-instances":
        opts["include_stuff"] = args.include_stuff
    if args.format == "coco-panoptic":
        opts["renumber"] = not args.keep_ids
    return opts


def run(args: argparse.Namespace) -> int:
    from core.commands.progress import ProgressBar
    from core.formats import EXPORTERS, import_coco_panoptic, records_from_import

    from core.commands.inputs import dataset_inputs, project_inputs
    from core.safety import check_no_overlap, check_replaceable

    is_json = args.source.suffix.lower() == ".json"
    # the inputs the export must never replace nor write into (photos are checked per record)
    inputs = dataset_inputs(args.source) if is_json else project_inputs(args.source)
    check_no_overlap(args.out, inputs)
    check_replaceable(args.out, args.overwrite, "export folder")
    if args.dry_run:
        return _dry_run(args, is_json)
    bar = ProgressBar(f"export {args.format}")
    try:
        if is_json:
            if args.project_splits:
                print("note: --project-splits applies to projects only; ignored")
            run_ = import_coco_panoptic(args.source, progress=bar)
            summary = EXPORTERS[args.format](records_from_import(run_), run_.categories, args.out, **_options(args))
            categories = run_.categories
            for p in run_.report.skipped:
                print(f"skipped: {p.message()}")
        else:
            from core.formats.project_io import export_project
            from core.project import Project

            with Project.open(args.source, read_only=True) as project:  # exporting never writes the project
                summary = export_project(project, args.format, args.out, project_splits=args.project_splits,
                                         progress=bar, **_options(args))
                categories = project.categories.get()
    finally:
        bar.close()
    for line in summary.lines(categories):
        print(line)
    return 0


def _dry_run(args: argparse.Namespace, is_json: bool) -> int:
    """Read the source (nothing written) and say what the export would do."""
    from core.commands.dry_run import destination_plan, print_plan
    from core.formats import import_coco_panoptic

    skipped: list[str] = []
    if is_json:
        run_ = import_coco_panoptic(args.source)
        run_.collect()
        count = run_.report.images - run_.report.unannotated
        skipped = [p.message() for p in run_.report.skipped]
    else:
        from core.formats.project_io import project_records
        from core.project import Project

        with Project.open(args.source, read_only=True) as project:
            count, _ = project_records(project)
    print_plan(destination_plan(args.out, args.overwrite, f"{count} annotated images as {args.format}"), skipped)
    return 0

