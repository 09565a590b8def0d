"""A panoptic annotation drawn over the photo, in tiles rendered from the id map on demand.

The id map stays the single source of truth: a tile of 256 x 256 level pixels is coloured with
``ColourTable`` when it first becomes visible and cached (least recently used first out). An edit
touches only the tiles its box overlaps: at the level on screen just the changed rectangle of each
is coloured again, in place; other levels' tiles are dropped and made when next needed. So a brush
dab on a 24-megapixel photo costs about its own area, never the whole overlay. Levels: level ``k``
samples every ``2**k``-th pixel (nearest, so ids are never blended) and is used when zoomed out to
``2**-k`` or below.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from core.categories import CategorySet
from core.editing import Box
from core.panoptic import PanopticAnnotation, Segment
from gui.canvas.colour_table import ColourTable, OverlayStyle, sample_expanded, sample_with_margin
from gui.canvas.overlay_diff import changed_boxes

TILE = 256
MAX_TILES = 320  # ~80 MB of tiles at most
_DEFAULT_STYLE = OverlayStyle()  # frozen: one shared default is safe


@dataclass(frozen=True)
class ExpandedFrom:
    """What an annotation's id map was made from: ``expand_nearest(small, H, W)`` of
    ``core.inference.result`` (``small``: ``[h, w]`` integer ids at the model's size), equal to it
    everywhere except, when ``redrawn`` is a box ``(y0, x0, y1, x1)``, inside that box (thin
    segments redrawn at full resolution)."""

    small: np.ndarray
    redrawn: Box | None = None


class AnnotationItem(QGraphicsItem):
    """Shows ``annotation`` with ``categories`` colours.

    The item reads ``annotation.id_map`` live; after changing it call ``invalidate(box)``.
    """

    def __init__(self, annotation: PanopticAnnotation, categories: CategorySet,
                 style: OverlayStyle = _DEFAULT_STYLE, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setZValue(10)
        self._ann = annotation
        self._categories = categories
        self._style = style
        self._selected: frozenset[int] = frozenset()
        self._hidden: frozenset[int] = frozenset()
        self._extra: tuple[Segment, ...] = ()
        # (level, ty, tx) -> [QImage over argb, argb [h, w] uint32, dirty (y0, x0, y1, x1) in level px or None]
        self._tiles: OrderedDict[tuple[int, int, int], list] = OrderedDict()
        self._level = 0  # the level last painted
        self._table: ColourTable | None = None
        self.tiles_rendered = 0  # for benchmarks and tests
        self.source: ExpandedFrom | None = None  # set by swap_annotation's callers, see there

    # --- inputs ---------------------------------------------------------------------------------
    @property
    def annotation(self) -> PanopticAnnotation:
        return self._ann

    def set_annotation(self, annotation: PanopticAnnotation) -> None:
        self.prepareGeometryChange()
        self._ann = annotation
        self._restyle()

    def swap_annotation(self, annotation: PanopticAnnotation, source: ExpandedFrom | None) -> bool:
        """Show ``annotation``, made from ``source``, in place of the current one when both come
        from small maps of the same size: only the places that look different are coloured again
        (a confidence slider move changes a few segments; re-rendering every visible tile of a
        12-megapixel overlay took ~0.1 s). Returns False, changing nothing, when that cannot be
        known (the caller then shows the annotation afresh)."""
        old = self.source
        if (old is None or source is None or annotation.shape != self._ann.shape
                or old.small.shape != source.small.shape):
            return False
        old_colours = self.table().colours
        self._ann, self.source, self._table = annotation, source, None
        boxes = changed_boxes(old.small, source.small, old_colours, self.table().colours, annotation.shape)
        boxes += [b for b in (old.redrawn, source.redrawn) if b is not None]
        for box in boxes:
            self.invalidate(box)
        return True

    def set_categories(self, categories: CategorySet) -> None:
        self._categories = categories
        self._restyle()

    @property
    def style(self) -> OverlayStyle:
        return self._style

    def set_style(self, style: OverlayStyle) -> None:
        if style != self._style:
            self._style = style
            self._restyle()

    def set_selected(self, ids) -> None:
        ids = frozenset(ids)
        if ids != self._selected:
            self._selected = ids
            self._restyle()

    def set_hidden(self, ids) -> None:
        ids = frozenset(ids)
        if ids != self._hidden:
            self._hidden = ids
            self._restyle()

    def set_extra_segments(self, segments: tuple[Segment, ...]) -> None:
        """Segments painted in the map but not yet in the table (a stroke in progress)."""
        if tuple(segments) != self._extra:
            self._extra = tuple(segments)
            self._table = None  # colours change; tiles of the stroke are invalidated as it paints

    def segments_changed(self) -> None:
        """The table changed (added/removed/recategorised segments): recolour everything."""
        self._restyle()

    def _restyle(self) -> None:
        self._table = None
        self._tiles.clear()
        self.update()

    def table(self) -> ColourTable:
        if self._table is None:
            segs = dict(self._ann.segments)
            for s in self._extra:
                segs.setdefault(s.id, s)
            self._table = ColourTable(segs.values(), self._categories, self._style, self._selected, self._hidden)
        return self._table

    # --- invalidation ---------------------------------------------------------------------------
    def invalidate(self, box: Box | None = None) -> None:
        """Pixels inside ``box`` (y0, x0, y1, x1) changed; None = everything."""
        if box is None:
            self._tiles.clear()
            self.update()
            return
        y0, x0, y1, x1 = box
        if y1 <= y0 or x1 <= x0:
            return
        for key in list(self._tiles):
            level, ty, tx = key
            step = 1 << level
            span = TILE * step
            # Outlines look one level pixel beyond a change: widen by one step on each side.
            ly0 = max(0, (y0 - step - ty * span) // step)
            lx0 = max(0, (x0 - step - tx * span) // step)
            ly1 = min(TILE, -(-(y1 + step - ty * span) // step))
            lx1 = min(TILE, -(-(x1 + step - tx * span) // step))
            if ly1 <= ly0 or lx1 <= lx0:
                continue
            if level != self._level:
                del self._tiles[key]
                continue
            entry = self._tiles[key]
            d = entry[2]
            entry[2] = (ly0, lx0, ly1, lx1) if d is None else (min(d[0], ly0), min(d[1], lx0),
                                                              max(d[2], ly1), max(d[3], lx1))
        self.update(QRectF(x0 - 2, y0 - 2, x1 - x0 + 4, y1 - y0 + 4))

    # --- painting -------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        h, w = self._ann.shape
        return QRectF(0, 0, w, h)

    def _tile(self, level: int, ty: int, tx: int) -> QImage:
        key = (level, ty, tx)
        step = 1 << level
        span = TILE * step
        h, w = self._ann.shape
        y0, x0 = ty * span, tx * span
        entry = self._tiles.get(key)
        if entry is not None:
            self._tiles.move_to_end(key)
            if entry[2] is not None:  # colour the changed rectangle again, in place
                ly0, lx0, ly1, lx1 = entry[2]
                argb = entry[1]
                ly1, lx1 = min(ly1, argb.shape[0]), min(lx1, argb.shape[1])
                if ly1 > ly0 and lx1 > lx0:
                    ids = self._sample(y0 + ly0 * step, x0 + lx0 * step,
                                       min(h, y0 + ly1 * step), min(w, x0 + lx1 * step), step)
                    argb[ly0:ly1, lx0:lx1] = self.table().render(ids)[: ly1 - ly0, : lx1 - lx0]
                entry[2] = None
            return entry[0]
        y1, x1 = min(h, y0 + span), min(w, x0 + span)
        ids = self._sample(y0, x0, y1, x1, step)
        argb = np.ascontiguousarray(self.table().render(ids))
        img = QImage(argb.data, argb.shape[1], argb.shape[0], argb.strides[0],
                     QImage.Format.Format_ARGB32_Premultiplied)
        img._keep = argb  # type: ignore[attr-defined]  # a PySide object takes Python attributes
        self._tiles[key] = [img, argb, None]
        self.tiles_rendered += 1
        while len(self._tiles) > MAX_TILES:
            self._tiles.popitem(last=False)
        return img

    def _sample(self, y0: int, x0: int, y1: int, x1: int, step: int) -> np.ndarray:
        """``sample_with_margin`` of the id map; from the small map it was expanded from when that
        is known (the same ids: a slider's result is on screen before its 12 MP map is made)."""
        src = self.source
        if src is None or src.redrawn is not None:
            return sample_with_margin(self._ann.id_map, y0, x0, y1, x1, step)
        return sample_expanded(src.small, self._ann.shape, y0, x0, y1, x1, step)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        r = option.exposedRect.intersected(self.boundingRect())
        if r.isEmpty():
            return
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        level = max(0, int(math.floor(math.log2(1.0 / lod)))) if lod < 1 else 0
        self._level = level
        step = 1 << level
        span = TILE * step
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        for ty in range(int(r.top()) // span, int(math.ceil(r.bottom())) // span + 1):
            for tx in range(int(r.left()) // span, int(math.ceil(r.right())) // span + 1):
                if ty * span >= self._ann.shape[0] or tx * span >= self._ann.shape[1]:
                    continue
                img = self._tile(level, ty, tx)
                painter.drawImage(QRectF(tx * span, ty * span, img.width() * step, img.height() * step), img)
