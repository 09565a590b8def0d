"""Typed errors of the core library.

Every error carries the file (or record) it is about and a human reason, so the GUI can show a
dialog and the CLI a one-line message. Raise them ``from`` the underlying cause.
"""
from __future__ import annotations

from pathlib import Path


class InspectorError(Exception):
    """Base class of every error the core raises on purpose.

    Args:
        reason: what went wrong, in words a user understands.
        path: the file, folder or record the error is about (optional).
        hint: what the user can do about it (optional).
    """

    def __init__(self, reason: str, path: str | Path | None = None, hint: str | None = None):
        self.reason = reason
        self.path = None if path is None else str(path)
        self.hint = hint
        super().__init__(self.message())

    def message(self) -> str:
        text = f"{self.path}: {self.reason}" if self.path else self.reason
        if self.hint:
            text += f" ({self.hint})"
        return text


class BadImageError(InspectorError):
    """A photo cannot be read: missing, empty, truncated, not an image, too large."""


class DatasetError(InspectorError):
    """A dataset file (COCO JSON, mask folder, labelme file) is malformed as a whole."""


class AnnotationError(InspectorError):
    """One annotation (or segment) is inconsistent: bad id, unknown category, size mismatch."""


class CategoryError(InspectorError):
    """A category set is invalid: duplicate ids or names, id <= 0, bad colour."""


class CheckpointError(InspectorError):
    """A checkpoint is unreadable, foreign, unsafe, or does not fit the model/categories."""


class ProjectError(InspectorError):
    """The project file cannot be opened, is corrupt, locked, or a save failed."""


class ProjectReadOnlyError(ProjectError):
    """A write was attempted on a project opened read-only."""


class TrainingError(InspectorError):
    """Training stopped on a fault (NaN loss, out of memory, device lost)."""


class AssistError(InspectorError):
    """An annotation aid (crack tracer, region growing, GrabCut) got unusable input: a click
    outside the photo, an image that is not ``[H, W, 3]`` uint8, a box of no area."""


class CancelledError(InspectorError):
    """Long work stopped because the caller asked it to."""

    def __init__(self, reason: str = "cancelled", path: str | Path | None = None, hint: str | None = None):
        super().__init__(reason, path, hint)
