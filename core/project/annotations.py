"""Ground-truth panoptic annotations: one per image, saved in one transaction, stored losslessly.

The id map is stored as a COCO panoptic RGB PNG (``core.idpng.encode_ids``; exporters may copy the
bytes from ``load_png`` as they are) and the
segment table as rows of ``segments`` (category, iscrowd, source, score, area), so category
statistics and the "which images use this class" question need no PNG decoding.
"""
from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.errors import AnnotationError, ProjectError
from core.idpng import decode_ids, encode_ids
from core.panoptic import PanopticAnnotation, Segment
from core.project.schema import IMAGE_STATUSES, now_iso

if TYPE_CHECKING:
    from core.project.store import Project

log = logging.getLogger(__name__)

#: Below this largest id, areas are counted with ``np.bincount`` (tens of ms for 24 MP) instead
#: of a sort-based ``np.unique`` (seconds for 24 MP).
_BINCOUNT_LIMIT = 1 << 22


@dataclass(frozen=True)
class AnnotationInfo:
    """What a list view needs without decoding the PNG."""

    image_id: int
    revision: int
    updated_at: str
    segment_count: int


def segment_areas(id_map: np.ndarray) -> dict[int, int]:
    """``{segment id: pixel count}`` of every non-void id in an ``[H, W]`` int32 map."""
    flat = id_map.ravel()
    if flat.size == 0:
        return {}
    lo, hi = int(flat.min()), int(flat.max())
    if lo < 0:
        raise AnnotationError(f"the id map holds a negative segment id ({lo})")
    if hi < _BINCOUNT_LIMIT:
        counts = np.bincount(flat, minlength=1)
        ids = np.flatnonzero(counts)
        areas = counts[ids]
    else:
        ids, areas = np.unique(flat, return_counts=True)
    return {int(i): int(a) for i, a in zip(ids, areas) if i != 0}


def prepare(ann: PanopticAnnotation, height: int, width: int, image_id: object) -> tuple[bytes, list[tuple]]:
    """Check an annotation against its image and encode it: ``(png bytes, segment rows)``.

    Segments without pixels (erased) are dropped; pixels whose id has no segment are refused,
    because their class would be unknown.
    """
    if ann.shape != (height, width):
        raise AnnotationError(
            f"the annotation is {ann.shape[1]}x{ann.shape[0]} but the photo is {width}x{height}",
            f"image {image_id}", hint="masks are in the EXIF-upright frame of the photo")
    areas = segment_areas(ann.id_map)
    unknown = sorted(set(areas) - set(ann.segments))
    if unknown:
        raise AnnotationError(f"pixels use segment ids {unknown[:10]} that have no segment entry "
                              f"(no class)", f"image {image_id}")
    rows = []
    for seg_id in sorted(ann.segments):
        seg = ann.segments[seg_id]
        if seg_id not in areas:
            continue
        if seg.id != seg_id:
            raise AnnotationError(f"segment stored under id {seg_id} says its id is {seg.id}",
                                  f"image {image_id}")
        rows.append((int(seg_id), int(seg.category_id), int(bool(seg.iscrowd)), str(seg.source),
                     None if seg.score is None else float(seg.score), areas[seg_id]))
    return encode_ids(ann.id_map), rows


def write(conn: sqlite3.Connection, image_id: int, height: int, width: int, png: bytes,
          rows: list[tuple]) -> int:
    """Replace an image's annotation inside the caller's write transaction; returns the revision."""
    if rows:
        known = {r[0] for r in conn.execute("SELECT id FROM categories")}
        bad = sorted({r[1] for r in rows} - known)
        if bad:
            raise AnnotationError(f"segments use category ids {bad} that are not in the project's "
                                  f"categories {sorted(known)}", f"image {image_id}")
    row = conn.execute("SELECT revision FROM annotations WHERE image_id = ?", (image_id,)).fetchone()
    revision = 1 if row is None else row[0] + 1
    conn.execute("INSERT INTO annotations (image_id, width, height, id_png, revision, updated_at) "
                 "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(image_id) DO UPDATE SET width = excluded.width, "
                 "height = excluded.height, id_png = excluded.id_png, revision = excluded.revision, "
                 "updated_at = excluded.updated_at",
                 (image_id, width, height, png, revision, now_iso()))
    conn.execute("DELETE FROM segments WHERE image_id = ?", (image_id,))
    conn.executemany("INSERT INTO segments (image_id, segment_id, category_id, iscrowd, source, score, area) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", [(image_id,) + r for r in rows])
    return revision


def read(conn: sqlite3.Connection, image_id: int) -> tuple[bytes, dict[int, Segment]] | None:
    """``(png bytes, segments)`` inside the caller's read transaction, or None."""
    row = conn.execute("SELECT id_png FROM annotations WHERE image_id = ?", (image_id,)).fetchone()
    if row is None:
        return None
    return bytes(row[0]), read_segments(conn, image_id)


