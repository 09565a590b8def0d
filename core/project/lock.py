"""The single-writer lock of a project: a second instance opens it read-only.

An OS advisory lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows) held on a sidecar
file ``<project>-lock`` for as long as the project is open for writing. The operating system
releases it when the process ends, however it ends (SIGKILL, power loss), so a crash never leaves
a stale lock. The file holds the owner's pid and host, only to word the message for the second
instance.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def lock_path_for(project_path: Path) -> Path:
    return project_path.with_name(project_path.name + "-lock")


class InstanceLock:
    """Holds the lock; ``acquire()`` returns None on success or the reason it is held elsewhere."""

    def __init__(self, project_path: Path):
        self.path = lock_path_for(Path(project_path))
        self._fd: int | None = None

    def acquire(self) -> str | None:
        """Try once, without waiting. Returns None when held, else a reason for the user.

        Raises OSError when the lock file cannot be created at all (read-only folder).
        """
        for _ in range(5):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                owner = _read_owner(fd)
                os.close(fd)
                return f"it is open in another Panoptic Inspector ({owner})" if owner else \
                    "it is open in another Panoptic Inspector"
            # The previous owner may have unlinked the file between our open and our lock: then
            # we hold a lock on a file nobody else will see. Start again on the current file.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if not same:
                os.close(fd)
                continue
            note = json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode()
            try:
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, note)
            except OSError as e:  # the lock holds even if the note cannot be written
                log.debug("cannot write the lock owner note: %s", e)
            self._fd = fd
            return None
        return "its lock file keeps changing (another instance is opening and closing it)"

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if os.name != "nt":
            # Unlink while still locked, so nobody can lock this inode after we let go.
            # (On Windows an open file cannot be removed; the empty file stays.)
            try:
                os.unlink(self.path)
            except OSError:
                pass
        try:
            _unlock(fd)
        finally:
            os.close(fd)


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # (sys.platform, not os.name: type checkers narrow on it)
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _read_owner(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096).decode("utf-8") or "{}")
        return f"process {int(data['pid'])} on {data['host']}"
    except (OSError, ValueError, KeyError, TypeError):
        return ""
