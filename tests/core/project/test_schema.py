"""Forward migrations from the first schema; a failed migration changes nothing."""
import hashlib
import json
import sqlite3

import pytest

from core.errors import ProjectError
from core.idpng import encode_ids
from core.project import SCHEMA_VERSION, Project, schema

from tests.support.project import annotation_for, same_annotation, file_sql


def _make_v1_file(path, photo):
    """A project file exactly as the first schema wrote it, with one row in every table."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    assert schema.migrate(conn, target=1) == [1]
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("name", json.dumps("old")),
                                                        ("created_at", json.dumps("2025-01-01")),
                                                        ("next_category_id", json.dumps(6))])
    for pos, (cid, name, thing) in enumerate([(1, "crack", 1), (4, "concrete", 0)]):
        conn.execute("INSERT INTO categories VALUES (?, ?, ?, 1, 2, 3, '', ?)", (cid, name, thing, pos))
    conn.execute("INSERT INTO images (id, rel_path, abs_path, width, height, orientation, file_size, sha256, added_at) "
                 "VALUES (1, ?, ?, 64, 48, 1, ?, ?, '2025-01-01')",
                 (photo.name, str(photo), photo.stat().st_size, hashlib.sha256(photo.read_bytes()).hexdigest()))
    ann = annotation_for(48, 64, 2)
    conn.execute("INSERT INTO annotations VALUES (1, 64, 48, ?, 1, '2025-01-01')", (encode_ids(ann.id_map),))
    for s in ann.segments.values():
        conn.execute("INSERT INTO segments VALUES (1, ?, ?, ?, ?, ?, 1)",
                     (s.id, s.category_id, int(s.iscrowd), s.source, s.score))
    conn.execute("INSERT INTO models VALUES (1, 'm', NULL, NULL, '{}', '[]', '{}', '', '2025-01-01')")
    conn.execute("INSERT INTO predictions VALUES "
                 "(1, 1, x'0102', '{\"threshold\": 0.5}', NULL, NULL, NULL, NULL, 'a', 'a')")
    conn.execute("INSERT INTO calibration VALUES (1, 0.25, 'entered', '{}', 'a')")
    conn.execute("COMMIT")
    conn.close()
    return ann


def _schema_sql(conn):
    return sorted((r[0], r[1]) for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"))


def test_first_schema_file_is_migrated_forward_with_every_row_intact(tmp_path, photos):
    (photo,) = photos(1, folder=tmp_path)
    path = tmp_path / "old.pinspect"
    ann = _make_v1_file(path, photo)
    with Project.open(path) as p:
        assert p.schema_version == SCHEMA_VERSION
        assert p.name == "old"
        assert p.categories.get().ids == [1, 4]
        (img,) = p.images.list()
        assert img.exists and img.path == photo
        assert same_annotation(p.annotations.load(1), ann)
        assert p.predictions.load(1, 1).payload == b"\x01\x02"
        assert p.calibration.get(1).mm_per_pixel == 0.25
        p.thumbnails.put(1, b"jpeg", 64)  # the table version 2 added
        assert p.thumbnails.get(1) == b"jpeg"
        # next_category_id from v1 meta is honoured: ids are never reused
        assert p.categories.add("rust", True).id == 6
    with file_sql(path, read_only=True) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        migrated = _schema_sql(conn)
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    Project.create(tmp_path / "fresh.pinspect").close()
    with file_sql(tmp_path / "fresh.pinspect", read_only=True) as conn:
        assert _schema_sql(conn) == migrated  # the migrated file has today's tables, indexes and triggers


def test_old_schema_cannot_be_upgraded_read_only_says_so(tmp_path, photos):
    (photo,) = photos(1, folder=tmp_path)
    path = tmp_path / "old.pinspect"
    _make_v1_file(path, photo)
    with pytest.raises(ProjectError, match="older format.*upgraded"):
        Project.open(path, read_only=True)


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "p.pinspect"
    Project.create(path).close()

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS + ((SCHEMA_VERSION + 1, "broken", broken),))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(ProjectError, match="upgrade the project format"):
        Project.open(path)
    monkeypatch.undo()
    with Project.open(path) as p:
        assert p.schema_version == SCHEMA_VERSION
    with file_sql(path, read_only=True) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in names and "annotations" in names
    assert sorted(x.name for x in tmp_path.iterdir()) == ["p.pinspect"]