def read_segments(conn: sqlite3.Connection, image_id: int) -> dict[int, Segment]:
    segs = conn.execute("SELECT segment_id, category_id, iscrowd, source, score FROM segments "
                        "WHERE image_id = ? ORDER BY segment_id", (image_id,)).fetchall()
    return {s[0]: Segment(s[0], s[1], bool(s[2]), s[3], s[4]) for s in segs}


class AnnotationStore:
    """``project.annotations``."""

    def __init__(self, project: Project):
        self._project = project
        self._db = project._db

    def save(self, image_id: int, annotation: PanopticAnnotation, status: str | None = None) -> int:
        """Store an image's annotation, replacing the previous one, in one transaction.

        The PNG is encoded before the transaction starts, so readers and other writers wait only
        for the database write itself. ``status`` ("unlabeled", "in_progress", "done") is set in
        the same transaction; when None, an "unlabeled" image with segments becomes
        "in_progress". Returns the new revision (1 for the first save, then +1 per save).

        Raises:
            AnnotationError: wrong size, pixels without a segment, unknown category.
            ProjectReadOnlyError / ProjectError: the project cannot be written (disk full, ...);
                the previous annotation is then intact.
        """
        image_id = int(image_id)
        if status is not None and status not in IMAGE_STATUSES:
            raise ProjectError(f"unknown status {status!r}; use one of {IMAGE_STATUSES}")
        height, width = self._project.images.size(image_id)
        png, rows = prepare(annotation, height, width, image_id)
        with self._db.write(f"save the annotation of image {image_id}") as conn:
            revision = write(conn, image_id, height, width, png, rows)
            if status is not None:
                conn.execute("UPDATE images SET status = ? WHERE id = ?", (status, image_id))
            elif rows:
                conn.execute("UPDATE images SET status = 'in_progress' WHERE id = ? AND status = 'unlabeled'",
                             (image_id,))
        return revision

    def load(self, image_id: int) -> PanopticAnnotation | None:
        """The stored annotation (``id_map`` [H, W] int32), or None when the image has none.

        Decoding a 24 MP map takes about half a second: call it from a worker for big photos.
        """
        with self._db.read(f"load the annotation of image {image_id}") as conn:
            got = read(conn, int(image_id))
        if got is None:
            return None
        png, segments = got
        id_map = decode_ids(png, f"annotation of image {image_id}")
        return PanopticAnnotation(id_map, segments)

    def load_png(self, image_id: int) -> tuple[bytes, dict[int, Segment]] | None:
        """The stored COCO panoptic PNG bytes and segments, undecoded (for exporters), or None."""
        with self._db.read(f"load the annotation of image {image_id}") as conn:
            return read(conn, int(image_id))

    def segments(self, image_id: int) -> dict[int, Segment]:
        """The segment table alone (no PNG decoding); empty when there is no annotation."""
        return read_segments(self._db.connection(), int(image_id))

    def revision(self, image_id: int) -> int:
        """The revision of the stored annotation, 0 when there is none."""
        row = self._db.connection().execute("SELECT revision FROM annotations WHERE image_id = ?",
                                            (int(image_id),)).fetchone()
        return 0 if row is None else int(row[0])

    def has(self, image_id: int) -> bool:
        return self.revision(image_id) > 0

    def image_ids(self) -> list[int]:
        """Images that have an annotation."""
        return [r[0] for r in self._db.connection().execute("SELECT image_id FROM annotations ORDER BY image_id")]

    def summary(self) -> dict[int, AnnotationInfo]:
        """``{image id: AnnotationInfo}`` for every annotated image, in one query."""
        rows = self._db.connection().execute(
            "SELECT a.image_id, a.revision, a.updated_at, count(s.segment_id) FROM annotations a "
            "LEFT JOIN segments s ON s.image_id = a.image_id GROUP BY a.image_id ORDER BY a.image_id").fetchall()
        return {r[0]: AnnotationInfo(*r) for r in rows}

    def delete(self, image_id: int) -> None:
        """Remove an image's annotation (the image stays)."""
        with self._db.write(f"delete the annotation of image {image_id}") as conn:
            conn.execute("DELETE FROM annotations WHERE image_id = ?", (int(image_id),))

    def category_usage(self) -> dict[int, tuple[int, int, int]]:
        """``{category id: (segments, images, pixels)}`` over all annotations."""
        rows = self._db.connection().execute(
            "SELECT category_id, count(*), count(DISTINCT image_id), sum(area) FROM segments "
            "GROUP BY category_id").fetchall()
        return {r[0]: (int(r[1]), int(r[2]), int(r[3] or 0)) for r in rows}
