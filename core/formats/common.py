"""Types shared by every importer and exporter, and the loop that runs an import.

An importer returns an :class:`ImportRun`: the dataset's categories (known before any item is read),
the number of items, and an iterator of per-item results, each an :class:`ImportItem` (a photo and
its annotation) or an :class:`ImportProblem` (what was skipped and why). Iterating the run fills
its :class:`ImportReport`, calls ``progress(done, total, message)`` and stops with
``CancelledError`` between items when ``cancel.is_set()``. One bad item never stops the batch.

Exporters take :class:`ExportRecord` objects, so they work from a project or straight from an import.
"""
from __future__ import annotations

import logging
import os
import unicodedata
from collections import Counter, deque
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from collections.abc import Callable, Generator, Iterable, Iterator

from core.categories import CategorySet
from core.errors import AnnotationError, CancelledError, CategoryError, InspectorError
from core.imageio import ImageInfo
from core.panoptic import PanopticAnnotation
from core.progress import CancelFlag, ProgressFn

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: ``progress(done, total, message)``, the convention of core/commands/progress.py.




@dataclass(frozen=True)
class ImportItem:
    """One photo brought in, with its annotation in the photo's EXIF-upright frame.

    ``annotation`` is None when the dataset lists the photo without annotating it. ``width`` and
    ``height`` are the upright size; ``source`` is the annotation file the item came from.
    """

    photo_path: Path
    annotation: PanopticAnnotation | None
    warnings: tuple[str, ...] = ()
    width: int = 0
    height: int = 0
    source: str = ""


@dataclass(frozen=True)
class ImportProblem:
    """Something skipped: an item (photo, mask, annotation) and the reason, with a hint if any."""

    path: str
    reason: str
    hint: str | None = None

    @staticmethod
    def from_error(err: InspectorError, path: str | Path | None = None) -> ImportProblem:
        return ImportProblem(str(err.path or path or ""), err.reason, err.hint)

    def message(self) -> str:
        text = f"{self.path}: {self.reason}" if self.path else self.reason
        return f"{text} ({self.hint})" if self.hint else text


ImportResult = ImportItem | ImportProblem


@dataclass
class ImportReport:
    """Summary of an import: images, segments per category, what was skipped and warned about."""

    categories: CategorySet
    images: int = 0
    unannotated: int = 0
    segments: Counter = field(default_factory=Counter)  # category id -> segments
    crowd: int = 0
    skipped: list[ImportProblem] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (path, message)

    def add(self, result: ImportResult) -> None:
        if isinstance(result, ImportProblem):
            self.skipped.append(result)
            return
        self.images += 1
        for w in result.warnings:
            self.warnings.append((str(result.photo_path), w))
        if result.annotation is None:
            self.unannotated += 1
            return
        for seg in result.annotation.segments.values():
            self.segments[seg.category_id] += 1
            self.crowd += int(seg.iscrowd)

    def segments_by_name(self) -> dict[str, int]:
        names = {c.id: c.name for c in self.categories}
        return {names.get(cid, str(cid)): n for cid, n in sorted(self.segments.items())}

    def lines(self, max_listed: int = 20) -> list[str]:
        """The summary as text lines (the CLI prints them)."""
        out = [f"images: {self.images}" + (f" ({self.unannotated} without annotation)" if self.unannotated else "")]
        total = sum(self.segments.values())
        out.append(f"segments: {total}" + (f" ({self.crowd} crowd)" if self.crowd else ""))
        for name, n in self.segments_by_name().items():
            out.append(f"  {name}: {n}")
        if self.warnings:
            out.append(f"warnings: {len(self.warnings)}")
            out += [f"  {p}: {w}" for p, w in self.warnings[:max_listed]]
            if len(self.warnings) > max_listed:
                out.append(f"  ... and {len(self.warnings) - max_listed} more")
        out.append(f"skipped: {len(self.skipped)}")
        out += [f"  {p.message()}" for p in self.skipped[:max_listed]]
        if len(self.skipped) > max_listed:
            out.append(f"  ... and {len(self.skipped) - max_listed} more")
        return out

    def to_json(self) -> dict:
        return {"images": self.images, "unannotated": self.unannotated,
                "segments": self.segments_by_name(), "crowd": self.crowd,
                "skipped": [{"path": p.path, "reason": p.reason, "hint": p.hint} for p in self.skipped],
                "warnings": [{"path": p, "message": w} for p, w in self.warnings]}


