"""A brush or eraser stroke: painted live into the id map, closed into one undoable ``Edit``."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.editing.geometry import EMPTY_BOX, Box, box_is_empty, box_slices, box_union, capsule_mask
from core.panoptic import VOID, Segment

if TYPE_CHECKING:
    from core.editing.editor import AnnotationEditor
    from core.editing.runlength import Edit


class Stroke:
    """A brush or eraser stroke painted live into the id map, then closed into one ``Edit``.

    The map changes as the mouse moves (so the canvas can repaint just the touched box); the
    previous content of every touched tile is kept so ``finish()`` can build the undo record of
    the union box. Use ``AnnotationEditor.begin_stroke``.
    """

    TILE = 128

    def __init__(self, editor: AnnotationEditor, target: Segment | None, diameter: float, behind: bool,
                 name: str | None):
        self.editor = editor
        self.target = target
        self.radius = max(float(diameter), 1.0) / 2.0
        self.behind = behind and target is not None
        self.name = name or ("Eraser stroke" if target is None else "Brush stroke")
        self._value = VOID if target is None else target.id
        self._saved: dict[tuple[int, int], np.ndarray] = {}
        self._box: Box = EMPTY_BOX
        self._last: tuple[float, float] | None = None
        self._finished = False

    @property
    def box(self) -> Box:
        return self._box

    def move_to(self, x: float, y: float) -> Box:
        """Paint from the previous point (or a dab at the first) to ``(x, y)``; returns the box changed."""
        if self._finished:
            raise RuntimeError("the stroke is finished")
        p0 = self._last if self._last is not None else (x, y)
        self._last = (x, y)
        mask, box = capsule_mask(p0, (x, y), self.radius, self.editor.shape)
        if mask is None:
            return EMPTY_BOX
        self._save_tiles(box)
        patch = self.editor.id_map[box_slices(box)]
        if self.behind:
            mask &= patch == VOID
        else:
            mask &= patch != self._value
        if not mask.any():
            return EMPTY_BOX
        patch[mask] = self._value
        self._box = box_union(self._box, box)
        return box

    def _save_tiles(self, box: Box) -> None:
        t = self.TILE
        id_map = self.editor.id_map
        for ty in range(box[0] // t, (box[2] - 1) // t + 1):
            for tx in range(box[1] // t, (box[3] - 1) // t + 1):
                if (ty, tx) not in self._saved:
                    self._saved[(ty, tx)] = id_map[ty * t:(ty + 1) * t, tx * t:(tx + 1) * t].copy()

    def _patch_before(self, box: Box) -> np.ndarray:
        t = self.TILE
        out = self.editor.id_map[box_slices(box)].copy()
        for (ty, tx), tile in self._saved.items():
            y0, x0 = ty * t, tx * t
            y1, x1 = y0 + tile.shape[0], x0 + tile.shape[1]
            oy0, ox0, oy1, ox1 = max(y0, box[0]), max(x0, box[1]), min(y1, box[2]), min(x1, box[3])
            if oy1 > oy0 and ox1 > ox0:
                out[oy0 - box[0]:oy1 - box[0], ox0 - box[1]:ox1 - box[1]] = \
                    tile[oy0 - y0:oy1 - y0, ox0 - x0:ox1 - x0]
        return out

    def finish(self) -> Edit | None:
        """Close the stroke into one applied ``Edit`` (None when it changed nothing)."""
        if self._finished:
            raise RuntimeError("the stroke is finished")
        self._finished = True
        if box_is_empty(self._box):
            return None
        before = self._patch_before(self._box)
        after = self.editor.id_map[box_slices(self._box)].copy()
        table = {} if self.target is None else {self.target.id: self.target}
        return self.editor.commit_patch(self.name, self._box, after, table, old_patch=before)

    def cancel(self) -> Box:
        """Put back what the stroke painted; returns the box to repaint."""
        if not self._finished and not box_is_empty(self._box):
            self.editor.id_map[box_slices(self._box)] = self._patch_before(self._box)
        self._finished = True
        return self._box
