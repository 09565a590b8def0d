"""Pictures for people to judge the synthetic data by: overlays and a grid of samples.

``sample_grid`` makes ``docs/images/synthetic_grid.png``: for each sample the photo and, beside
it, the photo under its truth (category colours at half opacity, instance outlines).
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from core.categories import CategorySet
from core.overlay import tint
from core.panoptic import PanopticAnnotation


def _legend(categories: CategorySet, width: int) -> np.ndarray:
    bar = np.full((28, width, 3), 255, np.uint8)
    x = 8
    for c in categories:
        cv2.rectangle(bar, (x, 7), (x + 14, 21), tuple(int(v) for v in c.color), -1)
        cv2.putText(bar, c.name, (x + 20, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        x += 30 + 9 * len(c.name)
    return bar


def sample_grid(samples: Sequence[tuple[np.ndarray, PanopticAnnotation]], categories: CategorySet,
                cols: int = 3, tile: int = 256) -> np.ndarray:
    """A grid image, ``[H, W, 3]`` uint8 RGB: each sample as photo | overlay, ``tile`` px high,
    ``cols`` samples per row, with a colour legend underneath."""
    cells = []
    for rgb, ann in samples:
        h, w = rgb.shape[:2]
        tw = int(round(w * tile / h))
        photo = cv2.resize(rgb, (tw, tile), interpolation=cv2.INTER_AREA)
        over = cv2.resize(tint(rgb, ann, categories), (tw, tile), interpolation=cv2.INTER_AREA)
        gap = np.full((tile, 4, 3), 255, np.uint8)
        cells.append(np.concatenate([photo, gap, over], axis=1))
    cell_w = max(c.shape[1] for c in cells)
    cells = [np.pad(c, ((0, 0), (0, cell_w - c.shape[1]), (0, 0)), constant_values=255) for c in cells]
    while len(cells) % cols:
        cells.append(np.full_like(cells[0], 255))
    def pad(c: np.ndarray) -> np.ndarray:  # a white margin of 6 px around each cell
        return np.pad(c, ((6, 6), (6, 6), (0, 0)), constant_values=255)

    rows = [np.concatenate([pad(c) for c in cells[i:i + cols]], axis=1) for i in range(0, len(cells), cols)]
    grid = np.concatenate(rows, axis=0)
    return np.concatenate([grid, _legend(categories, grid.shape[1])], axis=0)