class ImportRun:
    """The result of calling an importer: iterate it (once) to read the items one by one.

    Attributes:
        categories: the dataset's categories, complete before the first item is read.
        total: how many items will be produced (for progress bars; problems count as items).
        report: filled while iterating.
        workers: threads that read and convert items ahead of the consumer (results still come in
            order; decoding, labelling and numpy release the GIL). Set to 1 before iterating to
            keep everything on the calling thread.
    """

    def __init__(self, categories: CategorySet, total: int, items: Iterable[Callable[[], list[ImportResult]]],
                 source: str | Path = "", progress: ProgressFn | None = None, cancel: CancelFlag | None = None,
                 preamble: Iterable[ImportResult] = ()):
        self.categories = categories
        self.total = int(total)
        self.source = str(source)
        self.report = ImportReport(categories)
        self.workers = default_workers()
        self._jobs = items
        self._preamble = list(preamble)
        self._progress = progress
        self._cancel = cancel

    def _check_cancel(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise CancelledError("import cancelled", self.source)

    def _feed(self) -> Iterator[Callable[[], list[ImportResult]]]:
        for job in self._jobs:
            self._check_cancel()
            yield job

    def __iter__(self) -> Iterator[ImportResult]:
        for res in self._preamble:
            self.report.add(res)
            yield res
        done = 0
        with closing(ordered_map(_run_job, self._feed(), self.workers)) as outputs:
            for results, label in outputs:
                self._check_cancel()  # items read ahead are dropped once cancel is set
                for res in results:
                    self.report.add(res)
                    yield res
                done += 1
                if self._progress is not None:
                    self._progress(done, self.total, Path(label).name if label else "")

    def collect(self) -> list[ImportResult]:
        """All results in a list (small datasets and tests)."""
        return list(self)


def default_workers() -> int:
    """Threads for per-item work: up to 4, never more than the CPUs."""
    return max(1, min(4, os.cpu_count() or 1))


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int,
                prefetch: int | None = None) -> Generator[R, None, None]:
    """``map(fn, items)`` on a thread pool, results in input order, at most ``prefetch`` in flight.

    ``items`` is consumed on the caller's thread (so name allocation and cancel checks there stay
    ordered). An exception from ``fn`` comes out at its position; on exit, queued work is
    cancelled and running work awaited, so nothing writes after the caller has moved on. Use it
    under ``contextlib.closing`` when the consumer may stop early.
    """
    if workers <= 1:
        for item in items:
            yield fn(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    prefetch = prefetch or 2 * workers
    pending: deque = deque()
    source = iter(items)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="formats")
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < prefetch:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                pending.append(pool.submit(fn, item))
            if not pending:
                return
            yield pending.popleft().result()
    finally:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=True)


def _run_job(job: Callable[[], list[ImportResult]]) -> tuple[list[ImportResult], str]:
    """Run one item's work; any failure becomes a problem for that item so the batch goes on."""
    label = getattr(job, "label", "")
    try:
        return job(), label
    except CancelledError:
        raise
    except InspectorError as e:
        return [ImportProblem.from_error(e, label)], label
    except Exception as e:  # a batch never stops on one bad item; the trace goes to the log
        log.exception("unexpected error importing %s", label)
        return [ImportProblem(label, f"unexpected error: {type(e).__name__}: {e}")], label


class Job:
    """A deferred per-item import step with a label (the item's path) for messages and progress."""

    def __init__(self, label: str | Path, fn: Callable[..., list[ImportResult]], *args):
        self.label = str(label)
        self._fn = fn
        self._args = args

    def __call__(self) -> list[ImportResult]:
        return self._fn(*self._args)


# --- export records --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportRecord:
    """One image to export: its id, photo, upright size and annotation (``[height, width]``)."""

    image_id: int
    photo_path: Path
    width: int
    height: int
    annotation: PanopticAnnotation


