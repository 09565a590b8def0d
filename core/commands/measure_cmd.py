"""``measure``: crack length and width of photos with crack masks from any tool.

    python main.py measure IMG_1.jpg --mask IMG_1.png --mm-per-px 0.15 --json cracks.json
    python main.py measure photos/ --mask masks/ --class-value 1

One row per connected crack: length, mean and maximum width (read from the photo's grey profile
across the crack, below a pixel; see the README), their spread along the crack, and the method.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from core.commands.options import add_scale_option, count

    p = sub.add_parser("measure", help="crack length and width of photos with crack masks (any tool's)",
                       description="Measure each connected crack of a mask on its photo: length, and width read "
                                   "from the photo's grey profile across the crack (below a pixel). PHOTO and "
                                   "--mask are a photo and its mask, or a folder of photos and a folder of masks "
                                   "paired by file name.")
    p.add_argument("photo", type=Path, metavar="PHOTO", help="a photo, or a folder of photos")
    p.add_argument("--mask", type=Path, required=True, metavar="MASK",
                   help="the crack mask (PNG at the photo's size; non-zero = crack), or a folder of masks")
    p.add_argument("--class-value", type=count(minimum=0), default=None, metavar="N",
                   help="the mask is a class-index mask and N is the crack's value")
    add_scale_option(p, "scale: millimetres per pixel on the cracked surface (adds mm figures)")
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="write every figure to this JSON file")
    p.set_defaults(func=run)


def _fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def run(args: argparse.Namespace) -> int:
    from core.atomic import atomic_write_text
    from core.commands.crack_files import measure_paths
    from core.commands.exit_codes import EXIT_ERROR, EXIT_OK

    mm = args.mm_per_pixel
    run_ = measure_paths(args.photo, args.mask, args.class_value)
    unit = "mm" if mm is not None else "px"
    scale = mm if mm is not None else 1.0
    for photo in run_.photos:
        print(f"{photo.photo.name}: {len(photo.rows)} crack{'s' if len(photo.rows) != 1 else ''}")
        print(f"  {'#':>3} {'length ' + unit:>11} {'mean w ' + unit:>11} {'max w ' + unit:>10} "
              f"{'IQR ' + unit:>8}  method")
        for r in photo.rows:
            w = r.width
            digits = 1 if unit == "px" and r.length_px * scale >= 100 else 2
            print(f"  {r.index:>3} {_fmt(r.length_px * scale, digits):>11} {_fmt(w.mean * scale, 3):>11} "
                  f"{_fmt(w.max * scale, 3):>10} {_fmt(w.iqr * scale, 3):>8}  {w.method}")
    for path, reason in run_.problems:
        print(f"warning: {path}: {reason}", file=sys.stderr)
    if args.json is not None:
        try:
            atomic_write_text(args.json, json.dumps(run_.to_json(mm, args.class_value), indent=1))
        except OSError as e:
            print(f"error: cannot write {args.json}: {e}", file=sys.stderr)
            return EXIT_ERROR
        print(f"wrote {args.json}")
    return EXIT_ERROR if run_.problems and not run_.photos else EXIT_OK
