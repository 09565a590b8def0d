"""``synth``: generate photo-like concrete images with defects and their exact panoptic truth."""
from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.synthetic.writer import SizeSpec


def _size(text: str) -> SizeSpec:
    from core.synthetic.writer import parse_size_spec

    try:
        return parse_size_spec(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def _fraction(text: str) -> float:
    v = float(text)
    if not 0.0 <= v < 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text}")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth", help="generate synthetic concrete photos with defects and their truth",
        description="Generate photo-like images of concrete surfaces with cracks, spalling and exposed "
                    "rebar, and write them as a COCO panoptic dataset (images/, panoptic.json, panoptic/). "
                    "The same arguments always give the same files.")
    p.add_argument("out", help="dataset folder to create (must be new or empty)")
    p.add_argument("--n", type=int, default=100, help="number of photos (default 100)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    p.add_argument("--size", type=_size, default=512,
                   help="photo size: 512 (square), 640x480 (width x height) or 256-1024 (varied; "
                        "longer side in that range, phone aspect ratios). Default 512")
    p.add_argument("--val-fraction", type=_fraction, default=None,
                   help="split with this share of the photos in val: panoptic_train.json and "
                        "panoptic_val.json (with their PNG folders) instead of panoptic.json")
    p.add_argument("--workers", type=int, default=0,
                   help="processes to generate with (default: 1 for fewer than 50 photos, else up to 4, "
                        "one per CPU core); the output is the same for any number")
    p.add_argument("--jpeg-quality", type=int, default=92, help="quality of the written photos (default 92)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists and is not empty")
    p.add_argument("--project", metavar="FILE.pinspect",
                   help="also create this project over the photos in OUT, every photo annotated (status "
                        "done) and split as the dataset is")
    p.add_argument("--preview", metavar="FILE.png",
                   help="also save a grid of the first 12 photos, each beside its truth overlay")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.commands.progress import ProgressBar
    from core.synthetic.writer import write_coco_dataset

    if args.n < 1:
        print("error: --n must be at least 1", file=sys.stderr)
        return 2
    if args.project and os.path.exists(args.project):
        print(f"error: {args.project}: a file of that name already exists; it was left as it is", file=sys.stderr)
        return 1
    workers = args.workers or (1 if args.n < 50 else min(4, os.cpu_count() or 1))
    bar = ProgressBar("synth")
    summary = write_coco_dataset(args.out, args.n, args.seed, args.size, bar, None,
                                 val_fraction=args.val_fraction, jpeg_quality=args.jpeg_quality,
                                 workers=workers, overwrite=args.overwrite)
    bar.close()
    from core.synthetic import SynthConfig, categories_of

    names = {c.id: c.name for c in categories_of(SynthConfig())}
    splits = ", ".join(f"{k}: {v}" for k, v in summary.splits.items())
    counts = ", ".join(f"{names.get(k, k)} {v}" for k, v in sorted(summary.segments.items()))
    print(f"wrote {summary.images} photos to {summary.out_dir} ({splits}) in {summary.seconds:.1f} s "
          f"({summary.images / max(summary.seconds, 1e-9):.1f} photos/s)")
    print(f"segments: {counts}")
    if args.preview:
        _preview(args)
        print(f"saved the preview grid {args.preview}")
    if args.project:
        from core.demo.sample_project import dataset_to_project

        bar = ProgressBar("project")
        dataset_to_project(args.project, args.out, bar, None)
        bar.close()
        print(f"created project {args.project}")
    return 0


def _preview(args: argparse.Namespace) -> None:
    import cv2

    from core.atomic import atomic_write_bytes
    from core.synthetic import SynthConfig, categories_of, generate_sample, image_seed
    from core.synthetic.preview import sample_grid
    from core.synthetic.writer import size_for

    samples = [generate_sample(image_seed(args.seed, i), size_for(args.size, args.seed, i))
               for i in range(min(args.n, 12))]
    grid = sample_grid(samples, categories_of(SynthConfig()), cols=3, tile=190)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    atomic_write_bytes(args.preview, buf.tobytes())
