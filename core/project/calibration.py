"""Per-photo scale: millimetres per pixel, and how the figure was obtained.

Measurements turn pixel lengths and areas into millimetres with it. ``method`` is a short
keyword (suggested: ``"reference_length"`` two points on a known length, ``"marker"`` a printed
target, ``"exif"`` focal length and distance, ``"entered"`` typed in); ``details`` keeps what
reproduces it (e.g. the two points and the length).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import ProjectError
from core.project.schema import now_iso

if TYPE_CHECKING:
    from core.project.store import Project

CALIBRATION_METHODS = ("reference_length", "marker", "exif", "entered")


@dataclass(frozen=True)
class Calibration:
    image_id: int
    mm_per_pixel: float
    method: str
    details: dict
    updated_at: str


class CalibrationStore:
    """``project.calibration``."""

    def __init__(self, project: "Project"):
        self._project = project
        self._db = project._db

    def set(self, image_id: int, mm_per_pixel: float, method: str, details: dict[str, Any] | None = None) -> None:
        """Set (or replace) an image's scale. ``mm_per_pixel`` must be a finite number > 0."""
        mm = float(mm_per_pixel)
        if not math.isfinite(mm) or mm <= 0:
            raise ProjectError(f"millimetres per pixel must be a positive number, got {mm_per_pixel!r}",
                               f"image {image_id}")
        if not str(method).strip():
            raise ProjectError("a calibration needs a method", f"image {image_id}",
                               hint=f"e.g. one of {CALIBRATION_METHODS}")
        try:
            text = json.dumps(details or {}, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ProjectError(f"calibration details must be plain JSON values: {e}", f"image {image_id}") from e
        with self._db.write(f"set the scale of image {image_id}") as conn:
            if conn.execute("SELECT 1 FROM images WHERE id = ?", (int(image_id),)).fetchone() is None:
                raise ProjectError(f"no image with id {image_id} in the project", self._project.path)
            conn.execute("INSERT INTO calibration VALUES (?, ?, ?, ?, ?) ON CONFLICT(image_id) DO UPDATE SET "
                         "mm_per_pixel = excluded.mm_per_pixel, method = excluded.method, "
                         "details = excluded.details, updated_at = excluded.updated_at",
                         (int(image_id), mm, str(method).strip(), text, now_iso()))

    def get(self, image_id: int) -> Calibration | None:
        row = self._db.connection().execute("SELECT * FROM calibration WHERE image_id = ?",
                                            (int(image_id),)).fetchone()
        return None if row is None else Calibration(row[0], row[1], row[2], json.loads(row[3]), row[4])

    def all(self) -> dict[int, Calibration]:
        return {r[0]: Calibration(r[0], r[1], r[2], json.loads(r[3]), r[4])
                for r in self._db.connection().execute("SELECT * FROM calibration ORDER BY image_id")}

    def clear(self, image_id: int) -> None:
        with self._db.write(f"clear the scale of image {image_id}") as conn:
            conn.execute("DELETE FROM calibration WHERE image_id = ?", (int(image_id),))
