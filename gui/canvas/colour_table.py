"""Colours of segments on the overlay: a lookup table from segment id to premultiplied ARGB.

Pure numpy (no Qt) so it is fast and testable. Rendering an overlay tile is then two gathers:
``fill[ids]`` and, on boundary pixels, ``outline[ids]``.

* Fill: the category colour at the overlay opacity; instances of a thing category get slightly
  different shades so touching instances stay apart.
* Outline (things only): the same hue, opaque, so boundaries stay readable at any opacity.
* The selected segment is brighter and outlined in white; hidden segments are transparent.
* A prediction drawn over the annotation (``outline_only``) shows amber outlines only.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass
from collections.abc import Iterable

import numpy as np

from core.categories import CategorySet
from core.panoptic import VOID, Segment

#: Outline of predicted segments drawn over the annotation (amber: no default category uses it).
PREDICTION_OUTLINE = (255, 200, 0)

#: Above this id the table is sparse (searchsorted) instead of a dense array.
DENSE_LIMIT = 1 << 22


def argb_premultiplied(rgb: tuple[int, int, int], alpha: float) -> int:
    """``0xAARRGGBB`` with colour premultiplied by alpha (QImage.Format_ARGB32_Premultiplied)."""
    a = max(0.0, min(1.0, alpha))
    r, g, b = (int(round(c * a)) for c in rgb)
    return (int(round(a * 255)) << 24) | (r << 16) | (g << 8) | b


def instance_shade(rgb: tuple[int, int, int], index: int) -> tuple[int, int, int]:
    """The ``index``-th shade of a category colour: value steps around the base (0 = the base)."""
    if index == 0:
        return rgb
    h, s, v = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
    step = ((index * 0.618033988749895) % 1.0) - 0.5  # in [-0.5, 0.5), well spread
    v = min(1.0, max(0.25, v + 0.45 * step))
    s = min(1.0, max(0.0, s + 0.2 * step))
    r, g, b = (int(round(c * 255)) for c in colorsys.hsv_to_rgb(h, s, v))
    return r, g, b


@dataclass(frozen=True)
class OverlayStyle:
    """How the overlay looks. ``opacity`` of the fill in [0, 1]; outlines are always opaque."""

    opacity: float = 0.45
    outlines: bool = True
    shade_instances: bool = True
    outline_only: bool = False  # e.g. predictions drawn over an annotation


class ColourTable:
    """Segment id -> fill / outline colour (uint32 premultiplied ARGB).

    Args:
        segments: the segments to colour; ids not in it render transparent.
        categories: colours and thing/stuff flags (unknown categories render grey).
        style: opacity and options.
        selected: segment ids drawn highlighted.
        hidden: segment ids not drawn.
    """

    def __init__(self, segments: Iterable[Segment], categories: CategorySet, style: OverlayStyle = OverlayStyle(),
                 selected: Iterable[int] = (), hidden: Iterable[int] = ()):
        segs = sorted(segments, key=lambda s: s.id)
        selected, hidden = set(selected), set(hidden)
        colours = {c.id: c.color for c in categories}
        things = {c.id for c in categories if c.isthing}
        per_cat: dict[int, int] = {}
        ids = np.array([s.id for s in segs], np.int64)
        fill = np.zeros(len(segs), np.uint32)
        line = np.zeros(len(segs), np.uint32)
        fill_alpha = 0.0 if style.outline_only else style.opacity
        for k, s in enumerate(segs):
            if s.id in hidden:
                continue
            rgb = colours.get(s.category_id, (128, 128, 128))
            if style.shade_instances and s.category_id in things:
                n = per_cat.get(s.category_id, 0)
                per_cat[s.category_id] = n + 1
                rgb = instance_shade(rgb, n)
            outlined = style.outlines or style.outline_only
            if s.id in selected:
                fill[k] = argb_premultiplied(rgb, min(1.0, fill_alpha + 0.3) if not style.outline_only else 0.25)
                line[k] = argb_premultiplied((255, 255, 255), 1.0)
            elif style.outline_only:
                # Drawn over the annotation: one colour that no category uses, so a predicted
                # boundary is never mistaken for an annotated one.
                fill[k] = 0
                line[k] = argb_premultiplied(PREDICTION_OUTLINE, 1.0)
            elif s.category_id in things:
                fill[k] = argb_premultiplied(rgb, fill_alpha)
                line[k] = argb_premultiplied(rgb, 1.0) if outlined else fill[k]
            else:
                # Stuff (concrete, background) surrounds the defects: outlining it would draw a
                # second ring around every crack. Its extent shows by its fill.
                fill[k] = argb_premultiplied(rgb, fill_alpha)
                line[k] = fill[k]
        self.style = style
        self.ids = ids
        self.colours = {int(i): (int(f), int(o)) for i, f, o in zip(ids, fill, line)}
        top = int(ids.max()) if ids.size else 0
        self._dense = top < DENSE_LIMIT
        if self._dense:
            # One extra transparent entry at the end catches ids beyond the table (a stroke's new
            # segment before it enters the table is given explicitly in ``segments``).
            self._fill = np.zeros(top + 2, np.uint32)
            self._line = np.zeros(top + 2, np.uint32)
            self._fill[ids] = fill
            self._line[ids] = line
        else:
            self._fill_sparse = np.append(fill, np.uint32(0))
            self._line_sparse = np.append(line, np.uint32(0))

    def _index(self, id_patch: np.ndarray) -> np.ndarray:
        if self._dense:
            return np.minimum(id_patch, len(self._fill) - 1)
        pos = np.searchsorted(self.ids, id_patch)
        pos = np.minimum(pos, len(self.ids))
        hit = np.zeros(id_patch.shape, bool)
        inside = pos < len(self.ids)
        hit[inside] = self.ids[pos[inside]] == id_patch[inside]
        return np.where(hit, pos, len(self.ids))

    def render(self, ids_with_margin: np.ndarray) -> np.ndarray:
        """Colour a tile. ``ids_with_margin``: ``[h + 2, w + 2]`` ids (one pixel of neighbours on
        each side, edge-replicated at the image border). Returns ``[h, w]`` uint32 ARGB32PM."""
        core = ids_with_margin[1:-1, 1:-1]
        idx = self._index(core)
        fill_lut = self._fill if self._dense else self._fill_sparse
        out = fill_lut[idx]
        if self.style.outlines or self.style.outline_only:
            edge = ((core != ids_with_margin[:-2, 1:-1]) | (core != ids_with_margin[2:, 1:-1])
                    | (core != ids_with_margin[1:-1, :-2]) | (core != ids_with_margin[1:-1, 2:]))
            edge &= core != VOID
            if edge.any():
                line_lut = self._line if self._dense else self._line_sparse
                out[edge] = line_lut[idx[edge]]
        return out


def sample_with_margin(id_map: np.ndarray, y0: int, x0: int, y1: int, x1: int, step: int) -> np.ndarray:
    """Ids of level-``step`` pixels covering image rows ``y0:y1`` / cols ``x0:x1`` (nearest sampling,
    every ``step``-th pixel), with a one-sample margin, edge-replicated. ``[h + 2, w + 2]`` int32."""
    h, w = id_map.shape
    if step == 1:
        # Full resolution (zoomed in, where painting happens): plain slices, padded at the border.
        ys0, xs0, ys1, xs1 = max(0, y0 - 1), max(0, x0 - 1), min(h, y1 + 1), min(w, x1 + 1)
        block = id_map[ys0:ys1, xs0:xs1]
        pad = ((ys0 - (y0 - 1), (y1 + 1) - ys1), (xs0 - (x0 - 1), (x1 + 1) - xs1))
        return np.pad(block, pad, mode="edge") if any(a or b for a, b in pad) else block
    rows = np.clip(np.arange(y0 - step, y1 + step, step), 0, h - 1)
    cols = np.clip(np.arange(x0 - step, x1 + step, step), 0, w - 1)
    # Two fancy-index gathers on small index vectors: cheap for a 256 x 256 tile.
    return id_map[rows[:, None], cols[None, :]]


def sample_expanded(small: np.ndarray, shape: tuple[int, int], y0: int, x0: int, y1: int, x1: int,
                    step: int) -> np.ndarray:
    """``sample_with_margin(expand_nearest(small, *shape), ...)`` read from ``small`` (``[h, w]``
    ids) without making the full-size map: each full-size row / column is mapped to its small one
    with ``core.inference.result.expand_nearest``'s rule (``src = floor(dst * h / H)``, the same
    float arithmetic, so the same ids). ``[rows + 2, cols + 2]`` int32."""
    height, width = shape
    h, w = small.shape
    if step == 1:
        rows = np.clip(np.arange(y0 - 1, y1 + 1), 0, height - 1)
        cols = np.clip(np.arange(x0 - 1, x1 + 1), 0, width - 1)
    else:
        rows = np.clip(np.arange(y0 - step, y1 + step, step), 0, height - 1)
        cols = np.clip(np.arange(x0 - step, x1 + step, step), 0, width - 1)
    rs = np.minimum((rows * (h / height)).astype(np.int64), h - 1)
    cs = np.minimum((cols * (w / width)).astype(np.int64), w - 1)
    return small[rs[:, None], cs[None, :]].astype(np.int32, copy=False)
