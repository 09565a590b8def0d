"""What every exporter shares: the atomic export folder, the train/val split, file naming, photos.

* **Atomic**: an export is written into ``<dest>.partial-XXXX`` beside ``dest`` and renamed into
  place only when everything succeeded, so a failed or killed export never leaves a folder that
  looks complete (a leftover ``.partial-`` folder is plainly unfinished, and the next export to the
  same place removes it). An existing non-empty ``dest`` is refused unless ``overwrite=True`` *and*
  it is an earlier output of ours (its marker file, ``core.safety``); it is replaced only after
  success.
* **Split**: optional, seeded: the sorted image ids are shuffled with ``numpy.random.default_rng(seed)``
  and the first ``round(n * val_fraction)`` go to ``val`` (default 80/20 as published work used).
  Files are staged first and moved to their split's folder at the end, so the split is exact and
  depends only on the set of image ids and the seed, not on the order records arrive in.
* **Photos** are written upright: a photo without EXIF rotation is copied byte for byte; a rotated
  one is re-encoded upright (JPEG quality 95, otherwise PNG), because most training code ignores
  EXIF and would pair a sideways photo with an upright mask.
* **Names**: a photo keeps its file name; a clash (same stem, any case) gets ``_<image id>`` added.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from collections import Counter, defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np

from core.categories import CategorySet
from core.errors import AnnotationError, CancelledError, DatasetError, InspectorError
from core.formats.build import SegStats, canonical, check_consistent, segment_table
from core.formats.records import ExportRecord
from core.formats.parallel import default_workers, ordered_map
from core.progress import CancelFlag, ProgressFn
from core.imageio import encode_jpeg, load_image, verify_image
from core.panoptic import PanopticAnnotation

log = logging.getLogger(__name__)

DEFAULT_VAL_FRACTION = 0.2
T = TypeVar("T")


@dataclass
class ExportSummary:
    """What an export wrote: images per split, segments per category id, the main files."""

    dest: Path
    format: str
    splits: dict[str, int] = field(default_factory=dict)
    segments: Counter = field(default_factory=Counter)
    files: list[str] = field(default_factory=list)

    def lines(self, categories: CategorySet) -> list[str]:
        names = {c.id: c.name for c in categories}
        out = [f"wrote {self.format} to {self.dest}"]
        out += [f"  {split}: {n} images" for split, n in self.splits.items()]
        out.append(f"segments: {sum(self.segments.values())}")
        out += [f"  {names.get(c, c)}: {n}" for c, n in sorted(self.segments.items())]
        return out


class AtomicFolder:
    """``with AtomicFolder(dest) as tmp:`` write into ``tmp``; on success it becomes ``dest``.

    Raises ``DatasetError`` on entry when ``dest`` is a file, a non-empty folder without
    ``overwrite``, or a non-empty folder we did not write (never replaced: see ``core.safety``),
    and when the final rename fails; on any failure the temporary folder is removed
    and an existing ``dest`` is left as it was. ``OSError`` inside the block (disk full, read-only)
    comes out as ``DatasetError`` naming ``dest``.
    """

    def __init__(self, dest: str | Path, overwrite: bool = False, kind: str = "export"):
        self.dest = Path(dest)
        self.overwrite = overwrite
        self.kind = kind
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        from core.safety import check_replaceable, remove_stale_work_folders, write_marker

        dest = self.dest
        remove_stale_work_folders(dest)  # first: it may give back an earlier export a kill left aside
        check_replaceable(dest, self.overwrite, "export folder")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f"{dest.name}.partial-", dir=dest.parent))
            # the marker goes in first: it makes the working folder ours to clean up after a kill,
            # and the finished folder ours to replace with --overwrite
            write_marker(self.tmp, self.kind)
        except OSError as e:
            if self.tmp is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)
            raise DatasetError(f"cannot create the export folder: {e.strerror or e}", dest,
                               hint="check free space and write permission") from e
        return self.tmp

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> Literal[False]:
        assert self.tmp is not None
        if exc_type is None:
            try:
                self._commit()
                return False
            except OSError as e:
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise DatasetError(f"cannot move the export into place: {e.strerror or e}", self.dest) from e
        shutil.rmtree(self.tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise DatasetError(f"cannot write the export: {exc.strerror or exc}", self.dest,
                               hint="check free space and write permission") from exc
        return False

    def _commit(self) -> None:
        dest, tmp = self.dest, self.tmp
        assert tmp is not None  # __enter__ made it
        if not dest.exists():
            os.rename(tmp, dest)
            return
        old = dest.with_name(f"{dest.name}.old-{uuid.uuid4().hex[:8]}")
        os.rename(dest, old)
        try:
            os.rename(tmp, dest)
        except OSError:
            os.rename(old, dest)  # put the previous export back
            raise
        shutil.rmtree(old, ignore_errors=True)


def split_ids(image_ids: Iterable[int], val_fraction: float | None, seed: int = 0,
              name: str = "all") -> dict[int, str]:
    """``{image id: split}``: everything in ``name``, or a seeded ``train`` / ``val`` split."""
    ids = sorted(set(int(i) for i in image_ids))
    if val_fraction is None:
        return {i: name for i in ids}
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in [0, 1), got {val_fraction}")
    perm = np.random.default_rng(seed).permutation(len(ids))
    n_val = int(round(len(ids) * val_fraction))
    val = {ids[k] for k in perm[:n_val].tolist()}
    return {i: ("val" if i in val else "train") for i in ids}


def choose_splits(image_ids: Iterable[int], splits: Mapping[int, str] | None, val_fraction: float | None,
                  seed: int, name: str) -> dict[int, str]:
    """The given ``splits`` (e.g. the project's; ids it lacks go to ``name``), else ``split_ids``."""
    if splits is None:
        return split_ids(image_ids, val_fraction, seed, name)
    return {int(i): str(splits.get(i) or name) for i in image_ids}


class NameAllocator:
    """Unique file stems (compared case-insensitively, for Windows and macOS)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def stem(self, wanted: str, image_id: int) -> str:
        stem = wanted or f"image_{image_id}"
        if stem.casefold() in self._taken:
            stem = f"{stem}_{image_id}"
            k = 2
            while stem.casefold() in self._taken:
                stem, k = f"{wanted}_{image_id}_{k}", k + 1
        self._taken.add(stem.casefold())
        return stem


def photo_suffix(rec: ExportRecord) -> str:
    """Suffix the exported photo gets: its own, or ``.png`` when a rotated non-JPEG is re-encoded."""
    return Path(rec.photo_path).suffix.lower() or ".jpg"


def write_photo(rec: ExportRecord, out: Path) -> str:
    """Write the record's photo upright to ``out`` (without suffix); returns the file name used.

    Raises ``BadImageError`` when the photo is missing or unreadable and ``AnnotationError`` when
    its size no longer matches the annotation.
    """
    src = Path(rec.photo_path)
    info = verify_image(src)  # a photo cut short never goes into a dataset that looks complete
    if (info.width, info.height) != (rec.width, rec.height):
        raise AnnotationError(f"the photo is now {info.width}x{info.height} but its annotation is "
                              f"{rec.width}x{rec.height}", src, hint="the photo file was replaced")
    suffix = photo_suffix(rec)
    if info.orientation == 1:
        target = out.with_name(out.name + suffix)
        shutil.copyfile(src, target)
        return target.name
    rgb = load_image(src)
    if suffix in (".jpg", ".jpeg"):
        target = out.with_name(out.name + suffix)
        target.write_bytes(encode_jpeg(rgb, quality=95))
    else:
        from core.imageio import encode_png

        target = out.with_name(out.name + ".png")
        target.write_bytes(encode_png(rgb))
    return target.name


class StagedFiles:
    """Files written before the split is known, moved to ``folder(kind, split)`` at the end."""

    def __init__(self, root: Path):
        self.root = root
        self.staging = root / ".staging"
        self._files: dict[int, list[tuple[str, str]]] = defaultdict(list)  # image id -> [(kind, name)]

    def folder(self, kind: str) -> Path:
        """The staging folder for files of ``kind`` (created)."""
        folder = self.staging / kind
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def register(self, image_id: int, kind: str, name: str) -> None:
        """Remember that ``folder(kind) / name`` belongs to ``image_id``."""
        self._files[image_id].append((kind, name))

    def photo(self, rec: ExportRecord, stem: str) -> str:
        """Write the record's photo upright (``write_photo``) into staging; returns its file name
        (to ``register`` from the consumer's thread)."""
        return write_photo(rec, self.folder("img") / stem)

    def place(self, split_of: dict[int, str], folder: Callable[[str, str], str]) -> None:
        for image_id, files in self._files.items():
            for kind, name in files:
                target_dir = self.root / folder(kind, split_of[image_id])
                target_dir.mkdir(parents=True, exist_ok=True)
                os.replace(self.staging / kind / name, target_dir / name)
        shutil.rmtree(self.staging, ignore_errors=True)


def iterate_records(records: Iterable[ExportRecord], cancel: CancelFlag | None,
                    dest: Path | None = None) -> Iterator[ExportRecord]:
    """Records with unique ids and annotations of the image's size; stops with ``CancelledError``
    between records. Errors name the photo and the image id. A photo inside ``dest`` (the folder
    the export would replace) is refused: the export would delete or point at its own input."""
    from core.safety import UnsafeOutputError, resolved

    seen: set[int] = set()
    target = None if dest is None else resolved(dest)
    for rec in records:
        if cancel is not None and cancel.is_set():
            raise CancelledError("export cancelled")
        if rec.image_id in seen:
            raise DatasetError(f"image id {rec.image_id} is exported twice", rec.photo_path)
        seen.add(rec.image_id)
        if target is not None and resolved(rec.photo_path).is_relative_to(target):
            raise UnsafeOutputError(f"the photo {rec.photo_path} lies inside the export folder", dest,
                                    hint="export to a folder that holds none of the photos")
        if rec.annotation.shape != (rec.height, rec.width):
            raise AnnotationError(f"annotation is {rec.annotation.shape[1]}x{rec.annotation.shape[0]} but the "
                                  f"image is {rec.width}x{rec.height}", rec.photo_path)
        yield rec


def run_records(records: Iterable[ExportRecord], work: Callable[[ExportRecord, str], T], *,
                progress: ProgressFn | None, cancel: CancelFlag | None, total: int | None,
                workers: int | None, dest: Path | None = None) -> Iterator[tuple[ExportRecord, str, T]]:
    """The loop every exporter runs: ``(record, stem, work(record, stem))`` in record order.

    Stems (unique file names) are allocated in record order on the caller's thread, so names are
    deterministic; ``work`` (checking, encoding, writing into the staging folder) runs on
    ``workers`` threads. ``progress(done, total, name)`` after each record. ``dest``: the export's
    destination, which must hold none of the photos (``iterate_records``).
    """
    if total is None:
        total = len(records) if hasattr(records, "__len__") else 0  # type: ignore[arg-type]
    names = NameAllocator()

    def jobs() -> Iterator[tuple[ExportRecord, str]]:
        for rec in iterate_records(records, cancel, dest):
            yield rec, names.stem(Path(rec.photo_path).stem, rec.image_id)

    def run(job: tuple[ExportRecord, str]) -> tuple[ExportRecord, str, T]:
        rec, stem = job
        return rec, stem, work(rec, stem)

    with closing(ordered_map(run, jobs(), default_workers() if workers is None else workers)) as results:
        for done, out in enumerate(results, start=1):
            if cancel is not None and cancel.is_set():  # records read ahead are dropped
                raise CancelledError("export cancelled")
            yield out
            if progress is not None:
                progress(done, total, Path(out[0].photo_path).name)


def prepared(rec: ExportRecord, categories: CategorySet, renumber: bool = True
             ) -> tuple[PanopticAnnotation, dict[int, SegStats]]:
    """The record's annotation checked against its table and the categories (panopticapi's
    wording, naming the photo), canonically renumbered unless ``renumber`` is False; with its stats."""
    ann = rec.annotation
    stats = segment_table(ann.id_map)
    try:
        check_consistent(ann, stats, categories, rec.image_id)
    except InspectorError as e:
        raise AnnotationError(e.reason, rec.photo_path) from e
    return canonical(ann, stats) if renumber else (ann, stats)
