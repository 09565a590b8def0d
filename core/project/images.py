"""The photos of a project: adding (hash + oriented size, off the caller's thread), listing,
split/status, and finding moved photos again by content hash.

Photos stay where they are; the project stores both the relative and the absolute path (see
``paths.py``), the size after EXIF orientation, the byte size and the SHA-256 of the file.
"""
from __future__ import annotations

import builtins  # the stores' own method `list` hides the type inside their classes
import hashlib
import logging
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Iterable, Sequence

from core.errors import BadImageError, CancelledError, InspectorError, ProjectError
from core.imageio import image_info_from_bytes, is_image_file, read_file_bytes, verify_image
from core.progress import CancelFlag, ProgressFn
from core.project import paths
from core.project.schema import IMAGE_SPLITS, IMAGE_STATUSES, now_iso

if TYPE_CHECKING:
    from core.project.store import Project

log = logging.getLogger(__name__)

#: ``progress(done, total, message)``, the callback every long core function takes.




#: Files scanned per write transaction: a cancel or a crash keeps every finished batch.
BATCH = 64
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class ImageRecord:
    """One photo of the project.

    Attributes:
        path: where the photo is: the first of (relative to the project, absolute) that exists,
            else the relative one. ``exists`` says whether it was found when this was read.
        width, height: pixels after EXIF orientation (the frame masks are in).
        orientation: the EXIF orientation tag (1 when none).
        sha256: hex digest of the file's bytes.
        split: "train", "val", "test" or None; status: "unlabeled", "in_progress" or "done".
    """

    id: int
    path: Path
    exists: bool
    rel_path: str | None
    abs_path: str
    width: int
    height: int
    orientation: int
    file_size: int
    sha256: str
    added_at: str
    split: str | None
    status: str

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class AddReport:
    """What ``add_files`` did. ``skipped``/``failed`` hold ``(path, reason)`` pairs."""

    added: list[ImageRecord] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False


@dataclass
class RelinkReport:
    """What ``relink`` did: ``found`` maps image id -> new path; ``missing`` are still lost."""

    found: dict[int, Path] = field(default_factory=dict)
    missing: list[ImageRecord] = field(default_factory=list)
    cancelled: bool = False


@dataclass(frozen=True)
class _Scanned:
    path: Path
    file_size: int
    sha256: str
    width: int
    height: int
    orientation: int


def file_sha256(path: str | Path, cancel: CancelFlag | None = None) -> tuple[str, int]:
    """``(hex sha256, byte size)`` of a file, streamed in 1 MiB chunks (constant memory)."""
    h = hashlib.sha256()
    size = 0
    buf = bytearray(_READ_CHUNK)
    view = memoryview(buf)
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])  # hashlib releases the GIL on large updates: threads help
            size += n
            if cancel is not None and cancel.is_set():
                raise CancelledError("cancelled while hashing", path)
    return h.hexdigest(), size


def _scan(path: Path, cancel: CancelFlag | None, verify: bool = True) -> _Scanned:
    """Hash and size of a photo from one read of its bytes; with ``verify`` the whole file is
    checked (``verify_image``: a truncated photo is refused here, not when training reads it),
    else its header only (the importers verified it already)."""
    if cancel is not None and cancel.is_set():
        raise CancelledError("cancelled", path)
    data = read_file_bytes(path)  # special files (FIFOs, devices) refused, never a hang
    digest = hashlib.sha256(data).hexdigest()
    info = verify_image(path, data) if verify else image_info_from_bytes(data, path)
    return _Scanned(path, len(data), digest, info.width, info.height, info.orientation)


