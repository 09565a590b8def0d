"""Trained models of a project: checkpoint location, config, categories, settings, metrics.

The checkpoint file itself stays on disk (written atomically by the training code); the project
records where it is (relative and absolute, like photos) and what it is. Config and training
settings are stored as JSON: pass a dict or a (frozen) dataclass, read back a dict.
"""
from __future__ import annotations

import builtins  # the stores' own method `list` hides the type inside their classes
import dataclasses
import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Mapping

from core.categories import CategorySet
from core.errors import ProjectError
from core.project import paths
from core.project.schema import now_iso

if TYPE_CHECKING:
    from core.project.store import Project


@dataclass(frozen=True)
class ModelRecord:
    """A registered model. ``checkpoint`` is None when none was given (e.g. training started)."""

    id: int
    name: str
    checkpoint: Path | None
    checkpoint_exists: bool
    config: dict
    categories: CategorySet
    training: dict
    notes: str
    created_at: str


def _to_json(value: Any, what: str) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    try:
        return json.dumps(value, allow_nan=False, default=_plain)
    except (TypeError, ValueError) as e:
        raise ProjectError(f"the model's {what} must be JSON-serialisable: {e}") from e


def _plain(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"{type(o).__name__} is not JSON-serialisable")


_COLS = "id, name, checkpoint_rel, checkpoint_abs, config, categories, training, notes, created_at"


class ModelStore:
    """``project.models``."""

    def __init__(self, project: Project):
        self._project = project
        self._db = project._db

    def _record(self, r: tuple) -> ModelRecord:
        ckpt, exists = (None, False) if r[3] is None else paths.locate(self._project.folder, r[2], r[3])
        return ModelRecord(r[0], r[1], ckpt, exists, json.loads(r[4]), CategorySet.from_json(json.loads(r[5])),
                           json.loads(r[6]), r[7], r[8])

    def add(self, name: str, *, checkpoint: str | Path | None, config: Any, categories: CategorySet,
            training: Any = None, notes: str = "") -> int:
        """Register a model; returns its id. ``config``/``training``: dict or dataclass."""
        rel, absolute = (None, None) if checkpoint is None else paths.to_stored(self._project.folder, checkpoint)
        with self._db.write(f"register the model {name!r}") as conn:
            cur = conn.execute(
                "INSERT INTO models (name, checkpoint_rel, checkpoint_abs, config, categories, training, notes, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, rel, absolute, _to_json(config, "config"), json.dumps(categories.to_json()),
                 _to_json(training or {}, "training settings"), notes, now_iso()))
            assert cur.lastrowid is not None  # an INSERT always sets it
            return int(cur.lastrowid)

    def update(self, model_id: int, *, name: str | None = None, checkpoint: str | Path | None = None,
               config: Any = None, training: Any = None, notes: str | None = None) -> None:
        """Change the given fields (None = keep), e.g. the checkpoint after each saved epoch."""
        sets: list[str] = []
        args: list[object] = []
        if name is not None:
            sets.append("name = ?")
            args.append(name)
        if checkpoint is not None:
            rel, absolute = paths.to_stored(self._project.folder, checkpoint)
            sets += ["checkpoint_rel = ?", "checkpoint_abs = ?"]
            args += [rel, absolute]
        if config is not None:
            sets.append("config = ?")
            args.append(_to_json(config, "config"))
        if training is not None:
            sets.append("training = ?")
            args.append(_to_json(training, "training settings"))
        if notes is not None:
            sets.append("notes = ?")
            args.append(notes)
        if not sets:
            return
        with self._db.write(f"update model {model_id}") as conn:
            if conn.execute(f"UPDATE models SET {', '.join(sets)} WHERE id = ?", args + [int(model_id)]).rowcount == 0:
                raise ProjectError(f"no model with id {model_id} in the project", self._project.path)

    def get(self, model_id: int) -> ModelRecord:
        row = self._db.connection().execute(f"SELECT {_COLS} FROM models WHERE id = ?", (int(model_id),)).fetchone()
        if row is None:
            raise ProjectError(f"no model with id {model_id} in the project", self._project.path)
        return self._record(row)

    def list(self) -> list[ModelRecord]:
        """All models, oldest first."""
        return [self._record(r) for r in self._db.connection().execute(f"SELECT {_COLS} FROM models ORDER BY id")]

    def delete(self, model_id: int) -> None:
        """Forget a model with its metrics and predictions (the checkpoint file is not deleted)."""
        with self._db.write(f"delete model {model_id}") as conn:
            conn.execute("DELETE FROM models WHERE id = ?", (int(model_id),))

    # --- metrics ------------------------------------------------------------------------------
    def log_metrics(self, model_id: int, step: int, metrics: Mapping[str, float]) -> None:
        """Record metrics at ``step`` (epoch or iteration: the caller's choice, increasing).

        Names are free, e.g. ``"train/loss"``, ``"val/PQ"``; logging a name again at the same
        step replaces the value. NaN and infinities are stored as NULL (read back as NaN).
        """
        now = now_iso()
        rows = [(int(model_id), int(step), str(k), _finite(v), now) for k, v in metrics.items()]
        with self._db.write(f"record metrics of model {model_id}") as conn:
            try:
                conn.executemany("INSERT INTO model_metrics VALUES (?, ?, ?, ?, ?) ON CONFLICT(model_id, step, name) "
                                 "DO UPDATE SET value = excluded.value, recorded_at = excluded.recorded_at", rows)
            except sqlite3.IntegrityError as e:
                raise ProjectError(f"no model with id {model_id} in the project", self._project.path) from e

    def metrics(self, model_id: int) -> dict[str, builtins.list[tuple[int, float]]]:
        """``{name: [(step, value), ...]}`` in step order (a curve per name)."""
        out: dict[str, list[tuple[int, float]]] = {}
        for step, name, value in self._db.connection().execute(
                "SELECT step, name, value FROM model_metrics WHERE model_id = ? ORDER BY name, step", (int(model_id),)):
            out.setdefault(name, []).append((int(step), float("nan") if value is None else float(value)))
        return out

    @staticmethod
    def rebase_paths(conn: sqlite3.Connection, old_folder: Path, new_folder: Path) -> None:
        """Rewrite relative checkpoint paths after the project file was copied to ``new_folder``."""
        for model_id, rel, absolute in conn.execute(
                "SELECT id, checkpoint_rel, checkpoint_abs FROM models WHERE checkpoint_abs IS NOT NULL").fetchall():
            where, _ = paths.locate(old_folder, rel, absolute)
            new_rel, _ = paths.to_stored(new_folder, where)
            conn.execute("UPDATE models SET checkpoint_rel = ?, checkpoint_abs = ? WHERE id = ?",
                         (new_rel, str(where), model_id))


def _finite(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None
