"""``Project``: one inspector's work in one SQLite file (``*.pinspect``).

Usage::

    with Project.create("bridge.pinspect") as project:          # or Project.open(path)
        report = project.images.add_folder("photos/", progress=bar, cancel=event)
        image = project.images.list()[0]
        ann = project.annotations.load(image.id) or PanopticAnnotation.empty(image.height, image.width)
        project.annotations.save(image.id, ann)                   # one transaction

The parts of a project are reached through attributes, each in its own module:
``images`` (ImageStore), ``categories`` (CategoryStore), ``annotations`` (AnnotationStore),
``predictions`` (PredictionStore), ``models`` (ModelStore), ``calibration`` (CalibrationStore),
``thumbnails`` (ThumbnailStore).

Opening never alters a file it cannot vouch for: the header, the application id and
``PRAGMA quick_check`` are checked through a read-only connection first; a damaged file is
refused with ``ProjectError`` and left byte-for-byte as it was. A file that is read-only, in a
read-only folder, made by a newer version, or already open in another instance (see ``lock.py``)
opens read-only: ``read_only`` is True, ``read_only_reason`` says why, and every write raises
``ProjectReadOnlyError``. Threads: see ``db.py``; one ``Project`` may be shared by all threads.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from collections.abc import Iterator

from core.categories import CategorySet, default_categories
from core.errors import ProjectError
from core.project import schema
from core.project.annotations import AnnotationStore
from core.project.calibration import CalibrationStore
from core.project.categories import CategoryStore
from core.project.db import Database, describe_sqlite_error, file_uri
from core.project.images import ImageStore
from core.project.lock import InstanceLock
from core.project.models import ModelStore
from core.project.predictions import PredictionStore
from core.project.thumbnails import ThumbnailStore

log = logging.getLogger(__name__)

#: File extension of a project.
PROJECT_SUFFIX = ".pinspect"

_SQLITE_MAGIC = b"SQLite format 3\x00"


class Project:
    """An open project. Make one with ``Project.create`` or ``Project.open``; close it (or use
    ``with``) so the single-instance lock is released and the WAL is checkpointed."""

    def __init__(self, path: Path, db: Database, lock: InstanceLock | None):
        self.path = path
        self._db = db
        self._lock = lock
        self.images = ImageStore(self)
        self.categories = CategoryStore(self)
        self.annotations = AnnotationStore(self)
        self.predictions = PredictionStore(self)
        self.models = ModelStore(self)
        self.calibration = CalibrationStore(self)
        self.thumbnails = ThumbnailStore(self)

    # --- opening ----------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, categories: CategorySet | None = None, name: str | None = None) -> Project:
        """Make a new project file and open it for writing.

        Args:
            path: the new file (``PROJECT_SUFFIX`` is conventional, not enforced). Its folder is
                created when missing.
            categories: the initial category set (default: ``default_categories()``).
            name: a display name (default: the file's stem).
        Raises:
            ProjectError: the file already exists (never overwritten) or cannot be written.
        """
        path = Path(os.path.abspath(path))
        if path.exists():
            raise ProjectError("a file of that name already exists; it was left as it is", path,
                               hint="choose another name or open it")
        categories = default_categories() if categories is None else categories
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Built under a temporary name and renamed when complete, so a crash during
            # creation never leaves a half-made file under the user's chosen name.
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
        except OSError as e:
            raise ProjectError(f"cannot create the project: {e.strerror or e}", path) from e
        tmp_path = Path(tmp)
        try:
            db = Database(tmp_path)
            try:
                conn = db.connection()
                conn.execute("PRAGMA journal_mode = WAL")
                with db.write("create the project") as conn:
                    schema.migrate(conn)
                    meta = {"name": name or path.stem, "created_at": schema.now_iso(),
                            "app_version": _app_version(), "next_category_id": 1}
                    conn.executemany("INSERT INTO meta VALUES (?, ?)",
                                     [(k, json.dumps(v)) for k, v in meta.items()])
                    CategoryStore.insert_initial(conn, categories)
            finally:
                db.close()
            if path.exists():
                raise ProjectError("a file of that name appeared while the project was being made; "
                                   "it was left as it is", path)
            os.replace(tmp_path, path)
        except BaseException as e:
            for p in (tmp_path, Path(str(tmp_path) + "-wal"), Path(str(tmp_path) + "-shm")):
                try:
                    p.unlink()
                except OSError:
                    pass
            if isinstance(e, OSError):
                raise ProjectError(f"cannot create the project: {e.strerror or e}", path) from e
            raise
        log.info("created project %s", path)
        return cls.open(path)

    @classmethod
    def open(cls, path: str | Path, read_only: bool = False) -> Project:
        """Open an existing project; migrates an older schema forward when writable.

        Falls back to read-only (``read_only_reason`` says why) when the file or folder is not
        writable, another instance holds it, or a newer version made it.
        Raises:
            ProjectError: missing, not a project, or damaged (the file is never modified then).
        """
        path = Path(os.path.abspath(path))
        _check_file(path)
        reason = "opened read-only on request" if read_only else ""
        if not reason and not os.access(path, os.W_OK):
            reason = "the file is read-only"
        if not reason and not os.access(path.parent, os.W_OK):
            reason = "its folder is read-only"
        lock, db = None, None
        if not reason:
            lock = InstanceLock(path)
            try:
                held_elsewhere = lock.acquire()
            except OSError as e:
                held_elsewhere = f"its lock file cannot be created ({e.strerror or e})"
            if held_elsewhere:
                lock, reason = None, held_elsewhere
        try:
            version = _validate(path)
            if not reason and version > schema.SCHEMA_VERSION:
                reason = (f"it was made by a newer Panoptic Inspector (schema {version}, "
                          f"this one knows {schema.SCHEMA_VERSION})")
            if reason:
                if version < schema.SCHEMA_VERSION:
                    raise ProjectError(
                        f"the project uses an older format (schema {version}) and must be upgraded, "
                        f"but it can only be opened read-only: {reason}", path,
                        hint="open it once with write access to upgrade it")
                db = _open_read_only(path, reason)
                # Asked for (training, evaluation read it so): no news; otherwise the user should know.
                (log.info if read_only else log.warning)("project %s opened read-only: %s", path, reason)
            else:
                db = Database(path)
                conn = db.connection()
                try:
                    conn.execute("PRAGMA journal_mode = WAL")
                except sqlite3.Error as e:
                    raise ProjectError(f"cannot open the project: {describe_sqlite_error(e)}", path) from e
                if version < schema.SCHEMA_VERSION:
                    with db.write("upgrade the project format") as conn:
                        applied = schema.migrate(conn)
                    log.info("project %s migrated: %s", path, applied)
        except BaseException:
            if db is not None:
                db.close()
            if lock is not None:
                lock.release()
            raise
        return cls(path, db, lock)

    def close(self) -> None:
        """Wait for a save in flight, close every connection, release the instance lock.
        Idempotent; later use raises ``ProjectError``."""
        if self._db.closed:
            return
        try:
            self._db.close()  # waits for a save in flight on another thread
        finally:
            if self._lock is not None:
                self._lock.release()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r}{', read-only' if self.read_only else ''})"

    # --- properties -------------------------------------------------------------------------------
    # Read-only views of the database handle's state, alike on purpose: one fact each.
    @property
    def folder(self) -> Path:
        """The folder relative paths are resolved against."""
        return self.path.parent

    @property
    def read_only(self) -> bool:
        return self._db.read_only

    @property
    def read_only_reason(self) -> str:
        """Why the project is read-only ("" when it is writable)."""
        return self._db.read_only_reason

    @property
    def closed(self) -> bool:
        return self._db.closed

    @property
    def schema_version(self) -> int:
        return schema.file_version(self._db.connection())

    @property
    def name(self) -> str:
        return self.get_meta("name", self.path.stem)

    @property
    def created_at(self) -> str:
        return self.get_meta("created_at", "")

    # --- transactions -----------------------------------------------------------------------------
    @contextmanager
    def transaction(self, what: str = "save") -> Iterator[None]:
        """Group several writes of this thread into one transaction (e.g. an importer's batch).

        Every store method called inside joins it; an exception rolls all of it back.
        """
        with self._db.write(what):
            yield

    # --- meta and settings ------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._db.connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        text = json.dumps(value)
        with self._db.write(f"store {key}") as conn:
            conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                         (key, text))

    def get_setting(self, key: str, default: Any = None) -> Any:
        """An application setting kept in the project (JSON value), e.g. the last threshold."""
        return self.get_meta("setting." + key, default)

    def set_setting(self, key: str, value: Any) -> None:
        self.set_meta("setting." + key, value)

    def rename(self, name: str) -> None:
        if not name.strip():
            raise ProjectError("a project name cannot be empty", self.path)
        self.set_meta("name", name.strip())

    # --- maintenance ------------------------------------------------------------------------------
    def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check`` messages; ``["ok"]`` for a healthy file."""
        try:
            return [r[0] for r in self._db.connection().execute("PRAGMA integrity_check").fetchall()]
        except sqlite3.Error as e:
            raise ProjectError(f"the integrity check failed: {describe_sqlite_error(e)}", self.path) from e

    def save_copy(self, dest: str | Path) -> Path:
        """Write a consistent copy of the whole project to ``dest`` ("Save As"; works read-only too).

        Relative photo and checkpoint paths are rewritten for the new folder. ``dest`` must not
        exist. The open project stays this one; open the copy with ``Project.open(dest)``.
        """
        dest = Path(os.path.abspath(dest))
        if dest.exists():
            raise ProjectError("a file of that name already exists; it was left as it is", dest)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
            os.close(fd)
        except OSError as e:
            raise ProjectError(f"cannot write the copy: {e.strerror or e}", dest) from e
        tmp_path = Path(tmp)
        try:
            target = sqlite3.connect(tmp, isolation_level=None)
            try:
                with self._db.read("copy the project") as src:
                    src.backup(target)
                target.execute("PRAGMA journal_mode = WAL")
                target.execute("BEGIN IMMEDIATE")
                ImageStore.rebase_paths(target, self.folder, dest.parent)
                ModelStore.rebase_paths(target, self.folder, dest.parent)
                target.execute("COMMIT")
            finally:
                target.close()
            os.replace(tmp_path, dest)
        except (OSError, sqlite3.Error) as e:
            for p in (tmp_path, Path(tmp + "-wal"), Path(tmp + "-shm")):
                try:
                    p.unlink()
                except OSError:
                    pass
            reason = describe_sqlite_error(e) if isinstance(e, sqlite3.Error) else (e.strerror or str(e))
            raise ProjectError(f"cannot write the copy: {reason}", dest) from e
        return dest


# --- helpers --------------------------------------------------------------------------------------
def _app_version() -> str:
    from core import __version__

    return __version__


def _check_file(path: Path) -> None:
    """Refuse what is plainly not a project before SQLite touches it."""
    if not path.exists():
        raise ProjectError("no such project file", path)
    if path.is_dir():
        raise ProjectError("this is a folder, not a project file", path)
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError as e:
        raise ProjectError(f"cannot read the project file: {e.strerror or e}", path) from e
    if not head:
        raise ProjectError("the project file is empty (0 bytes); it was left as it is", path,
                           hint="restore it from a backup")
    if not head.startswith(_SQLITE_MAGIC):
        raise ProjectError("not a Panoptic Inspector project (not an SQLite database); it was left as it is",
                           path)
    if len(head) < 100:
        raise ProjectError("the project file is truncated; it was left as it is", path,
                           hint="restore it from a backup")


def _validate(path: Path) -> int:
    """Check a project through a read-only connection; returns its schema version."""
    try:
        conn = _read_only_connection(path)
    except sqlite3.OperationalError as e:
        raise ProjectError(f"cannot open the project: {describe_sqlite_error(e)}", path) from e
    except sqlite3.DatabaseError as e:
        raise _damaged(path, str(e)) from e
    try:
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if app_id != schema.APPLICATION_ID:
            raise ProjectError("not a Panoptic Inspector project (another program's database); "
                               "it was left as it is", path)
        problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise _damaged(path, "; ".join(problems[:5]))
        return version
    except sqlite3.DatabaseError as e:
        raise _damaged(path, str(e)) from e
    finally:
        conn.close()


def _damaged(path: Path, detail: str) -> ProjectError:
    return ProjectError(f"the project file is damaged and was not opened; it was left as it is ({detail})",
                        path, hint="restore it from a backup")


def _read_only_connection(path: Path) -> sqlite3.Connection:
    """``mode=ro``; on read-only media (no ``-shm`` can be made) ``immutable=1`` instead."""
    try:
        conn = sqlite3.connect(file_uri(path, "ro"), uri=True, isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        if os.access(path.parent, os.W_OK):
            raise
        conn = sqlite3.connect(file_uri(path, "ro", immutable=True), uri=True, isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn


def _open_read_only(path: Path, reason: str) -> Database:
    db = Database(path, read_only=True, read_only_reason=reason)
    try:
        db.connection().execute("SELECT count(*) FROM sqlite_master").fetchone()
    except (sqlite3.OperationalError, ProjectError) as e:
        db.close()
        if os.access(path.parent, os.W_OK):
            raise ProjectError(f"cannot open the project read-only: {e}", path) from e
        db = Database(path, read_only=True, read_only_reason=reason, immutable=True)
    return db