def list_image_files(folder: str | Path, recursive: bool = True) -> list[Path]:
    """Photos under ``folder`` (by extension), sorted, hidden files and folders skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ProjectError("no such folder", folder)
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        found.extend(Path(root) / f for f in files if not f.startswith(".") and is_image_file(f))
    return sorted(found)


_COLUMNS = ("id, rel_path, abs_path, width, height, orientation, file_size, sha256, added_at, "
            "split, status")


class ImageStore:
    """``project.images``."""

    def __init__(self, project: Project):
        self._project = project
        self._db = project._db

    def _record(self, row: tuple) -> ImageRecord:
        path, exists = paths.locate(self._project.folder, row[1], row[2])
        return ImageRecord(row[0], path, exists, *row[1:])

    # --- reading ------------------------------------------------------------------------------
    def get(self, image_id: int) -> ImageRecord:
        """Raises ProjectError when there is no such image."""
        row = self._db.connection().execute(f"SELECT {_COLUMNS} FROM images WHERE id = ?",
                                            (int(image_id),)).fetchone()
        if row is None:
            raise ProjectError(f"no image with id {image_id} in the project", self._project.path)
        return self._record(row)

    def size(self, image_id: int) -> tuple[int, int]:
        """``(height, width)`` after EXIF orientation, without looking for the file."""
        row = self._db.connection().execute("SELECT height, width FROM images WHERE id = ?",
                                            (int(image_id),)).fetchone()
        if row is None:
            raise ProjectError(f"no image with id {image_id} in the project", self._project.path)
        return int(row[0]), int(row[1])

    def list(self, split: str | None = None, status: str | None = None) -> list[ImageRecord]:
        """Every image (optionally of one split / status), in the order they were added."""
        sql, args = f"SELECT {_COLUMNS} FROM images", []
        where = []
        if split is not None:
            where.append("split = ?")
            args.append(split)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._db.connection().execute(sql + " ORDER BY id", args).fetchall()
        return [self._record(r) for r in rows]

    def ids(self) -> builtins.list[int]:
        return [r[0] for r in self._db.connection().execute("SELECT id FROM images ORDER BY id")]

    def count(self) -> int:
        return int(self._db.connection().execute("SELECT count(*) FROM images").fetchone()[0])

    def find_by_path(self, path: str | Path) -> ImageRecord | None:
        row = self._db.connection().execute(f"SELECT {_COLUMNS} FROM images WHERE abs_path = ?",
                                            (str(paths.normalized_abs(path)),)).fetchone()
        return None if row is None else self._record(row)

    def find_by_hash(self, sha256: str) -> builtins.list[ImageRecord]:
        rows = self._db.connection().execute(f"SELECT {_COLUMNS} FROM images WHERE sha256 = ? ORDER BY id",
                                             (sha256,)).fetchall()
        return [self._record(r) for r in rows]

    def missing(self) -> builtins.list[ImageRecord]:
        """Images whose photo is at none of its stored paths (their annotations are kept)."""
        return [r for r in self.list() if not r.exists]

    # --- adding -------------------------------------------------------------------------------
    def add_folder(self, folder: str | Path, recursive: bool = True, **kwargs: Any) -> AddReport:
        """``add_files`` on every photo under ``folder`` (see there for the arguments)."""
        return self.add_files(list_image_files(folder, recursive), **kwargs)

    def add_files(self, files: Iterable[str | Path], *, progress: ProgressFn | None = None,
                  cancel: CancelFlag | None = None, skip_duplicates: bool = True,
                  split: str | None = None, workers: int | None = None, verify: bool = True) -> AddReport:
        """Add photos: each is hashed and its oriented size read on a small thread pool.

        Call from a worker thread (the GUI) or the CLI; never on a GUI thread. Files already in
        the project, and (``skip_duplicates``) files whose content is already there, are
        skipped; unreadable files are reported in ``failed`` and the rest goes on. Every batch of
        ``BATCH`` files is committed as it completes, so after a cancel (``report.cancelled``)
        the photos scanned so far stay added.

        Args:
            progress: ``progress(done, total, path name)`` after each file.
            cancel: stops between files when ``cancel.is_set()``.
            split: the split given to every added photo (default none).
            workers: threads for hashing (default: up to 4).
            verify: check each photo's whole file (``core.imageio.verify_image``); False when
                the caller has just done so (the importers).
        """
        if split is not None and split not in IMAGE_SPLITS:
            raise ProjectError(f"unknown split {split!r}; use one of {IMAGE_SPLITS}")
        report = AddReport()
        unique: list[Path] = []
        seen = set()
        for f in files:
            p = paths.normalized_abs(f)
            if p not in seen:
                seen.add(p)
                unique.append(p)
        conn = self._db.connection()
        known_paths = {r[0] for r in conn.execute("SELECT abs_path FROM images")}
        known_hashes = {r[1]: r[0] for r in conn.execute("SELECT abs_path, sha256 FROM images")}
        total, done = len(unique), 0
        todo = []
        for p in unique:
            if str(p) in known_paths:
                report.skipped.append((p, "already in the project"))
                done += 1
            else:
                todo.append(p)
        if progress and done:
            progress(done, total, "")
        workers = workers or min(4, (os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="project-scan") as pool:
            for start in range(0, len(todo), BATCH):
                if cancel is not None and cancel.is_set():
                    report.cancelled = True
                    break
                batch = todo[start:start + BATCH]
                futures = {pool.submit(_scan, p, cancel, verify): i for i, p in enumerate(batch)}
                scanned: list[_Scanned | None] = [None] * len(batch)
                for fut in as_completed(futures):
                    i = futures[fut]
                    try:
                        scanned[i] = fut.result()
                    except CancelledError:
                        report.cancelled = True
                    except InspectorError as e:
                        report.failed.append((batch[i], e.reason))
                        log.info("not added: %s", e)
                    except Exception as e:  # noqa: BLE001 - an unexpected decoder fault must not end the batch
                        report.failed.append((batch[i], f"{type(e).__name__}: {e}"))
                        log.warning("not added: %s: %r", batch[i], e)
                    done += 1
                    if progress:
                        progress(done, total, batch[i].name)
                rows = []
                for s in scanned:
                    if s is None:
                        continue
                    if skip_duplicates and s.sha256 in known_hashes:
                        report.skipped.append((s.path, f"same content as {known_hashes[s.sha256]}"))
                        continue
                    known_hashes[s.sha256] = str(s.path)
                    rows.append(s)
                report.added.extend(self._insert(rows, split))
                if report.cancelled:
                    break
        log.info("added %d photos (%d skipped, %d failed%s)", len(report.added), len(report.skipped),
                 len(report.failed), ", cancelled" if report.cancelled else "")
        return report

    def _insert(self, rows: Sequence[_Scanned], split: str | None) -> builtins.list[ImageRecord]:
        if not rows:
            return []
        ids: list[int] = []
        added_at = now_iso()
        with self._db.write("add photos") as conn:
            for s in rows:
                rel, absolute = paths.to_stored(self._project.folder, s.path)
                cur = conn.execute(
                    "INSERT INTO images (rel_path, abs_path, width, height, orientation, file_size, sha256, "
                    "added_at, split) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(abs_path) DO NOTHING",
                    (rel, absolute, s.width, s.height, s.orientation, s.file_size, s.sha256, added_at, split))
                if cur.rowcount == 1:
                    assert cur.lastrowid is not None  # an inserted row has an id
                    ids.append(cur.lastrowid)
        return [self.get(i) for i in ids]

    # --- editing ------------------------------------------------------------------------------
    def set_split(self, image_ids: Iterable[int], split: str | None) -> None:
        """Give images a split ("train", "val", "test") or none."""
        if split is not None and split not in IMAGE_SPLITS:
            raise ProjectError(f"unknown split {split!r}; use one of {IMAGE_SPLITS} or None")
        with self._db.write("set the split") as conn:
            conn.executemany("UPDATE images SET split = ? WHERE id = ?", [(split, int(i)) for i in image_ids])

    def set_status(self, image_ids: Iterable[int], status: str) -> None:
        """Mark images "unlabeled", "in_progress" or "done"."""
        if status not in IMAGE_STATUSES:
            raise ProjectError(f"unknown status {status!r}; use one of {IMAGE_STATUSES}")
        with self._db.write("set the status") as conn:
            conn.executemany("UPDATE images SET status = ? WHERE id = ?", [(status, int(i)) for i in image_ids])

    def remove(self, image_ids: Iterable[int]) -> None:
        """Remove images from the project with their annotations, predictions and calibration
        (the photo files are not touched). The caller asks the user first."""
        with self._db.write("remove photos") as conn:
            conn.executemany("DELETE FROM images WHERE id = ?", [(int(i),) for i in image_ids])

    # --- moved photos -------------------------------------------------------------------------
    def relink_image(self, image_id: int, new_path: str | Path, *, require_same_content: bool = True) -> ImageRecord:
        """Point one image at a file the user picked.

        The file must have the same content (hash) unless ``require_same_content`` is False; it
        must always have the same oriented size, because the annotation is in that frame.
        Raises BadImageError (unreadable / different) or ProjectError.
        """
        rec = self.get(image_id)
        s = _scan(paths.normalized_abs(new_path), None)
        if require_same_content and s.sha256 != rec.sha256:
            raise BadImageError("this is not the same photo (its content differs)", s.path,
                                hint=f"the project expects the photo that was at {rec.abs_path}")
        if (s.width, s.height) != (rec.width, rec.height):
            raise BadImageError(f"the photo is {s.width}x{s.height} but the project's is "
                                f"{rec.width}x{rec.height}; its annotation would not fit", s.path)
        self._update_location({image_id: s}, update_content=True)
        return self.get(image_id)

    def relink(self, folder: str | Path, *, progress: ProgressFn | None = None,
               cancel: CancelFlag | None = None, workers: int | None = None) -> RelinkReport:
        """Find missing photos under ``folder`` (recursively) by content hash.

        Only files whose byte size equals a missing photo's are hashed, so a large folder costs
        little. Annotations are untouched; images still missing are listed in the report.
        """
        missing = self.missing()
        report = RelinkReport()
        if not missing:
            return report
        by_size: dict[int, list[ImageRecord]] = {}
        for rec in missing:
            by_size.setdefault(rec.file_size, []).append(rec)
        taken = {r[0] for r in self._db.connection().execute("SELECT abs_path FROM images")}
        candidates = []
        for p in list_image_files(folder, recursive=True):
            if str(p) in taken:  # already another image of the project: not a moved one
                continue
            try:
                if p.stat().st_size in by_size:
                    candidates.append(p)
            except OSError:
                continue
        by_hash: dict[str, list[ImageRecord]] = {}
        for rec in missing:
            by_hash.setdefault(rec.sha256, []).append(rec)
        matched: dict[int, _Scanned] = {}
        workers = workers or min(4, (os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="project-relink") as pool:
            futures = {pool.submit(_hash_only, p, cancel): p for p in candidates}
            for done, fut in enumerate(as_completed(futures), 1):
                if cancel is not None and cancel.is_set():
                    report.cancelled = True
                    for f in futures:
                        f.cancel()
                    break
                try:
                    s = fut.result()
                except (OSError, CancelledError) as e:
                    log.info("relink: skipped %s: %s", futures[fut], e)
                    continue
                for rec in by_hash.get(s.sha256, []):
                    if rec.id not in matched:  # one file per image: copies fill duplicates in turn
                        matched[rec.id] = s
                        break
                if progress:
                    progress(done, len(candidates), futures[fut].name)
        self._update_location(matched, update_content=False)
        report.found = {i: s.path for i, s in matched.items()}
        report.missing = [r for r in missing if r.id not in matched]
        log.info("relink: %d found, %d still missing", len(report.found), len(report.missing))
        return report

    def _update_location(self, found: dict[int, _Scanned], update_content: bool) -> None:
        if not found:
            return
        with self._db.write("update photo locations") as conn:
            for image_id, s in found.items():
                rel, absolute = paths.to_stored(self._project.folder, s.path)
                try:
                    if update_content:
                        conn.execute("UPDATE images SET rel_path = ?, abs_path = ?, sha256 = ?, file_size = ?, "
                                     "orientation = ? WHERE id = ?",
                                     (rel, absolute, s.sha256, s.file_size, s.orientation, image_id))
                    else:
                        conn.execute("UPDATE images SET rel_path = ?, abs_path = ? WHERE id = ?",
                                     (rel, absolute, image_id))
                except sqlite3.IntegrityError as e:
                    raise ProjectError("another image of the project already uses this file",
                                       s.path) from e

    @staticmethod
    def rebase_paths(conn: sqlite3.Connection, old_folder: Path, new_folder: Path) -> None:
        """Rewrite relative paths after the project file was copied to ``new_folder``."""
        rows = conn.execute("SELECT id, rel_path, abs_path FROM images").fetchall()
        for image_id, rel, absolute in rows:
            where, _ = paths.locate(old_folder, rel, absolute)
            new_rel, _ = paths.to_stored(new_folder, where)
            conn.execute("UPDATE images SET rel_path = ?, abs_path = ? WHERE id = ?",
                         (new_rel, str(where), image_id))


def _hash_only(path: Path, cancel: CancelFlag | None) -> _Scanned:
    digest, size = file_sha256(path, cancel)
    return _Scanned(path, size, digest, 0, 0, 1)
