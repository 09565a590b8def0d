"""Decoded photos kept for the next open: the neighbours of the open photo, decoded ahead.

Decoding a 24-megapixel JPEG takes ~0.3 s even as a preview's first step on a loaded 2-core
machine; the photo the user goes to next is nearly always the one beside the open one in the
list. ``PhotoCache`` holds what ``PhotoLoader`` decoded (preview and full pyramid) for a few
photos within a byte budget, least recently used out first, so going to a neighbour shows it at
once.

It never shows a stale photo: each entry is keyed by the file's path, size and modification
time, checked (one ``stat``) whenever the entry is asked for; a file that changed or went
missing drops its entry and the photo is decoded afresh (and fails as it would have).
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Default budget: two 24 MP neighbours (BGRA pyramid ~128 MB each) besides the open photo.
DEFAULT_BUDGET_BYTES = 300 * 1024 * 1024


def file_key(path: Path | str) -> tuple[str, int, int] | None:
    """``(path, size, mtime_ns)`` of the file, or None when it cannot be read now."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return str(path), int(st.st_size), int(st.st_mtime_ns)


@dataclass
class CachedPhoto:
    key: tuple[str, int, int]
    preview: Any = None   # QImage of the preview, or None
    photo: Any = None     # LoadedPhoto (full pyramid), or None
    nbytes: int = 0


class PhotoCache:
    """``image id -> CachedPhoto`` within ``budget`` bytes (thread-safe: workers put, the GUI gets).

    ``pinned`` ids (the open photo) are never evicted by the budget: they are on screen anyway.
    """

    def __init__(self, budget: int = DEFAULT_BUDGET_BYTES):
        self.budget = int(budget)
        self._entries: OrderedDict[int, CachedPhoto] = OrderedDict()
        self._lock = threading.Lock()
        self.pinned: frozenset[int] = frozenset()

    def __contains__(self, image_id: int) -> bool:
        return image_id in self._entries

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(e.nbytes for e in self._entries.values())

    def get(self, image_id: int, path: Path | str) -> CachedPhoto | None:
        """The entry of ``image_id`` if the file at ``path`` is still the one decoded, else None
        (a stale entry is dropped)."""
        key = file_key(path)
        with self._lock:
            entry = self._entries.get(image_id)
            if entry is None:
                return None
            if key is None or entry.key != key:
                del self._entries[image_id]
                return None
            self._entries.move_to_end(image_id)
            return entry

    def put(self, image_id: int, key: tuple[str, int, int] | None, *, preview=None, photo=None) -> None:
        """Keep ``preview`` (QImage) and/or ``photo`` (LoadedPhoto) of the file ``key`` (taken by
        ``file_key`` *before* decoding, so a file replaced meanwhile never matches later)."""
        if key is None:
            return
        with self._lock:
            entry = self._entries.get(image_id)
            if entry is None or entry.key != key:
                entry = CachedPhoto(key)
                self._entries[image_id] = entry
            if preview is not None:
                entry.preview = preview
            if photo is not None:
                entry.photo = photo
            entry.nbytes = _image_bytes(entry.preview) + _photo_bytes(entry.photo)
            self._entries.move_to_end(image_id)
            self._evict()

    def drop(self, image_id: int) -> None:
        with self._lock:
            self._entries.pop(image_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def pin(self, ids) -> None:
        """Keep ``ids`` whatever the budget; the rest is evicted down to the budget now."""
        with self._lock:
            self.pinned = frozenset(ids)
            self._evict()

    def fits(self, nbytes: int) -> bool:
        """Whether ``nbytes`` more could be held beside the pinned photos."""
        with self._lock:
            pinned = sum(e.nbytes for i, e in self._entries.items() if i in self.pinned)
        return pinned + nbytes <= self.budget

    def _evict(self) -> None:
        total = sum(e.nbytes for e in self._entries.values())
        for image_id in list(self._entries):
            if total <= self.budget:
                break
            if image_id in self.pinned:
                continue
            total -= self._entries.pop(image_id).nbytes


def _image_bytes(image) -> int:
    return int(image.sizeInBytes()) if image is not None else 0


def _photo_bytes(photo) -> int:
    if photo is None:
        return 0
    # The pyramid's level 0 wraps ``bgra`` (no copy); the other levels are their own arrays.
    return int(photo.bgra.nbytes) + sum(_image_bytes(im) for im in photo.levels[1:])
