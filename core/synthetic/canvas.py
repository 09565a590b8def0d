"""The picture being painted and its truth, kept in step.

Every painter changes ``img`` only where it also writes ``ids`` (or, for distractors, only on
concrete pixels it leaves labelled concrete), so the truth is exact by construction: the id map
*is* the record of what was painted where.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.panoptic import Segment


@dataclass
class Canvas:
    """A scene under construction.

    Attributes:
        img: ``[H, W, 3]`` float32 RGB, nominally in [0, 1].
        ids: ``[H, W]`` int32 segment ids; every pixel belongs to a segment (no void).
        segments: ``{segment id: Segment}`` for every id painted so far.
        concrete_id: the segment id of the concrete stuff segment (where defects may appear).
        light: unit ``(x, y)`` image-plane direction towards the light, shared by all shading.
        zoom: physical scale of the scene (larger = closer camera).
        stuff_ids: the ids of stuff segments (the rest are things).
    """

    img: np.ndarray
    ids: np.ndarray
    segments: dict[int, Segment] = field(default_factory=dict)
    concrete_id: int = 1
    light: tuple[float, float] = (-0.6, -0.8)
    zoom: float = 1.0
    stuff_ids: set[int] = field(default_factory=set)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.ids.shape[0]), int(self.ids.shape[1])

    @property
    def side(self) -> float:
        """The shorter image side in pixels, the unit that defect sizes are drawn in."""
        return float(min(self.shape))

    def new_segment(self, category_id: int, stuff: bool = False) -> int:
        seg_id = max(self.segments, default=0) + 1
        self.segments[seg_id] = Segment(seg_id, category_id)
        if stuff:
            self.stuff_ids.add(seg_id)
        return seg_id

    def thing_count(self) -> int:
        return len(self.segments) - len(self.stuff_ids)

    def box(self, cx: float, cy: float, rx: float, ry: float | None = None) -> tuple[slice, slice]:
        """Row and column slices of the window ``[cx - rx, cx + rx] x [cy - ry, cy + ry]``
        (``ry`` defaults to ``rx``), clipped to the picture."""
        ry = rx if ry is None else ry
        h, w = self.shape
        y0, y1 = max(int(cy - ry), 0), min(int(cy + ry) + 1, h)
        x0, x1 = max(int(cx - rx), 0), min(int(cx + rx) + 1, w)
        return slice(y0, max(y1, y0)), slice(x0, max(x1, x0))

    @staticmethod
    def grid(ys: slice, xs: slice, cx: float, cy: float) -> tuple[np.ndarray, np.ndarray]:
        """``(x - cx [1, w], y - cy [h, 1])`` float32 coordinates of a window, for broadcasting."""
        xx = np.arange(xs.start, xs.stop, dtype=np.float32)[None, :] - np.float32(cx)
        yy = np.arange(ys.start, ys.stop, dtype=np.float32)[:, None] - np.float32(cy)
        return xx, yy

    def concrete(self, ys: slice, xs: slice) -> np.ndarray:
        """``[h, w]`` bool: pixels of the window still plain concrete (free for a new defect)."""
        return self.ids[ys, xs] == self.concrete_id
