"""Model predictions: per image and model, what re-thresholding needs plus the current result.

The inference engine owns the content of ``payload`` (e.g. the kept candidate queries above a
minimum score with their classes, scores and a low-resolution float16 mask stack, compressed);
the store keeps it as an opaque BLOB beside a JSON ``meta`` dict (e.g. ``min_threshold``,
``threshold``, input size, timings) and, optionally, the post-processed full-resolution
``PanopticAnnotation`` at the threshold used. Moving the slider re-thresholds from the payload
and stores the new result with ``set_result`` without rewriting the payload.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import ProjectError
from core.idpng import decode_ids
from core.panoptic import PanopticAnnotation, Segment
from core.project import annotations as ann_rows
from core.project.schema import now_iso

if TYPE_CHECKING:
    from core.project.store import Project


@dataclass(frozen=True)
class PredictionRecord:
    """A stored prediction. ``payload`` is b"" when loaded with ``with_payload=False``;
    ``annotation`` is None when no post-processed result was stored."""

    image_id: int
    model_id: int
    payload: bytes
    meta: dict
    annotation: PanopticAnnotation | None
    created_at: str
    updated_at: str


def _segments_json(rows: list[tuple]) -> str:
    return json.dumps([{"id": r[0], "category_id": r[1], "iscrowd": r[2], "source": r[3], "score": r[4],
                        "area": r[5]} for r in rows])


def _segments_from_json(text: str) -> dict[int, Segment]:
    return {int(d["id"]): Segment(int(d["id"]), int(d["category_id"]), bool(d["iscrowd"]), str(d["source"]),
                                  None if d["score"] is None else float(d["score"])) for d in json.loads(text)}


class PredictionStore:
    """``project.predictions``: at most one prediction per (image, model); saving replaces it."""

    def __init__(self, project: Project):
        self._project = project
        self._db = project._db

    def _encode(self, image_id: int, annotation: PanopticAnnotation | None
                ) -> tuple[bytes | None, str | None, int | None, int | None]:
        if annotation is None:
            return None, None, None, None
        h, w = self._project.images.size(image_id)
        png, rows = ann_rows.prepare(annotation, h, w, image_id)
        return png, _segments_json(rows), w, h

    def save(self, image_id: int, model_id: int, payload: bytes, meta: dict[str, Any],
             annotation: PanopticAnnotation | None = None) -> None:
        """Store (or replace) the prediction of ``model_id`` for ``image_id`` in one transaction.

        Args:
            payload: opaque bytes from the inference engine (what re-thresholding needs).
            meta: JSON-serialisable dict (plain numbers and strings).
            annotation: the post-processed result at ``meta["threshold"]``, same size as the
                photo; its category ids are the model's (not checked against the project).

        Each call commits (and syncs) once; wrap a batch of images in ``project.transaction()``
        to commit them together.
        """
        image_id, model_id = int(image_id), int(model_id)
        meta_text = _meta_json(meta)
        png, segs, w, h = self._encode(image_id, annotation)
        now = now_iso()
        with self._db.write(f"save the prediction for image {image_id}") as conn:
            _require_model(conn, model_id, self._project)
            conn.execute(
                "INSERT INTO predictions (image_id, model_id, payload, meta, id_png, segments, width, height, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(image_id, model_id) DO UPDATE SET payload = excluded.payload, meta = excluded.meta, "
                "id_png = excluded.id_png, segments = excluded.segments, width = excluded.width, "
                "height = excluded.height, created_at = excluded.created_at, updated_at = excluded.updated_at",
                (image_id, model_id, bytes(payload), meta_text, png, segs, w, h, now, now))

    def set_result(self, image_id: int, model_id: int, annotation: PanopticAnnotation | None,
                   meta_update: dict[str, Any] | None = None) -> None:
        """Replace only the post-processed result (after re-thresholding); ``meta_update`` is
        merged into ``meta`` (e.g. ``{"threshold": 0.6}``). The payload is untouched."""
        image_id, model_id = int(image_id), int(model_id)
        png, segs, w, h = self._encode(image_id, annotation)
        with self._db.write(f"save the prediction result for image {image_id}") as conn:
            row = conn.execute("SELECT meta FROM predictions WHERE image_id = ? AND model_id = ?",
                               (image_id, model_id)).fetchone()
            if row is None:
                raise ProjectError(f"no prediction of model {model_id} for image {image_id}", self._project.path)
            meta = json.loads(row[0])
            meta.update(meta_update or {})
            conn.execute("UPDATE predictions SET id_png = ?, segments = ?, width = ?, height = ?, meta = ?, "
                         "updated_at = ? WHERE image_id = ? AND model_id = ?",
                         (png, segs, w, h, _meta_json(meta), now_iso(), image_id, model_id))

    def load(self, image_id: int, model_id: int, with_payload: bool = True) -> PredictionRecord | None:
        """The stored prediction, or None."""
        cols = "payload" if with_payload else "x''"
        row = self._db.connection().execute(
            f"SELECT {cols}, meta, id_png, segments, created_at, updated_at FROM predictions "
            "WHERE image_id = ? AND model_id = ?", (int(image_id), int(model_id))).fetchone()
        if row is None:
            return None
        ann = None
        if row[2] is not None:
            ann = PanopticAnnotation(decode_ids(bytes(row[2]), f"prediction for image {image_id}"),
                                     _segments_from_json(row[3]))
        return PredictionRecord(int(image_id), int(model_id), bytes(row[0]), json.loads(row[1]), ann,
                                row[4], row[5])

    def load_annotation(self, image_id: int, model_id: int) -> PanopticAnnotation | None:
        """Only the post-processed result (no payload), or None."""
        rec = self.load(image_id, model_id, with_payload=False)
        return None if rec is None else rec.annotation

    def list(self, image_id: int | None = None, model_id: int | None = None) -> list[tuple[int, int, str]]:
        """``(image id, model id, updated_at)`` of stored predictions, optionally filtered."""
        sql = "SELECT image_id, model_id, updated_at FROM predictions"
        where, args = _where(image_id, model_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [tuple(r) for r in self._db.connection().execute(sql + " ORDER BY image_id, model_id", args)]

    def delete(self, image_id: int | None = None, model_id: int | None = None) -> int:
        """Delete predictions of an image, of a model, or one pair; returns how many."""
        if image_id is None and model_id is None:
            raise ProjectError("delete() needs an image id, a model id or both", self._project.path)
        where, args = _where(image_id, model_id)
        with self._db.write("delete predictions") as conn:
            return conn.execute("DELETE FROM predictions WHERE " + " AND ".join(where), args).rowcount


def _where(image_id: int | None, model_id: int | None) -> tuple[list[str], list[int]]:
    """SQL conditions and their arguments selecting predictions of an image and/or a model."""
    where, args = [], []
    if image_id is not None:
        where.append("image_id = ?")
        args.append(int(image_id))
    if model_id is not None:
        where.append("model_id = ?")
        args.append(int(model_id))
    return where, args


def _meta_json(meta: dict) -> str:
    try:
        return json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ProjectError(f"prediction meta must be plain JSON values: {e}") from e


def _require_model(conn: sqlite3.Connection, model_id: int, project: Project) -> None:
    if conn.execute("SELECT 1 FROM models WHERE id = ?", (model_id,)).fetchone() is None:
        raise ProjectError(f"no model with id {model_id} in the project", project.path,
                           hint="register the model with project.models.add() first")
