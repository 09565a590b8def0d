"""What importing a dataset into a project would do, worked out without writing anything.

The dry run of ``main.py import ... --project P --dry-run`` and the window's "Check" before an
import both use :func:`plan_project_import`: the importer reads every item for real (so unreadable
photos, masks with values the mapping does not name and size mismatches are found), and the
project is only read, with the rules ``core.formats.project_io.import_into_project`` follows
(``project_match.py``: photos found by path or content, copies with another annotation,
annotations kept unless replaced, categories matched by name).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import CancelledError
from core.formats.records import ImportItem, ImportReport
from core.formats.import_run import ImportRun
from core.formats.project_match import COPY, KEEP, SAVE, PhotoRef, item_action, match_categories, remap_categories
from core.panoptic import PanopticAnnotation
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
        """The plan in words, as the command line's dry run prints it.

        Alike in shape to ``ProjectImportSummary.lines`` (and the window's Check text) on purpose:
        each says the same counts to its reader, this one before anything is written."""
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


@dataclass(frozen=True)
class _NewPhoto:
    """A photo the import would add (a negative id: no project photo has it)."""

    id: int
    path: Path

    @property
    def abs_path(self) -> str:
        return str(self.path)


class _Planned:
    """The project as the import would have left it so far, without writing: the photos it would
    have added and the annotations it would have saved, over what the project holds. Later items
    meet earlier ones as they would in the import (a photo listed twice, a copy of a new photo)."""

    def __init__(self, project: Project):
        self._project = project
        self._by_path: dict[Path, _NewPhoto] = {}
        self._by_hash: dict[str, _NewPhoto] = {}
        self._saved: dict[int, PanopticAnnotation] = {}

    def find(self, photo: Path) -> tuple[PhotoRef | None, str | None]:
        """``(the photo found by path, else by content, or None; the file's SHA-256 if it was read)``.
        Raises ``OSError`` when the file must be hashed and cannot be read."""
        from core.project import file_sha256

        rec: PhotoRef | None = self._project.images.find_by_path(photo) or self._by_path.get(photo)
        if rec is not None:
            return rec, None
        sha = file_sha256(photo)[0]
        same = self._project.images.find_by_hash(sha)
        return (same[0] if same else self._by_hash.get(sha)), sha

    def add(self, photo: Path, sha: str | None) -> _NewPhoto:
        new = _NewPhoto(-(len(self._by_path) + 1), photo)
        self._by_path[photo] = new
        if sha is not None:
            self._by_hash.setdefault(sha, new)
        return new

    # AnnotationLookup, for item_action
    def has(self, image_id: int) -> bool:
        return image_id in self._saved or (image_id > 0 and self._project.annotations.has(image_id))

    def load(self, image_id: int) -> PanopticAnnotation | None:
        if image_id in self._saved:
            return self._saved[image_id]
        return self._project.annotations.load(image_id) if image_id > 0 else None

    def save(self, image_id: int, annotation: PanopticAnnotation) -> None:
        self._saved[image_id] = annotation


def plan_project_import(project: Project, run: ImportRun, replace_existing: bool,
                        cancel: CancelFlag | None = None) -> ImportPlan:
    """Consume ``run`` and say what ``import_into_project(project, run, replace_existing=...)``
    would do; ``project`` is only read. Raises ``CancelledError`` when ``cancel`` is set."""
    from core.project.paths import normalized_abs

    plan = ImportPlan(run.report)
    have, plan.categories_new, plan.conflicts = match_categories(project, run.categories)
    # categories the import would add get ids no project category has, so they never match one
    lut = {c.id: have[c.name].id if c.name in have else -c.id for c in run.categories}
    planned = _Planned(project)
    for item in run:
        if cancel is not None and cancel.is_set():
            raise CancelledError("check of the import cancelled", run.source)
        if not isinstance(item, ImportItem):
            continue
        photo = normalized_abs(item.photo_path)
        ann = None if item.annotation is None else remap_categories(item.annotation, lut)
        try:
            rec, sha = planned.find(photo)
        except OSError:
            rec, sha = None, None  # unreadable now: the import adds it, or reports it as not added
        if rec is None:
            new = planned.add(photo, sha)
            plan.photos_new += 1
            if ann is not None and ann.segments:
                planned.save(new.id, ann)
                plan.annotations_saved += 1
            continue
        action = item_action(planned, rec, photo, ann, replace_existing)
        if action == COPY and ann is not None:  # added as a photo of its own, with its annotation
            planned.save(planned.add(photo, None).id, ann)
            plan.duplicates += 1
            plan.photos_new += 1
            plan.annotations_saved += 1
            continue
        plan.photos_existing += 1
        if action == KEEP:
            plan.annotations_kept += 1
        elif action == SAVE and ann is not None:
            planned.save(rec.id, ann)
            plan.annotations_saved += 1
    return plan
