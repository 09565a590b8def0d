"""How a dataset's items meet a project: the rules an import follows and its plan predicts.

``import_into_project`` (project_io.py) applies them and writes; ``plan_project_import``
(import_plan.py) applies the same functions to a project it only reads, so the dry run and the
window's Check cannot drift from what the import does. Nothing here writes.

* Categories are matched by name; a name that is a thing on one side and stuff on the other is a
  conflict (``match_categories``).
* A photo is found in the project by path, else by content (``find_photo``).
* What happens to an item's annotation on the photo it was found as is ``item_action``.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.categories import Category, CategorySet
from core.panoptic import PanopticAnnotation

if TYPE_CHECKING:
    from core.project import ImageRecord, Project

class PhotoRef(Protocol):
    """A project photo as ``item_action`` needs it (``ImageRecord`` is one)."""

    @property
    def id(self) -> int: ...
    @property
    def path(self) -> Path: ...
    @property
    def abs_path(self) -> str: ...


class AnnotationLookup(Protocol):
    """Reads the annotations a project holds (``project.annotations`` is one; the plan of an
    import adds to it what the import would have saved by then)."""

    def has(self, image_id: int) -> bool: ...
    def load(self, image_id: int) -> PanopticAnnotation | None: ...


#: ``item_action`` results. EMPTY: no segment, the photo stays unlabelled; COPY: a copy (same
#: content, another file) of a project photo with another annotation, added as a photo of its own;
#: NOTHING: no annotation to save; KEEP: the project's annotation stays (no ``replace_existing``);
#: SAVE: the annotation is saved on the project's photo.
EMPTY, COPY, NOTHING, KEEP, SAVE = "empty", "copy", "nothing", "keep", "save"


def match_categories(project: Project, categories: CategorySet) -> tuple[dict[str, Category], list[str], list[str]]:
    """``(the project's categories by name, dataset names the project lacks, conflicting names)``.

    A conflicting name is a thing on one side and stuff on the other: merging them would merge or
    split instances silently, so the import refuses it before writing anything.
    """
    have = {c.name: c for c in project.categories.get()}
    new = [c.name for c in categories if c.name not in have]
    conflicts = [c.name for c in categories if c.name in have and have[c.name].isthing != c.isthing]
    return have, new, conflicts


def remap_categories(ann: PanopticAnnotation, lut: dict[int, int]) -> PanopticAnnotation:
    """``ann`` with its category ids mapped through ``lut`` (dataset id -> project id)."""
    return PanopticAnnotation(ann.id_map, {k: replace(s, category_id=lut[s.category_id])
                                           for k, s in ann.segments.items()})


def find_photo(project: Project, photo: str | Path) -> ImageRecord | None:
    """The project's photo at ``photo``'s path, else the first with the same content, else None.

    Raises ``OSError`` when ``photo`` must be hashed and cannot be read.
    """
    rec = project.images.find_by_path(photo)
    if rec is not None:
        return rec
    from core.project import file_sha256

    same = project.images.find_by_hash(file_sha256(photo)[0])
    return same[0] if same else None


def same_annotation(a: PanopticAnnotation, b: PanopticAnnotation) -> bool:
    """Whether two annotations say the same (pixels, categories, crowd flags), whatever their ids."""
    from core.formats.build import canonical

    if a.shape != b.shape:
        return False
    ca, cb = canonical(a)[0], canonical(b)[0]
    if not np.array_equal(ca.id_map, cb.id_map):
        return False
    return {k: (s.category_id, bool(s.iscrowd)) for k, s in ca.segments.items()} == \
        {k: (s.category_id, bool(s.iscrowd)) for k, s in cb.segments.items()}


def is_copy_with_other_annotation(annotations: AnnotationLookup, rec: PhotoRef, photo: Path,
                                  annotation: PanopticAnnotation) -> bool:
    """``rec`` was found by content for ``photo`` (another file) and holds a different annotation:
    two people's (or two passes') annotations of one picture are never merged silently."""
    from core.project.paths import normalized_abs

    if rec.path == photo or Path(rec.abs_path) == photo or normalized_abs(rec.abs_path) == normalized_abs(photo):
        return False
    existing = annotations.load(rec.id)
    return existing is not None and not same_annotation(existing, annotation)


def item_action(annotations: AnnotationLookup, rec: PhotoRef, photo: Path, annotation: PanopticAnnotation | None,
                replace_existing: bool) -> str:
    """What importing ``annotation`` (in the project's category ids) for ``photo`` does, ``rec``
    being the project photo it was found as (``find_photo``): one of EMPTY, COPY, NOTHING, KEEP, SAVE.

    An annotation without segments never replaces anything and never makes a copy: a photo is
    ``done`` only with something in it, and an empty annotation contradicts no one.
    """
    if annotation is not None and not annotation.segments:
        return EMPTY
    if annotation is None:
        return NOTHING
    if is_copy_with_other_annotation(annotations, rec, photo, annotation):
        return COPY
    if annotations.has(rec.id) and not replace_existing:
        return KEEP
    return SAVE
