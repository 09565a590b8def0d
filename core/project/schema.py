"""The project database schema and its forward migrations.

A project file records every migration applied in ``schema_migrations``; ``PRAGMA user_version``
mirrors the highest one so that a version check needs no table. Migrations only ever move forward,
each in the caller's transaction (SQLite DDL is transactional: a crash mid-migration leaves the
old schema). Never edit a released migration: append a new one.

Schema (version 2):

``meta(key TEXT PK, value TEXT)``
    JSON values: ``name``, ``created_at``, ``app_version``, ``next_category_id`` and
    ``setting.*`` entries written by the application.
``schema_migrations(version INTEGER PK, description, applied_at)``
``categories(id INTEGER PK, name UNIQUE, isthing, color_r, color_g, color_b, supercategory, position)``
``images(id INTEGER PK, rel_path, abs_path UNIQUE, width, height, orientation, file_size, sha256,
added_at, split CHECK IN (train, val, test) or NULL, status CHECK IN (unlabeled, in_progress, done))``
    ``width``/``height`` after EXIF orientation; ``rel_path`` is relative to the project folder,
    POSIX separators, NULL when no relative path exists (another drive).
``annotations(image_id PK -> images ON DELETE CASCADE, width, height, id_png BLOB, revision,
updated_at)``
    ``id_png`` is the id map in the COCO panoptic RGB PNG encoding (lossless).
``segments(image_id -> annotations ON DELETE CASCADE, segment_id, category_id -> categories
ON DELETE RESTRICT, iscrowd, source, score, area, PK(image_id, segment_id))``
``models(id INTEGER PK, name, checkpoint_rel, checkpoint_abs, config JSON, categories JSON,
training JSON, notes, created_at)``
``model_metrics(model_id -> models ON DELETE CASCADE, step, name, value, recorded_at,
PK(model_id, step, name))``
``predictions(image_id -> images CASCADE, model_id -> models CASCADE, payload BLOB, meta JSON,
id_png BLOB NULL, segments JSON NULL, width, height, created_at, updated_at, PK(image_id, model_id))``
``calibration(image_id PK -> images CASCADE, mm_per_pixel > 0, method, details JSON, updated_at)``
``thumbnails(image_id PK -> images CASCADE, sha256, max_side, jpeg BLOB)`` (version 2)
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from collections.abc import Callable

#: ``PRAGMA application_id`` of every project file ("PINS"), so another program's SQLite
#: database is refused instead of being altered.
APPLICATION_ID = 0x50494E53

IMAGE_SPLITS = ("train", "val", "test")
IMAGE_STATUSES = ("unlabeled", "in_progress", "done")

_V1 = f"""
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE categories (
    id            INTEGER PRIMARY KEY CHECK (id > 0),
    name          TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    isthing       INTEGER NOT NULL CHECK (isthing IN (0, 1)),
    color_r       INTEGER NOT NULL CHECK (color_r BETWEEN 0 AND 255),
    color_g       INTEGER NOT NULL CHECK (color_g BETWEEN 0 AND 255),
    color_b       INTEGER NOT NULL CHECK (color_b BETWEEN 0 AND 255),
    supercategory TEXT NOT NULL DEFAULT '',
    position      INTEGER NOT NULL
);
CREATE TABLE images (
    id          INTEGER PRIMARY KEY,
    rel_path    TEXT,
    abs_path    TEXT NOT NULL UNIQUE,
    width       INTEGER NOT NULL CHECK (width > 0),
    height      INTEGER NOT NULL CHECK (height > 0),
    orientation INTEGER NOT NULL DEFAULT 1,
    file_size   INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    split       TEXT CHECK (split IS NULL OR split IN {IMAGE_SPLITS!r}),
    status      TEXT NOT NULL DEFAULT 'unlabeled' CHECK (status IN {IMAGE_STATUSES!r})
);
CREATE INDEX images_sha256 ON images(sha256);
CREATE INDEX images_size ON images(file_size);
CREATE TABLE annotations (
    image_id   INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    id_png     BLOB NOT NULL,
    revision   INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE segments (
    image_id    INTEGER NOT NULL REFERENCES annotations(image_id) ON DELETE CASCADE,
    segment_id  INTEGER NOT NULL CHECK (segment_id > 0),
    category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE RESTRICT,
    iscrowd     INTEGER NOT NULL DEFAULT 0,
    source      TEXT NOT NULL,
    score       REAL,
    area        INTEGER NOT NULL,
    PRIMARY KEY (image_id, segment_id)
) WITHOUT ROWID;
CREATE INDEX segments_category ON segments(category_id);
CREATE TABLE models (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    checkpoint_rel TEXT,
    checkpoint_abs TEXT,
    config         TEXT NOT NULL,
    categories     TEXT NOT NULL,
    training       TEXT NOT NULL,
    notes          TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL
);
CREATE TABLE model_metrics (
    model_id    INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    step        INTEGER NOT NULL,
    name        TEXT NOT NULL,
    value       REAL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (model_id, step, name)
) WITHOUT ROWID;
CREATE TABLE predictions (
    image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    payload    BLOB NOT NULL,
    meta       TEXT NOT NULL,
    id_png     BLOB,
    segments   TEXT,
    width      INTEGER,
    height     INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (image_id, model_id)
);
CREATE INDEX predictions_model ON predictions(model_id);
CREATE TABLE calibration (
    image_id     INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    mm_per_pixel REAL NOT NULL CHECK (mm_per_pixel > 0),
    method       TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '{{}}',
    updated_at   TEXT NOT NULL
);
"""

_V2 = """
CREATE TABLE thumbnails (
    image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    sha256   TEXT NOT NULL,
    max_side INTEGER NOT NULL,
    jpeg     BLOB NOT NULL
);
"""


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def run(conn: sqlite3.Connection) -> None:
        # One statement at a time: executescript() would COMMIT the caller's transaction.
        for stmt in sql.split(";"):
            if stmt.strip():
                conn.execute(stmt)
    return run


#: ``(version, description, apply)``: apply(conn) runs inside the caller's write transaction.
MIGRATIONS: tuple[tuple[int, str, Callable[[sqlite3.Connection], None]], ...] = (
    (1, "first schema: images, categories, annotations, predictions, models, calibration", _script(_V1)),
    (2, "thumbnail cache", _script(_V2)),
)

SCHEMA_VERSION = MIGRATIONS[-1][0]


def now_iso() -> str:
    """UTC time stamp stored in every ``*_at`` column (ISO 8601, seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def file_version(conn: sqlite3.Connection) -> int:
    """Schema version recorded in an open project file (0 for a new, empty file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int | None = None) -> list[int]:
    """Apply every migration above the file's version up to ``target`` (default: the latest);
    returns the versions applied.

    Must run inside a write transaction (``Database.write``) so all of it, or none, lands.
    """
    target = MIGRATIONS[-1][0] if target is None else target
    if not conn.in_transaction:
        raise RuntimeError("migrate() must run inside a transaction")
    current = file_version(conn)
    if current == 0:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                     "description TEXT NOT NULL, applied_at TEXT NOT NULL)")
    applied = []
    for version, description, apply in MIGRATIONS:
        if current < version <= target:
            apply(conn)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, description, now_iso()))
            # user_version is transactional like any other header change in SQLite.
            conn.execute(f"PRAGMA user_version = {int(version)}")
            applied.append(version)
    return applied
