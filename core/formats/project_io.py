"""Bringing an import into a project, and exporting a project, through the importers/exporters.

* Categories are matched **by name**: a dataset class the project has keeps the project's id; a
  new one is added (with the dataset's thing/stuff flag and colour). A name that is a thing in one
  and stuff in the other is refused before anything is written, since it would merge or split
  instances silently.
* Photos are added where they are (``project.images.add_files``: hash and upright size); a photo
  already in the project (same path, or same content elsewhere) is reused, unless it is a copy
  (same content) whose annotation differs from the one the project already has: then it is added
  as a photo of its own with its own annotation and reported as a duplicate, since two people's
  (or two passes') annotations of the same picture must never be merged into one silently.
* An annotation with no segments left (every shape of it rejected, or nothing but void) is not
  saved and the photo stays unlabelled: a photo is ``done`` only with something in it. When
  shapes were rejected this is a problem of the import (``--strict`` fails), else a note.
* An image that already has an annotation keeps it unless ``replace_existing`` (reported).
* Imported annotations are saved with status ``done``: a dataset arrives finished.
* Work is committed in batches of ``BATCH`` photos, so a cancel keeps what was done.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Iterable, Iterator

from core.categories import CategorySet
from core.errors import CategoryError, InspectorError, ProjectError
from core.formats.records import ExportRecord, ImportItem, ImportProblem
from core.formats.import_run import ImportRun
from core.formats.project_match import (COPY, EMPTY, KEEP, SAVE, find_photo, item_action, match_categories,
                                         remap_categories)
from core.progress import CancelFlag, ProgressFn
from core.formats.export import ExportSummary
from core.panoptic import PanopticAnnotation

if TYPE_CHECKING:
    from core.project import Project

log = logging.getLogger(__name__)

BATCH = 32


@dataclass
class ProjectImportSummary:
    """What ``import_into_project`` did, beside the import's own report (``run.report``)."""

    photos_added: int = 0
    photos_existing: int = 0
    annotations_saved: int = 0
    annotations_kept: int = 0  # the project already had one and replace_existing was off
    categories_added: list[str] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (photo added, same content as)
    empty: list[str] = field(default_factory=list)  # photos added without annotation: nothing in it

    def lines(self) -> list[str]:
        out = [f"project: {self.photos_added} photos added, {self.photos_existing} already there; "
               f"{self.annotations_saved} annotations saved"]
        if self.annotations_kept:
            out.append(f"  {self.annotations_kept} images already annotated in the project were left as they were "
                       "(--replace to overwrite)")
        if self.categories_added:
            out.append(f"  categories added: {', '.join(self.categories_added)}")
        if self.duplicates:
            out.append(f"  {len(self.duplicates)} photos have the same content as another photo but a different "
                       "annotation; each was kept as a photo of its own with its own annotation:")
            out += [f"    duplicate: {a} (same content as {b})" for a, b in self.duplicates]
        if self.empty:
            out.append(f"  {len(self.empty)} photos without any segment were added unlabelled: "
                       + ", ".join(self.empty[:5]) + (" ..." if len(self.empty) > 5 else ""))
        out += [f"  not saved: {p.message()}" for p in self.problems]
        return out


def map_categories(project: Project, categories: CategorySet) -> tuple[dict[int, int], list[str]]:
    """``({dataset category id: project category id}, names added)``; adds missing categories.

    Raises ``CategoryError`` (nothing written) when a name is a thing on one side and stuff on
    the other (``match_categories``).
    """
    current, _new, conflicts = match_categories(project, categories)
    for c in categories:
        if c.name in conflicts:
            have = current[c.name]
            raise CategoryError(f"{c.name!r} is {'a thing' if c.isthing else 'stuff'} in the dataset but "
                                f"{'a thing' if have.isthing else 'stuff'} in the project", project.path,
                                hint="rename or change the class in the project or the dataset first")
    lut, added = {}, []
    for c in categories:
        if c.name not in current:
            current[c.name] = project.categories.add(c.name, c.isthing, c.color, c.supercategory or "defect")
            added.append(c.name)
        lut[c.id] = current[c.name].id
    return lut, added


def _flush(project: Project, pending: list[ImportItem], lut: dict[int, int], replace_existing: bool,
           split: str | None, cancel: CancelFlag | None, summary: ProjectImportSummary) -> None:
    if not pending:
        return
    # the importer verified every photo's whole file already (core.imageio.verify_image)
    report = project.images.add_files([i.photo_path for i in pending], split=split, cancel=cancel, verify=False)
    summary.photos_added += len(report.added)
    added = {r.id for r in report.added}
    from core.project.paths import normalized_abs

    failed = {normalized_abs(p): reason for p, reason in report.failed}
    copies: list[tuple[ImportItem, PanopticAnnotation, str]] = []
    claimed: set[int] = set()
    with project.transaction("import annotations"):
        for item in pending:
            photo = Path(item.photo_path)
            try:
                if normalized_abs(photo) in failed:
                    raise ProjectError(f"the photo was not added: {failed[normalized_abs(photo)]}", photo)
                rec = find_photo(project, photo)
                if rec is None:
                    raise ProjectError("the photo could not be added to the project", photo)
                remapped = None if item.annotation is None else remap_categories(item.annotation, lut)
                action = item_action(project.annotations, rec, normalized_abs(photo), remapped, replace_existing)
                if action == COPY and remapped is not None:
                    copies.append((item, remapped, str(rec.path)))
                    continue
                if rec.id in added and rec.id not in claimed:
                    claimed.add(rec.id)  # this item's photo, added by this batch
                else:  # in the project before, or added for an earlier item (same path or content)
                    summary.photos_existing += 1
                if action == EMPTY:
                    _empty(item, summary)
                elif action == KEEP:
                    summary.annotations_kept += 1
                elif action == SAVE and remapped is not None:
                    project.annotations.save(rec.id, remapped, status="done")
                    summary.annotations_saved += 1
            except InspectorError as e:
                summary.problems.append(ImportProblem.from_error(e, photo))
    if copies:
        _add_copies(project, copies, split, summary)
    pending.clear()


