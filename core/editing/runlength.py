"""The edit record: run-length coded id-map patches before and after an operation, and areas.

A full-photo fill of a 24-megapixel photo costs kilobytes this way, not 2 x 96 MB.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping

import numpy as np

from core.editing.geometry import Box
from core.panoptic import VOID, Segment

#: Largest id for which per-id arrays (areas, colour tables) are dense; above it we go via np.unique.
DENSE_ID_LIMIT = 1 << 22


# --- run-length code --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunLength:
    """Run-length code of a flattened int32 patch.

    Attributes:
        values: ``[R]`` int32, the value of each run.
        ends: ``[R]`` int64, exclusive end position of each run (``ends[-1]`` = patch size).
    """

    values: np.ndarray
    ends: np.ndarray

    @staticmethod
    def encode(patch: np.ndarray) -> RunLength:
        flat = np.ascontiguousarray(patch, dtype=np.int32).ravel()
        if flat.size == 0:
            return RunLength(np.zeros(0, np.int32), np.zeros(0, np.int64))
        starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        ends = np.append(starts, flat.size).astype(np.int64)
        return RunLength(flat[ends - 1].copy(), ends)

    def decode(self) -> np.ndarray:
        """The flattened ``[N]`` int32 patch."""
        lengths = np.diff(self.ends, prepend=0)
        return np.repeat(self.values, lengths)

    def counts(self) -> dict[int, int]:
        """Pixels per value: ``{value: count}``."""
        if self.values.size == 0:
            return {}
        lengths = np.diff(self.ends, prepend=0)
        uniq, inv = np.unique(self.values, return_inverse=True)
        sums = np.bincount(inv, weights=lengths).astype(np.int64)
        return {int(v): int(s) for v, s in zip(uniq, sums)}

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + self.ends.nbytes)


# --- the edit record --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Edit:
    """What one operation changed; replayable both ways by ``AnnotationEditor``.

    Attributes:
        name: words for the Edit menu ("Brush stroke", "Delete segment 4").
        box: ``(y0, x0, y1, x1)`` of the id-map patch (``EMPTY_BOX`` for table-only edits).
        before, after: run-length codes of the ``[y1 - y0, x1 - x0]`` int32 patch.
        segments_before, segments_after: ``{segment id: Segment or None}`` for every id whose
            table entry changed (None = absent).
    """

    name: str
    box: Box
    before: RunLength
    after: RunLength
    segments_before: Mapping[int, Segment | None]
    segments_after: Mapping[int, Segment | None]

    @property
    def nbytes(self) -> int:
        """Memory the record holds (what 200 undo steps cost)."""
        return self.before.nbytes + self.after.nbytes + 64 * (len(self.segments_before) + 1)



def area_deltas(before: RunLength, after: RunLength) -> dict[int, int]:
    delta = dict(after.counts())
    for v, c in before.counts().items():
        delta[v] = delta.get(v, 0) - c
    return {v: d for v, d in delta.items() if d}


#: Pixels per ``np.bincount`` call: bincount holds the GIL, so a 24 MP map is counted in slices
#: (each a few ms) and a GUI thread waiting for the GIL is never held up for long.
_COUNT_CHUNK = 1 << 20


def compute_areas(id_map: np.ndarray) -> dict[int, int]:
    """``{segment id: pixel count}`` of every non-void id (bincount when ids are small: O(H·W))."""
    flat = id_map.ravel()
    top = int(flat.max(initial=0))
    if top < DENSE_ID_LIMIT:
        counts = np.zeros(top + 1, np.int64)
        for start in range(0, flat.size, _COUNT_CHUNK):
            counts += np.bincount(flat[start:start + _COUNT_CHUNK], minlength=top + 1)
        ids = np.flatnonzero(counts)
        return {int(i): int(counts[i]) for i in ids if i != VOID}
    ids, counts = np.unique(flat, return_counts=True)
    return {int(i): int(c) for i, c in zip(ids, counts) if i != VOID}


def same_runs(a: RunLength, b: RunLength) -> bool:
    """True when two run-length codes hold the same patch."""
    return np.array_equal(a.values, b.values) and np.array_equal(a.ends, b.ends)
