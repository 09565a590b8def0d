"""A cache of small JPEG previews, made by the caller (e.g. the GUI in the background).

Each entry remembers the photo's hash: after the photo changes (relinked to other content) the
cached preview is ignored. Losing this table loses nothing a user made.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.project.store import Project


class ThumbnailStore:
    """``project.thumbnails``."""

    def __init__(self, project: Project):
        self._project = project
        self._db = project._db

    def get(self, image_id: int, min_side: int = 0) -> bytes | None:
        """The cached JPEG, or None when absent, stale (photo changed) or smaller than ``min_side``."""
        row = self._db.connection().execute(
            "SELECT t.jpeg FROM thumbnails t JOIN images i ON i.id = t.image_id "
            "WHERE t.image_id = ? AND t.sha256 = i.sha256 AND t.max_side >= ?",
            (int(image_id), int(min_side))).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, image_id: int, jpeg: bytes, max_side: int) -> None:
        """Cache a preview whose longer side is ``max_side`` pixels."""
        with self._db.write("cache a thumbnail") as conn:
            conn.execute("INSERT INTO thumbnails SELECT id, sha256, ?, ? FROM images WHERE id = ? "
                         "ON CONFLICT(image_id) DO UPDATE SET sha256 = excluded.sha256, "
                         "max_side = excluded.max_side, jpeg = excluded.jpeg",
                         (int(max_side), bytes(jpeg), int(image_id)))

    def clear(self) -> None:
        with self._db.write("clear the thumbnail cache") as conn:
            conn.execute("DELETE FROM thumbnails")
