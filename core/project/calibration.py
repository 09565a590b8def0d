"""``project.calibration``: each photo's scale, kept in the project.

The value is ``core.calibration.Calibration`` (millimetres per pixel, how it was obtained, what
reproduces it), the same type measurement and the dialogs use. Rows written by older versions with
the method names ``reference_length`` / ``entered`` read back as ``line`` / ``gsd``.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.calibration import Calibration, CalibrationError
from core.errors import ProjectError
from core.project.schema import now_iso

if TYPE_CHECKING:
    from core.project.store import Project


class CalibrationStore:
    """``project.calibration``: ``set``, ``get``, ``all``, ``clear`` per image id."""

    def __init__(self, project: Project):
        self._project = project
        self._db = project._db

    def set(self, image_id: int, calibration: Calibration) -> None:
        """Set (or replace) an image's scale."""
        if not isinstance(calibration, Calibration):
            raise ProjectError("a calibration must be a core.calibration.Calibration, "
                               f"got {type(calibration).__name__}", f"image {image_id}")
        try:
            text = json.dumps(calibration.detail, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ProjectError(f"calibration details must be plain JSON values: {e}", f"image {image_id}") from e
        with self._db.write(f"set the scale of image {image_id}") as conn:
            if conn.execute("SELECT 1 FROM images WHERE id = ?", (int(image_id),)).fetchone() is None:
                raise ProjectError(f"no image with id {image_id} in the project", self._project.path)
            conn.execute("INSERT INTO calibration VALUES (?, ?, ?, ?, ?) ON CONFLICT(image_id) DO UPDATE SET "
                         "mm_per_pixel = excluded.mm_per_pixel, method = excluded.method, "
                         "details = excluded.details, updated_at = excluded.updated_at",
                         (int(image_id), calibration.mm_per_pixel, calibration.method, text, now_iso()))

    def get(self, image_id: int) -> Calibration | None:
        row = self._db.connection().execute("SELECT * FROM calibration WHERE image_id = ?",
                                            (int(image_id),)).fetchone()
        return None if row is None else self._calibration(row)

    def all(self) -> dict[int, Calibration]:
        """``{image id: Calibration}`` of every calibrated photo."""
        return {r[0]: self._calibration(r)
                for r in self._db.connection().execute("SELECT * FROM calibration ORDER BY image_id")}

    def clear(self, image_id: int) -> None:
        with self._db.write(f"clear the scale of image {image_id}") as conn:
            conn.execute("DELETE FROM calibration WHERE image_id = ?", (int(image_id),))

    def _calibration(self, row: Sequence[Any]) -> Calibration:
        """A stored row ``(image_id, mm_per_pixel, method, details JSON, updated_at)``."""
        try:
            return Calibration(row[1], row[2], json.loads(row[3]) or {})
        except (CalibrationError, ValueError) as e:
            raise ProjectError(f"the stored scale of image {row[0]} is damaged: {e}", self._project.path) from e
