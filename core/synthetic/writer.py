"""Many synthetic photos written as a COCO panoptic dataset.

Layout under ``out_dir`` (what ``core.formats.import_coco_panoptic`` and panopticapi read)::

    images/synth_000000.jpg ...      the photos
    panoptic.json, panoptic/*.png    without a split
    panoptic_train.json, panoptic_train/*.png,
    panoptic_val.json, panoptic_val/*.png          with ``val_fraction``

Image ``i`` has id ``i + 1`` and is made from ``image_seed(seed, i)``, so it does not depend on how
many images are made, on the split or on the number of workers. The folder is built beside
``out_dir`` and moved into place only when complete (``core.formats.export.AtomicFolder``): a
cancelled or failed run leaves nothing that looks like a dataset.
"""
from __future__ import annotations

import logging
import multiprocessing
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable, Iterator

import numpy as np

from core.errors import CancelledError
from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic
from core.formats.export import AtomicFolder, split_ids
from core.imageio import encode_jpeg
from core.panoptic import PanopticAnnotation
from core.progress import CancelFlag, ProgressFn
from core.synthetic.generator import SynthConfig, categories_of, generate_sample, image_seed, parse_size

log = logging.getLogger(__name__)

#: Aspect ratios (width / height) of photos in a size range: phones shoot 4:3 and 16:9, both ways up.
ASPECTS = (1.0, 4 / 3, 3 / 4, 3 / 2, 2 / 3, 16 / 9, 9 / 16)






@dataclass(frozen=True)
class SizeRange:
    """Photos of varied size: the longer side uniform in ``[min_side, max_side]`` px, the aspect
    ratio one of ``ASPECTS``."""

    min_side: int
    max_side: int

    def __post_init__(self):
        if not 0 < self.min_side <= self.max_side:
            raise ValueError(f"size range {self.min_side}-{self.max_side} is empty")
        parse_size((self.max_side, self.max_side))  # checks the limits


SizeSpec = int | tuple[int, int] | SizeRange


def parse_size_spec(text: str) -> SizeSpec:
    """``"512"`` (square), ``"640x480"`` (width x height) or ``"256-1024"`` (a ``SizeRange``)."""
    t = text.strip().lower()
    try:
        if "-" in t:
            lo, hi = (int(v) for v in t.split("-", 1))
            return SizeRange(lo, hi)
        if "x" in t:
            w, h = (int(v) for v in t.split("x", 1))
            parse_size((w, h))
            return (w, h)
        parse_size(int(t))
        return int(t)
    except ValueError as e:
        raise ValueError(f"bad size {text!r}: use 512, 640x480 or 256-1024 ({e})") from e


def size_for(spec: SizeSpec, seed: int, index: int) -> tuple[int, int]:
    """``(width, height)`` of image ``index``: fixed, or drawn from a ``SizeRange`` by the seed."""
    if not isinstance(spec, SizeRange):
        return parse_size(spec)
    rng = np.random.default_rng([int(seed), int(index), 0x5129])
    long_side = int(rng.integers(spec.min_side, spec.max_side + 1))
    aspect = float(rng.choice(ASPECTS))
    w, h = (long_side, long_side / aspect) if aspect >= 1 else (long_side * aspect, long_side)
    return max(int(round(w)), 32), max(int(round(h)), 32)


def file_stem(index: int) -> str:
    return f"synth_{index:06d}"


@dataclass
class DatasetSummary:
    """What ``write_coco_dataset`` wrote."""

    out_dir: Path
    splits: dict[str, int] = field(default_factory=dict)
    segments: dict[int, int] = field(default_factory=dict)  # category id -> segment count
    seconds: float = 0.0

    @property
    def images(self) -> int:
        return sum(self.splits.values())


def _make(job: tuple[int, int, SizeSpec, SynthConfig, int]) -> tuple[int, bytes, PanopticAnnotation]:
    """Worker body: image ``index`` as JPEG bytes and its truth (module level, so it pickles)."""
    index, seed, size, config, quality = job
    rgb, ann = generate_sample(image_seed(seed, index), size_for(size, seed, index), config)
    return index, encode_jpeg(rgb, quality), ann


def _results(jobs: list, workers: int) -> Iterator[tuple[int, bytes, PanopticAnnotation]]:
    if workers <= 1 or len(jobs) < 2:
        yield from map(_make, jobs)
        return
    # spawn, not fork: the caller may be a GUI process with threads, and forking those is unsafe.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(min(workers, len(jobs))) as pool:
        yield from pool.imap(_make, jobs, chunksize=4)


def write_coco_dataset(out_dir: str | Path, n: int, seed: int = 0, size: SizeSpec = 512,
                       progress: ProgressFn | None = None, cancel: CancelFlag | None = None, *,
                       config: SynthConfig | None = None, val_fraction: float | None = None,
                       jpeg_quality: int = 92, workers: int = 1, overwrite: bool = False) -> DatasetSummary:
    """Generate ``n`` photos with truth and write them as a COCO panoptic dataset (see module doc).

    Args:
        out_dir: the dataset folder; must be new or empty unless ``overwrite``.
        n: number of photos.
        seed: the dataset seed; the same arguments give the same files.
        size: an int (square), ``(width, height)``, or a ``SizeRange`` for varied photo sizes.
        progress: called ``progress(done, n, file_name)`` after each photo.
        cancel: checked between photos; when set, ``CancelledError`` is raised and nothing is left.
        config: what the photos contain (None: defaults).
        val_fraction: None for one split (``panoptic.json``); else the share of photos in ``val``
            (seeded, exact: ``round(n * val_fraction)`` photos).
        jpeg_quality: quality of the stored photos (the camera model has its own compression).
        workers: processes generating photos; the output is the same for any number.
        overwrite: replace an existing non-empty ``out_dir`` (only once the new one is complete).
    Raises:
        DatasetError: ``out_dir`` not empty, or a write failed.
        CancelledError: ``cancel`` was set.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    config = config or SynthConfig()
    categories = categories_of(config)
    splits = split_ids(range(1, n + 1), val_fraction, seed, "all")
    by_split: dict[str, list[int]] = {}
    for image_id, name in sorted(splits.items()):
        by_split.setdefault(name, []).append(image_id - 1)
    summary = DatasetSummary(Path(out_dir))
    start = time.monotonic()
    done = 0
    with AtomicFolder(out_dir, overwrite) as tmp:
        (tmp / "images").mkdir()

        def records(indices: list[int]) -> Iterable[PanopticRecord]:
            nonlocal done
            jobs = [(i, int(seed), size, config, int(jpeg_quality)) for i in indices]
            for index, jpeg, ann in _results(jobs, workers):
                if cancel is not None and cancel.is_set():
                    raise CancelledError("synthetic dataset cancelled", out_dir)
                name = file_stem(index) + ".jpg"
                (tmp / "images" / name).write_bytes(jpeg)
                for seg in ann.segments.values():
                    summary.segments[seg.category_id] = summary.segments.get(seg.category_id, 0) + 1
                h, w = ann.shape
                yield PanopticRecord(index + 1, name, w, h, ann)
                done += 1
                if progress is not None:
                    progress(done, n, name)

        for name, indices in sorted(by_split.items()):
            json_name = "panoptic.json" if name == "all" else f"panoptic_{name}.json"
            json_path = tmp / json_name
            write_coco_panoptic(json_path, json_path.with_suffix(""), records(indices), categories)
            summary.splits[name] = len(indices)
    summary.seconds = time.monotonic() - start
    log.info("wrote %d synthetic photos to %s in %.1f s", n, out_dir, summary.seconds)
    return summary
