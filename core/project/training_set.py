"""Which photos of a project a training run uses: one rule for the trainer (``core.data.
project_source``) and for what the application shows before a run (no torch needed here).

Photos whose annotation was saved (status ``in_progress`` or ``done``) take part; ``test``
photos never do; ``val`` photos validate; the others (``train`` or no split) train. Photos not
found on disk are left out and listed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.project import ImageRecord, Project


@dataclass(frozen=True)
class TrainingImages:
    """``train`` / ``val``: the image records; ``skipped``: ``"name: reason"`` per photo left out."""

    train: tuple[ImageRecord, ...]
    val: tuple[ImageRecord, ...]
    skipped: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.train) + len(self.val)


def training_images(project: Project) -> TrainingImages:
    annotated = set(project.annotations.image_ids())
    train: list[ImageRecord] = []
    val: list[ImageRecord] = []
    skipped: list[str] = []
    for rec in project.images.list():
        if rec.id not in annotated or rec.status == "unlabeled" or rec.split == "test":
            continue
        if not rec.exists:
            skipped.append(f"{rec.name}: photo not found (last seen at {rec.abs_path})")
            continue
        (val if rec.split == "val" else train).append(rec)
    return TrainingImages(tuple(train), tuple(val), tuple(skipped))


def held_out(n: int, val_fraction: float) -> int:
    """How many of ``n`` photos ``core.data.split_source`` holds out for validation."""
    n_val = int(round(n * val_fraction))
    if val_fraction > 0 and n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    return n_val
