"""The records importers produce and exporters consume.

An importer yields, per item, an :class:`ImportItem` (a photo and its annotation) or an
:class:`ImportProblem` (what was skipped and why); an :class:`ImportReport` sums them up.
Exporters take :class:`ExportRecord` objects, so they work from a project or straight from an
import (``records_from_import``).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable, Iterator

from core.categories import CategorySet
from core.errors import InspectorError
from core.panoptic import PanopticAnnotation


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
