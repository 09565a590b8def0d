"""Training data from a project file (``core.project``): annotated photos, by split.

Photos whose annotation was saved (status ``in_progress`` or ``done``) take part; ``test``
photos never do; ``val`` photos form the validation set; the others (``train`` or no split)
train. Annotations are read through a read-only connection per process, so training never
locks the project against the person still annotating in the GUI.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.data.sources import DataSource, TrainSample
from core.errors import AnnotationError
from core.panoptic import PanopticAnnotation

if TYPE_CHECKING:
    from core.project import Project

_OPEN: dict[tuple[int, str], Project] = {}
_OPEN_LOCK = threading.Lock()


def _project(path: str):
    """This process's read-only handle on the project (opened once: opening checks the file)."""
    from core.project import Project

    key = (os.getpid(), path)  # a forked data-loader worker opens its own
    with _OPEN_LOCK:
        if key not in _OPEN:
            _OPEN[key] = Project.open(path, read_only=True)
        return _OPEN[key]


def release_handles() -> None:
    """Close this process's read-only project handles (e.g. when a GUI training run ends)."""
    with _OPEN_LOCK:
        mine = [k for k in _OPEN if k[0] == os.getpid()]
        for key in mine:
            _OPEN.pop(key).close()


@dataclass(frozen=True)
class ProjectAnnotationLoader:
    """Loads the stored annotation of one project image (picklable: a path and an id)."""

    project_path: str
    image_id: int

    def __call__(self) -> PanopticAnnotation:
        ann = _project(self.project_path).annotations.load(self.image_id)
        if ann is None:
            raise AnnotationError(f"image {self.image_id} has no annotation any more", self.project_path)
        return ann


def project_sources(path: str | Path) -> tuple[DataSource, DataSource | None]:
    """``(training source, validation source or None)`` of a project file.

    Photos that cannot be found on disk are left out and listed in the training source's
    ``skipped``. Raises ``ProjectError`` when the project cannot be opened.
    """
    from core.project import Project
    from core.project.training_set import training_images

    path = Path(path).resolve()
    with Project.open(path, read_only=True) as project:
        categories = project.categories.get()
        chosen = training_images(project)
    train, val = ([TrainSample(f"{rec.id}:{rec.name}", rec.path, ProjectAnnotationLoader(str(path), rec.id))
                   for rec in recs] for recs in (chosen.train, chosen.val))
    name = path.stem
    train_src = DataSource(categories, tuple(train), f"{name}/train", chosen.skipped)
    val_src = DataSource(categories, tuple(val), f"{name}/val") if val else None
    return train_src, val_src


def project_source(path: str | Path) -> DataSource:
    """Every usable annotated photo of the project (train and val splits together)."""
    train, val = project_sources(path)
    if val is None:
        return train
    return DataSource(train.categories, train.samples + val.samples, Path(path).stem, train.skipped)
