"""What importing a dataset into a project would do, worked out without writing anything.

The dry run of ``main.py import ... --project P --dry-run`` and the window's "Check" before an
import both use :func:`plan_project_import`: the importer reads every item for real (so unreadable
photos, masks with values the mapping does not name and size mismatches are found), and the
project is only read, with the rules of ``core.formats.project_io.import_into_project`` (photos
found by path or content, copies with another annotation, annotations kept unless replaced,
categories matched by name).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import CancelledError
from core.formats.records import ImportItem, ImportReport
from core.formats.import_run import ImportRun
from core.progress import CancelFlag

if TYPE_CHECKING:
    from core.project import Project


@dataclass
class ImportPlan:
    """Counts of what the import would do; ``report`` is the importer's (segments per class,
    skipped items with reasons, warnings)."""

    report: ImportReport
    photos_new: int = 0
    photos_existing: int = 0
    annotations_saved: int = 0
    annotations_kept: int = 0
    duplicates: int = 0
    categories_new: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # names that are a thing on one side, stuff on the other

    @property
    def refused(self) -> bool:
        """The import would be refused before writing anything (class kind conflicts)."""
        return bool(self.conflicts)

    def lines(self, project_path: str | Path) -> list[str]:
        """The plan in words, as the command line's dry run prints it."""
        lines = [f"would add {self.photos_new} photos to {project_path} ({self.photos_existing} already there) "
                 f"and save {self.annotations_saved} annotations"]
        if self.duplicates:
            lines.append(f"  of which {self.duplicates} are copies of photos in the project with another annotation "
                         "(kept as photos of their own, flagged as duplicates)")
        if self.annotations_kept:
            lines.append(f"would leave {self.annotations_kept} annotations the project already has "
                         "(--replace to overwrite)")
        if self.categories_new:
            lines.append(f"would add the categories {', '.join(self.categories_new)}")
        if self.conflicts:
            lines.append(f"would refuse the import: {', '.join(self.conflicts)} is a thing on one side and stuff "
                         "on the other")
        return lines


def plan_project_import(project: Project, run: ImportRun, replace_existing: bool,
                        cancel: CancelFlag | None = None) -> ImportPlan:
    """Consume ``run`` and say what ``import_into_project(project, run, replace_existing=...)``
    would do; ``project`` is only read. Raises ``CancelledError`` when ``cancel`` is set."""
    from core.formats.project_io import remap_categories, same_annotation
    from core.project import file_sha256

    plan = ImportPlan(run.report)
    have = {c.name: c for c in project.categories.get()}
    plan.conflicts = [c.name for c in run.categories if c.name in have and have[c.name].isthing != c.isthing]
    plan.categories_new = [c.name for c in run.categories if c.name not in have]
    lut = {c.id: have[c.name].id if c.name in have else -c.id for c in run.categories}
    for item in run:
        if cancel is not None and cancel.is_set():
            raise CancelledError("check of the import cancelled", run.source)
        if not isinstance(item, ImportItem):
            continue
        rec = project.images.find_by_path(item.photo_path)
        if rec is None:
            try:
                same = project.images.find_by_hash(file_sha256(item.photo_path)[0])
            except OSError:
                same = []
            rec = next(iter(same), None)
            if rec is not None and item.annotation is not None:
                stored = project.annotations.load(rec.id)
                if stored is not None and not same_annotation(stored, remap_categories(item.annotation, lut)):
                    rec = None  # a copy with another annotation: added as a photo of its own
                    plan.duplicates += 1
        if rec is None:
            plan.photos_new += 1
        else:
            plan.photos_existing += 1
        if item.annotation is None or not item.annotation.segments:
            continue
        if rec is not None and project.annotations.has(rec.id) and not replace_existing:
            plan.annotations_kept += 1
        else:
            plan.annotations_saved += 1
    return plan