def _empty(item: ImportItem, summary: ProjectImportSummary) -> None:
    """An annotation with no segments: the photo is added unlabelled (never ``done``)."""
    if item.warnings:
        summary.problems.append(ImportProblem(str(item.photo_path), "no segment is left after the rejections ("
                                              + "; ".join(item.warnings) + "); the photo was added unlabelled"))
    else:
        summary.empty.append(Path(item.photo_path).name)


def _add_copies(project: Project, copies: list[tuple[ImportItem, PanopticAnnotation, str]], split: str | None,
                summary: ProjectImportSummary) -> None:
    """Add photos whose content is already in the project under another annotation as photos of
    their own, each with its annotation, and flag them as duplicates."""
    report = project.images.add_files([i.photo_path for i, _a, _o in copies], split=split, skip_duplicates=False,
                                      verify=False)
    summary.photos_added += len(report.added)
    from core.project.paths import normalized_abs

    by_path = {normalized_abs(r.abs_path): r for r in report.added}
    failed = {normalized_abs(p): reason for p, reason in report.failed}
    with project.transaction("import annotations of duplicate photos"):
        for item, ann, other in copies:
            photo = normalized_abs(item.photo_path)
            rec = by_path.get(photo) or project.images.find_by_path(photo)
            if rec is None:
                reason = failed.get(photo, "the photo could not be added to the project")
                summary.problems.append(ImportProblem(str(item.photo_path), f"the photo was not added: {reason}"))
                continue
            project.annotations.save(rec.id, ann, status="done")
            summary.annotations_saved += 1
            summary.duplicates.append((str(item.photo_path), other))


def import_into_project(project: Project, run: ImportRun, *, replace_existing: bool = False,
                        split: str | None = None, cancel: CancelFlag | None = None) -> ProjectImportSummary:
    """Add an import's photos and annotations to ``project`` (rules in the module docstring).

    ``run`` comes from any importer (give it the progress callback and cancel flag too: it
    reports per item and stops between items). ``split`` is given to every added photo.
    Raises ``CategoryError`` before writing anything when classes conflict; ``CancelledError``
    after committing the items read so far.
    """
    summary = ProjectImportSummary()
    lut, summary.categories_added = map_categories(project, run.categories)
    pending: list[ImportItem] = []
    try:
        try:
            for result in run:
                if isinstance(result, ImportItem):
                    pending.append(result)
                    if len(pending) >= BATCH:
                        _flush(project, pending, lut, replace_existing, split, cancel, summary)
        finally:
            _flush(project, pending, lut, replace_existing, split, None, summary)
    except ProjectError as e:
        if not (summary.photos_added or summary.annotations_saved):
            raise
        # a save failing midway (a full disk) fails only its own batch: say what the earlier ones kept
        raise ProjectError(f"{e.reason}; the {summary.photos_added} photos and {summary.annotations_saved} "
                           "annotations saved before it are in the project", e.path, e.hint) from e
    log.info("imported into %s: %s", project.path, "; ".join(summary.lines()))
    return summary


def project_records(project: Project, image_ids: Iterable[int] | None = None) -> tuple[int, Iterator[ExportRecord]]:
    """``(count, records)`` of the project's annotated images (loaded one at a time)."""
    wanted = set(project.annotations.image_ids())
    if image_ids is not None:
        wanted &= set(int(i) for i in image_ids)
    ids = sorted(wanted)

    def gen() -> Iterator[ExportRecord]:
        for image_id in ids:
            img = project.images.get(image_id)
            ann = project.annotations.load(image_id)
            if ann is not None:
                yield ExportRecord(image_id, img.path, img.width, img.height, ann)

    return len(ids), gen()


def export_project(project: Project, fmt: str, dest: str | Path, *, image_ids: Iterable[int] | None = None,
                   project_splits: bool = False, progress: ProgressFn | None = None,
                   cancel: CancelFlag | None = None, **options: Any) -> ExportSummary:
    """Export the project's annotated images with one of ``core.formats.EXPORTERS``.

    ``project_splits`` uses each photo's split in the project (photos without one go to
    ``split_name``); otherwise ``val_fraction``/``seed`` in ``options`` make a seeded split.
    Other ``options`` go to the exporter (``images``, ``overwrite``, ``include_stuff`` ...).
    """
    from core.formats import EXPORTERS

    if fmt not in EXPORTERS:
        raise ValueError(f"unknown export format {fmt!r}; known: {sorted(EXPORTERS)}")
    total, records = project_records(project, image_ids)
    if project_splits:
        options["splits"] = {img.id: img.split for img in project.images.list() if img.split}
    return EXPORTERS[fmt](records, project.categories.get(), dest, progress=progress, cancel=cancel, total=total,
                          **options)