def records_from_import(results: Iterable[ImportResult], start_id: int = 1) -> Iterator[ExportRecord]:
    """Export records for the annotated items of an import, with image ids ``start_id, start_id+1, ...``.

    Problems and photos without annotation are passed over (the import report lists them).
    """
    next_id = start_id
    for res in results:
        if isinstance(res, ImportItem) and res.annotation is not None:
            h, w = res.annotation.shape
            yield ExportRecord(next_id, Path(res.photo_path), w, h, res.annotation)
            next_id += 1


# --- checks shared by the importers ----------------------------------------------------------------
def check_size(found_hw: tuple[int, int], photo: ImageInfo, path: str | Path, what: str = "mask") -> None:
    """Refuse an annotation whose size differs from the photo's upright size; never resize.

    Raises ``AnnotationError`` with a hint; when width and height are swapped and the photo carries
    an EXIF rotation, the hint says the annotation was probably made on the unrotated pixels.
    """
    h, w = int(found_hw[0]), int(found_hw[1])
    if (h, w) == (photo.height, photo.width):
        return
    reason = f"{what} is {w}x{h} but the photo is {photo.width}x{photo.height} (upright)"
    if (h, w) == (photo.width, photo.height):
        if photo.orientation in (5, 6, 7, 8):
            hint = (f"width and height are swapped: the photo has EXIF orientation {photo.orientation}, so the "
                    f"{what} was probably made on the unrotated pixels; rotate the {what} to the upright photo")
        else:
            hint = f"width and height are swapped: was the photo or the {what} rotated?"
    else:
        hint = f"{what}s are never resized; make the {what} at the photo's size"
    raise AnnotationError(reason, path, hint=hint)


def is_coco_id(value) -> bool:
    """COCO ids are integers (some tools write strings); anything else (a list, a float, a bool)
    cannot be matched and is refused where it is read."""
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


def bad_image_entry(img: dict, sizes: bool = True) -> str | None:
    """Why a COCO ``images`` entry is unusable (its id, file name, or, with ``sizes``, a width or
    height that is not a positive whole number), or None. Optional sizes are checked when present."""
    import math

    if not is_coco_id(img["id"]):
        return f"id is {img['id']!r}, not an integer id"
    for key in ("width", "height"):
        if key not in img and not sizes:
            continue
        v = img[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v != int(v) or v <= 0:
            return f"{key} is {v!r}, not a positive whole number"
    if not isinstance(img["file_name"], str) or not img["file_name"]:
        return f"file_name is {img['file_name']!r}, not a file name"
    return None


def norm_key(text: str) -> str:
    """File-name key for matching: '/' separators and Unicode NFC (macOS stores names decomposed)."""
    return unicodedata.normalize("NFC", text.replace("\\", "/"))


def resolve_category(categories: CategorySet, ref: str | int | None, what: str = "category") -> int | None:
    """Category id from an id or a name (``None`` passes through)."""
    if ref is None:
        return None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        cid = int(ref)
        if cid in categories:
            return cid
    for c in categories:
        if c.name == ref:
            return c.id
    raise CategoryError(f"unknown {what} {ref!r}; known: {[c.name for c in categories]}")


def fill_category_id(categories: CategorySet, ref: str | int | None) -> int | None:
    """The stuff category that unlabelled pixels become, checked to be stuff."""
    cid = resolve_category(categories, ref, "fill class")
    if cid is not None and categories.by_id(cid).isthing:
        raise CategoryError(f"the fill class {categories.by_id(cid).name!r} is a thing class",
                              hint="unlabelled pixels can only become a stuff class (e.g. concrete)")
    return cid


def guess_images_dir(json_path: Path, file_names: list[str], split: str = "") -> Path:
    """The folder holding a COCO file's photos when none is given.

    Tries, in order: ``<json dir>/<split>``, ``<json dir>/images``, ``<json dir>``,
    ``<json dir>/../images`` (CVAT's layout) and ``<json dir>/..``; the first one holding the first
    listed photo wins (the JSON's folder when none does, so the problems name real paths).
    """
    base = json_path.parent
    candidates = ([base / split] if split else []) + [base / "images", base, base.parent / "images", base.parent]
    probe = [n for n in file_names[:1] if n]
    for folder in candidates:
        if probe and (folder / norm_key(probe[0])).is_file():
            return folder
    return base
