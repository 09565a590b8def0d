"""The SQLite connection layer of a project: one connection per thread, serialised writes.

Thread-safety story (the GUI autosaves from a worker thread while the GUI thread reads):

* Every thread that touches the project gets its **own** ``sqlite3`` connection, made lazily on
  first use and kept in a thread-local. Connections are never shared between threads, so the
  ``sqlite3`` module's own rules hold.
* Writes are serialised inside the process by one lock and run as ``BEGIN IMMEDIATE`` ...
  ``COMMIT``: a save is exactly one transaction, rolled back on any error.
* Reads run in WAL snapshots: a reader never waits for a writer and never sees half a save.
  Helpers that read several tables do so inside one read transaction (``Database.read()``).
* ``Database.close()`` waits for a write in flight, then closes every connection; a later save
  from a worker raises ``ProjectError`` ("the project is closed").
* Saves are applied in the order they commit. Encoding happens before the write lock is taken,
  so two threads saving the *same* image must be ordered by the caller (one autosave worker per
  project does this).

Durability: WAL mode with ``synchronous=FULL``, so a commit that returned has reached the disk
(a process kill or a power cut loses at most the save in flight).
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

from core.errors import ProjectError, ProjectReadOnlyError

log = logging.getLogger(__name__)

#: Seconds a connection waits for another process's lock before failing (SQLite busy timeout).
BUSY_TIMEOUT_S = 10.0


def file_uri(path: Path, mode: str | None = None, immutable: bool = False) -> str:
    """An SQLite ``file:`` URI for ``path`` (percent-encoded, so non-ASCII and ``?#`` work)."""
    from urllib.parse import quote

    text = path.resolve().as_posix()
    if not text.startswith("/"):  # Windows drive letter: file:/C:/...
        text = "/" + text
    params = []
    if mode:
        params.append(f"mode={mode}")
    if immutable:
        params.append("immutable=1")
    return "file:" + quote(text, safe="/:") + ("?" + "&".join(params) if params else "")


def describe_sqlite_error(e: sqlite3.Error) -> str:
    """Words a user understands for the SQLite errors a save can meet."""
    text = str(e)
    code = getattr(e, "sqlite_errorname", "") or ""
    if "SQLITE_FULL" in code or "disk is full" in text:
        return "the disk is full (nothing of this save was written; free some space and save again)"
    if "READONLY" in code or "readonly" in text:
        return "the project file or its folder is read-only (nothing of this save was written)"
    if "SQLITE_BUSY" in code or "locked" in text:
        return "the project is locked by another program (nothing of this save was written)"
    if "CORRUPT" in code or "malformed" in text or "not a database" in text:
        return f"the project file is damaged ({text})"
    if "IOERR" in code or "disk I/O" in text:
        return f"the disk reported an input/output error ({text}); nothing of this save was written"
    return text


class Database:
    """Per-thread ``sqlite3`` connections to one project file.

    Args:
        path: the project file.
        read_only: open every connection with ``mode=ro``; writes raise ``ProjectReadOnlyError``.
        read_only_reason: why it is read-only, repeated in that error.
        immutable: also pass ``immutable=1`` (read-only media where SQLite cannot create its
            ``-shm`` file); only valid when nobody else can write the file either.
    """

    def __init__(self, path: Path, read_only: bool = False, read_only_reason: str = "",
                 immutable: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        self.read_only_reason = read_only_reason
        self._immutable = immutable
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._all: list[tuple[weakref.ref, sqlite3.Connection]] = []
        self._all_lock = threading.Lock()
        self._closed = False

    # --- connections ----------------------------------------------------------------------------
    def connect_raw(self) -> sqlite3.Connection:
        """A new connection configured like every other (the caller owns and closes it)."""
        uri = file_uri(self.path, "ro" if self.read_only else "rw", self._immutable)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a save is exactly the
            # statements we put in it. check_same_thread=False only so close() may run from the
            # closing thread; each connection is otherwise used by the thread that made it.
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as e:
            raise ProjectError(f"cannot open the project database: {describe_sqlite_error(e)}", self.path) from e
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if not self.read_only:
                conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as e:
            conn.close()
            raise ProjectError(f"cannot configure the project database: {describe_sqlite_error(e)}",
                               self.path) from e
        return conn

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (made on first use)."""
        if self._closed:
            raise ProjectError("the project is closed", self.path)
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect_raw()
            self._local.conn = conn
            self._local.depth = 0
            with self._all_lock:
                # Forget connections of threads that have ended (their thread-local is gone).
                alive = []
                for ref, c in self._all:
                    if ref() is None:
                        try:
                            c.close()
                        except sqlite3.Error:
                            pass
                    else:
                        alive.append((ref, c))
                alive.append((weakref.ref(threading.current_thread()), conn))
                self._all = alive
        return conn

    def close(self) -> None:
        """Close every connection. Further use raises ``ProjectError``.

        Waits for a write transaction in flight on another thread (a pending autosave) to
        finish first, so closing the window never cuts a save in half.
        """
        with self._write_lock:
            if self._closed:
                return
            if not self.read_only:
                try:
                    # Fold the WAL back into the file so a closed project is one file again.
                    self.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except (sqlite3.Error, ProjectError) as e:
                    log.warning("checkpoint on close failed (harmless, done at next open): %s", e)
            self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for _, c in conns:
            try:
                c.close()
            except sqlite3.Error as e:  # closing must never hide the caller's own error
                log.warning("closing a project connection failed: %s", e)
        self._local = threading.local()

    @property
    def closed(self) -> bool:
        return self._closed

    # --- transactions ---------------------------------------------------------------------------
    @contextmanager
    def _joined(self) -> Iterator[None]:
        """A nested ``write``/``read`` joins the thread's outer transaction: only the depth counts,
        so the outermost one alone commits or rolls back."""
        self._local.depth += 1
        try:
            yield
        finally:
            self._local.depth -= 1

    @contextmanager
    def write(self, what: str = "save") -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``); rolled back on any error.

        Nested use joins the outer transaction. SQLite errors become ``ProjectError`` naming the
        file and ``what`` was being done; the previous state is untouched.
        """
        if self.read_only:
            raise ProjectReadOnlyError(f"cannot {what}: the project is open read-only"
                                       + (f" ({self.read_only_reason})" if self.read_only_reason else ""),
                                       self.path)
        conn = self.connection()
        if self._local.depth > 0:
            if not getattr(self._local, "writing", False):
                raise ProjectError(f"cannot {what} inside a read transaction", self.path)
            with self._joined():
                yield conn
            return
        with self._write_lock:
            if self._closed:
                raise ProjectError(f"cannot {what}: the project is closed", self.path)
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise ProjectError(f"cannot {what}: {describe_sqlite_error(e)}", self.path) from e
            self._local.depth, self._local.writing = 1, True
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                try:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                except sqlite3.Error as rollback_error:
                    log.error("rollback failed after %r: %s", e, rollback_error)
                if isinstance(e, sqlite3.Error):
                    raise ProjectError(f"cannot {what}: {describe_sqlite_error(e)}", self.path) from e
                raise
            finally:
                self._local.depth, self._local.writing = 0, False

    @contextmanager
    def read(self, what: str = "read") -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs; nested use joins the outer transaction.

        Shaped like ``write`` but not shared with it: a read takes no write lock, has nothing to
        roll back, and its end (COMMIT) only releases the snapshot."""
        conn = self.connection()
        if self._local.depth > 0:
            with self._joined():
                yield conn
            return
        try:
            conn.execute("BEGIN")
        except sqlite3.Error as e:
            raise ProjectError(f"cannot {what}: {describe_sqlite_error(e)}", self.path) from e
        self._local.depth, self._local.writing = 1, False
        try:
            yield conn
        except sqlite3.Error as e:
            raise ProjectError(f"cannot {what}: {describe_sqlite_error(e)}", self.path) from e
        finally:
            self._local.depth = 0
            try:
                if conn.in_transaction:
                    conn.execute("COMMIT")  # a read transaction: COMMIT just ends the snapshot
            except sqlite3.Error as e:
                log.warning("ending a read transaction failed: %s", e)
