"""Guards that keep every command from destroying what it did not create.

Three rules, checked before any work starts, by every command that writes a folder (export,
import ``--out``, predict ``--out``, train ``--out``, synth):

* **No overlap with the inputs.** An output folder that *is*, *contains* or *lies inside* one of
  the command's inputs (a project file, the folder of its photos, a dataset's JSON, PNG or photo
  folder, a checkpoint) is refused: replacing it would delete the inputs, and writing inside it
  would mix outputs into the data the next run reads. Paths are compared after resolving symlinks
  and ``..``, so another spelling of the same folder is caught too.
* **Replace only our own output.** Every output folder gets a marker file (``MARKER``) written by
  us. ``--overwrite`` replaces a non-empty folder only when it holds that marker; a folder of
  anything else is refused, whatever the flag says.
* **Leftovers of a killed run are ours to remove.** A working folder (``<dest>.partial-*`` while
  an export is written, ``<dest>.old-*`` while it is swapped in) carries the marker with the id of
  the process that made it; the next run removes those whose process is gone. So do temporary
  files of atomic writes (``remove_stale_temp_files``).

And one rule for reading: a path a user gives is never opened when it is a FIFO, socket, device
or symbolic link loop (``special_file_reason``, ``read_regular_file``): reading one would block
forever.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import socket
import stat
import time
from collections.abc import Iterable
from pathlib import Path

from core.errors import DatasetError

log = logging.getLogger(__name__)


class UnsafeOutputError(DatasetError):
    """An output folder that would replace or mix with an input, or hold what we did not write."""


#: The file that marks a folder as written by this application.
MARKER = ".panoptic-inspector-output"
_TOOL = "Panoptic Inspector"

#: Name fragments of an export's working folders beside its destination (see ``AtomicFolder``).
WORK_SUFFIXES = (".partial-", ".old-")


def resolved(path: str | Path) -> Path:
    """``path`` absolute with symlinks and ``..`` resolved (also when it does not exist yet)."""
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def write_marker(folder: str | Path, kind: str) -> Path:
    """Mark ``folder`` as our output of ``kind`` (``export``, ``predict``, ``train`` ...)."""
    path = Path(folder) / MARKER
    record = {"tool": _TOOL, "kind": kind, "pid": os.getpid(), "host": socket.gethostname(),
              "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return path


def read_marker(folder: str | Path) -> dict | None:
    """The marker's record when ``folder`` holds our marker, else None."""
    try:
        record = json.loads(read_regular_file(Path(folder) / MARKER).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("tool") == _TOOL else None


def is_our_output(folder: str | Path) -> bool:
    return read_marker(folder) is not None


def _is_empty_dir(folder: Path) -> bool:
    with os.scandir(folder) as it:
        return next(it, None) is None


def special_file_reason(path: str | Path) -> str | None:
    """Why ``path`` must not be opened for reading (a FIFO, socket or device would block or never
    end; a symbolic link loop), or None for a regular file (or one that does not exist)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        return "a symbolic link loop" if e.errno == errno.ELOOP else None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file"
    return "not a regular file"


def read_regular_file(path: str | Path) -> bytes:
    """A file's bytes, refusing special files first (a FIFO would block forever) with an
    ``OSError`` (``EINVAL``), so callers' own ``except OSError`` reports it with the file."""
    reason = special_file_reason(path)
    if reason is not None:
        raise OSError(errno.EINVAL, f"{reason}; not read", str(path))
    return Path(path).read_bytes()


def check_no_overlap(out: str | Path, inputs: Iterable[str | Path | None], option: str = "--out", *,
                     inside_allowed: bool = False) -> None:
    """Refuse an output folder that is, contains or lies inside one of ``inputs``.

    ``inputs`` may hold files and folders (None entries are ignored); a file input only forbids an
    output that is that file or contains it. ``inside_allowed``: an output inside an input folder
    is fine for writers whose files can never be taken for inputs (a report's HTML, CSV and PDF
    beside the photos it describes), while photos or id PNGs written among a dataset's would be
    read back as part of it. Raises ``UnsafeOutputError`` naming both paths.
    """
    target = resolved(out)
    for item in inputs:
        if item is None:
            continue
        source = resolved(item)
        if target == source:
            raise UnsafeOutputError(f"the output folder is the input {item}", out,
                                    hint=f"choose a new folder for {option}")
        if source.is_relative_to(target):
            raise UnsafeOutputError(f"the output folder contains the input {item}; writing it would "
                                    "replace or mix with that input", out, hint=f"choose a new folder for {option}")
        if not inside_allowed and os.path.isdir(source) and target.is_relative_to(source):
            raise UnsafeOutputError(f"the output folder lies inside the input folder {item}", out,
                                    hint=f"choose a folder outside {item} for {option}")


def check_replaceable(dest: str | Path, overwrite: bool, what: str = "output folder") -> str:
    """Whether ``dest`` may be written: ``"new"``, ``"empty"`` or ``"ours"`` (an earlier output of
    ours, replaced only with ``overwrite``).

    Raises ``UnsafeOutputError`` when ``dest`` is a file, or a non-empty folder that is not ours
    (whatever ``overwrite`` says), or ours without ``overwrite``.
    """
    dest = Path(dest)
    if not os.path.lexists(dest):
        return "new"
    if not dest.is_dir():
        raise UnsafeOutputError(f"the {what} exists and is not a folder", dest, hint="choose a new folder")
    try:
        if _is_empty_dir(dest):
            return "empty"
    except OSError as e:
        raise UnsafeOutputError(f"cannot read the {what}: {e.strerror or e}", dest) from e
    if not is_our_output(dest):
        raise UnsafeOutputError(f"the {what} is not empty and was not written by Panoptic Inspector, so it is "
                                "never replaced", dest, hint="choose a new or empty folder")
    if not overwrite:
        raise UnsafeOutputError(f"the {what} exists and is not empty (an earlier output)", dest,
                                hint="choose an empty or new folder, or overwrite it (--overwrite)")
    return "ours"


def _process_gone(record: dict) -> bool:
    if record.get("host") not in (None, socket.gethostname()):
        return False  # a run on another machine sharing this folder: not ours to judge
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists but belongs to someone else
        return False
    return False


def remove_stale_work_folders(dest: str | Path) -> list[Path]:
    """Remove ``<dest>.partial-*`` / ``<dest>.old-*`` folders left by a killed run of ours.

    Only folders holding our marker whose process no longer exists are removed (a concurrent run's
    working folder is left alone). Returns the folders removed.
    """
    dest = Path(dest)
    removed: list[Path] = []
    try:
        siblings = list(dest.parent.iterdir())
    except OSError:
        return removed
    for p in siblings:
        if not any(p.name.startswith(dest.name + s) for s in WORK_SUFFIXES) or p.is_symlink() or not p.is_dir():
            continue
        record = read_marker(p)
        if record is None:
            continue
        if p.name.startswith(dest.name + ".old-") and not os.path.lexists(dest):
            # killed between moving the earlier output aside and moving the new one in: the
            # earlier output is the only complete one, so it goes back
            os.rename(p, dest)
            log.warning("restored %s from %s, left by an earlier run that was stopped", dest, p)
            continue
        if _process_gone(record):
            shutil.rmtree(p, ignore_errors=True)
            log.warning("removed %s, left by an earlier run that was stopped", p)
            removed.append(p)
    return removed


#: A temporary file of an atomic write whose name does not say its process (an older version's)
#: is a leftover once it has not been written to for this long.
STALE_TEMP_AGE_S = 600.0


def remove_stale_temp_files(folder: str | Path) -> list[Path]:
    """Remove ``.<name>.*.tmp`` files of atomic writes (``core.atomic``) left in ``folder`` by a
    killed process: those naming a process that no longer exists (``pid<N>-``), and unnamed ones
    untouched for ``STALE_TEMP_AGE_S``. A write in progress is never touched. Returns what went."""
    import re

    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for p in entries:
        if not (p.name.startswith(".") and p.name.endswith(".tmp")) or p.is_symlink() or not p.is_file():
            continue
        m = re.search(r"\.pid(\d+)-[^.]*\.tmp$", p.name)
        try:
            stale = (_process_gone({"pid": int(m.group(1))}) if m else
                     time.time() - p.stat().st_mtime > STALE_TEMP_AGE_S)
            if stale:
                p.unlink()
                removed.append(p)
                log.warning("removed %s, left by an earlier run that was stopped", p)
        except OSError:
            continue
    return removed


def check_output_folder(out: str | Path, inputs: Iterable[str | Path | None], *, option: str = "--out",
                        allow: Iterable[str] = (), kind: str | None = None) -> Path:
    """For commands that write files into a folder in place (predict, train): may ``out`` be used?

    It may be new, empty, ours (of the same ``kind`` when given: a prediction never goes into an
    export), or hold one of the names in ``allow`` (e.g. a training run of an earlier version,
    recognised by its ``run.json``); anything else is refused, as is any overlap with ``inputs``.
    Nothing is created (``mark_output_folder`` does that once work starts).
    """
    out = Path(out)
    check_no_overlap(out, inputs, option)
    if out.exists() and not out.is_dir():
        raise UnsafeOutputError(f"{option} exists and is not a folder", out, hint="choose a new folder")
    record = read_marker(out) if out.is_dir() else None
    if kind is not None and record is not None and record.get("kind") not in (kind, None):
        raise UnsafeOutputError(f"the output folder holds an earlier {record.get('kind')} output, not a {kind} one; "
                                "its files are not mixed with these", out, hint="choose a new or empty folder")
    if out.is_dir() and not _is_empty_dir(out) and not is_our_output(out) \
            and not any((out / name).exists() for name in allow):
        raise UnsafeOutputError("the output folder is not empty and was not written by Panoptic Inspector; "
                                "nothing in it is replaced", out, hint="choose a new or empty folder")
    return out


def mark_output_folder(out: str | Path, kind: str) -> Path:
    """Create ``out`` (checked by ``check_output_folder``) and mark it as ours."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not is_our_output(out):
            write_marker(out, kind)
    except OSError as e:
        raise UnsafeOutputError(f"cannot create the output folder: {e.strerror or e}", out,
                                hint="check free space and write permission") from e
    return out
