"""Where an overlay looks different after its annotation is replaced by another of the same
prediction (the confidence slider): so the canvas recolours those places only.

Both annotations are nearest-neighbour expansions of small label maps (the model-size maps of
``core.inference.result``), so the comparison runs on the small maps (~0.2 megapixel) and never
on the 12-megapixel id maps. A pixel's look is its segment's colours (fill, outline) and whether
its neighbours belong to the same segment (outlines). Ids are renumbered between thresholds, so
ids are not compared directly: an old id ``a`` and a new id ``b`` form a *stable pair* when every
pixel of ``a`` became ``b``, every pixel of ``b`` was ``a`` and both have the same colours. Pixels
of stable pairs look the same, and so does every boundary between them (a one-to-one relabelling
keeps "same segment as my neighbour"). Everything else is reported as changed; the canvas widens
each box by one sampled pixel for the outlines, as it does for an edit.

Pure numpy (no Qt): testable alone.
"""
from __future__ import annotations

import numpy as np

from core.editing import Box

#: Above this many separate changed places, one box around them all (fewer, larger repaints).
MAX_BOXES = 24


def stable_pixels(old: np.ndarray, new: np.ndarray, old_colours: dict[int, tuple[int, int]],
                  new_colours: dict[int, tuple[int, int]]) -> np.ndarray:
    """``[h, w]`` bool: pixels of ``old`` / ``new`` (``[h, w]`` integer ids, same shape) that
    belong to a stable pair (see the module's docstring). ``*_colours``: ``{id: (fill, outline)}``
    as ``ColourTable.colours``; an id missing from it is transparent (``(0, 0)``)."""
    if old.shape != new.shape:
        raise ValueError(f"label maps differ in shape: {old.shape} and {new.shape}")
    old = old.astype(np.int64, copy=False)
    new = new.astype(np.int64, copy=False)
    n_old, n_new = int(old.max(initial=0)) + 1, int(new.max(initial=0)) + 1
    pair = old * n_new + new
    hist = np.bincount(pair.ravel(), minlength=n_old * n_new).reshape(n_old, n_new)
    present = hist > 0
    one_to_one = present & (present.sum(1, keepdims=True) == 1) & (present.sum(0, keepdims=True) == 1)

    def colours(table: dict[int, tuple[int, int]], n: int) -> np.ndarray:
        out = np.zeros((n, 2), np.int64)
        for i, c in table.items():
            if 0 <= i < n:
                out[i] = c
        return out

    co, cn = colours(old_colours, n_old), colours(new_colours, n_new)
    same = (co[:, None, :] == cn[None, :, :]).all(-1)
    return (one_to_one & same).ravel()[pair]


def changed_boxes(old: np.ndarray, new: np.ndarray, old_colours: dict[int, tuple[int, int]],
                  new_colours: dict[int, tuple[int, int]], full_shape: tuple[int, int]) -> list[Box]:
    """Boxes ``(y0, x0, y1, x1)`` in full-size pixels that hold every pixel whose look differs
    between ``expand_nearest(old, *full_shape)`` and ``expand_nearest(new, *full_shape)`` (the
    ``core.inference.result`` expansion). Empty when nothing looks different."""
    from scipy import ndimage

    changed = ~stable_pixels(old, new, old_colours, new_colours)
    if not changed.any():
        return []
    h, w = changed.shape
    height, width = full_shape
    # Full rows / columns each small row / column expands to: src = floor(dst * h / height).
    rows = np.minimum((np.arange(height) * (h / height)).astype(np.int64), h - 1)
    cols = np.minimum((np.arange(width) * (w / width)).astype(np.int64), w - 1)
    row_start = np.searchsorted(rows, np.arange(h + 1), side="left")
    col_start = np.searchsorted(cols, np.arange(w + 1), side="left")
    labels, n = ndimage.label(changed, structure=np.ones((3, 3), bool))
    slices = ndimage.find_objects(labels) if n <= MAX_BOXES else [_bounds(changed)]
    boxes = []
    for ys, xs in slices:
        y0, y1 = int(row_start[ys.start]), int(row_start[ys.stop])
        x0, x1 = int(col_start[xs.start]), int(col_start[xs.stop])
        if y1 > y0 and x1 > x0:
            boxes.append((y0, x0, y1, x1))
    return boxes


def _bounds(mask: np.ndarray) -> tuple[slice, slice]:
    ys, xs = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return slice(int(ys[0]), int(ys[-1]) + 1), slice(int(xs[0]), int(xs[-1]) + 1)
