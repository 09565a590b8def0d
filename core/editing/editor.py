"""Editing a panoptic annotation: brush, eraser, polygon and flood fill, segment operations.

Domain logic only (no Qt): the GUI turns each operation into one undoable command. Every operation
returns an :class:`Edit` that records just what changed: the bounding box of the touched pixels,
the id-map patch inside it *before* and *after* (run-length coded, so a full-photo fill of a
24-megapixel photo costs kilobytes, not 2 x 96 MB), and the segment-table entries before and after.
``AnnotationEditor.apply`` / ``revert`` replay an edit exactly, in either direction.

Rules the editor keeps (``check()`` verifies them):

* no segment id without pixels: a segment whose last pixel is painted over or erased leaves the
  table in the same edit;
* every non-void pixel belongs to a segment of the table;
* *stuff* has one segment per category: painting stuff joins its class's segment, and turning a
  segment into a stuff category merges it into that class's segment;
* *things* get a new segment per instance unless the caller adds to the selected one.

The pixel geometry (boxes, brush capsules, polygons, similar-colour regions) lives in
``core.editing.geometry``, the live brush stroke in ``core.editing.stroke``, the run-length coded
edit record in ``core.editing.runlength``; the package re-exports what callers need.

Coordinates: ``x`` is the column, ``y`` the row. Pixel ``(x, y)`` covers the square
``[x, x + 1) x [y, y + 1)``, so its centre is ``(x + 0.5, y + 0.5)`` (the convention of a
``QGraphicsScene`` whose pixmap sits at the origin). Boxes are ``(y0, x0, y1, x1)``, end-exclusive.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from core.categories import CategorySet
from core.editing.geometry import EMPTY_BOX, Box, box_clip, box_is_empty, box_slices, mask_box, polygon_mask
from core.editing.runlength import Edit, RunLength, area_deltas, compute_areas, same_runs
from core.editing.stroke import Stroke
from core.errors import AnnotationError
from core.panoptic import SOURCE_MODEL, VOID, PanopticAnnotation, Segment

log = logging.getLogger(__name__)


#: Paint modes for things: a stroke makes a new instance, or adds to the selected one.
NEW_INSTANCE = "new"
ADD_TO_SELECTED = "add"


# --- the editor -------------------------------------------------------------------------------------
class AnnotationEditor:
    """Applies edits to one ``PanopticAnnotation`` in place and keeps per-segment areas.

    Args:
        annotation: edited in place (its ``id_map`` and ``segments``). Segments without pixels are
            dropped on construction, so the first edit starts from a valid table.
        categories: the project's categories (thing/stuff decides how painting joins segments).
        areas: ``{segment id: pixels}`` when the caller computed them already (e.g. off the GUI
            thread); computed here otherwise.
    """

    def __init__(self, annotation: PanopticAnnotation, categories: CategorySet,
                 areas: Mapping[int, int] | None = None):
        self.annotation = annotation
        self.categories = categories
        self.areas: dict[int, int] = dict(areas) if areas is not None else compute_areas(annotation.id_map)
        unknown = sorted(set(self.areas) - set(annotation.segments))
        if unknown:
            raise AnnotationError(f"segment ids {unknown[:10]} have pixels but no segment entry")
        for seg_id in [s for s in annotation.segments if s not in self.areas]:
            del annotation.segments[seg_id]

    # --- state ------------------------------------------------------------------------------------
    @property
    def id_map(self) -> np.ndarray:
        return self.annotation.id_map

    @property
    def segments(self) -> dict[int, Segment]:
        return self.annotation.segments

    @property
    def shape(self) -> tuple[int, int]:
        return self.annotation.shape

    def next_segment_id(self) -> int:
        return max(self.segments, default=0) + 1

    def stuff_segment(self, category_id: int) -> Segment | None:
        """The segment of a stuff category in this image, if any (there is at most one)."""
        for seg in self.segments.values():
            if seg.category_id == category_id:
                return seg
        return None

    def segment_box(self, segment_id: int) -> Box:
        """Tight box of one segment's pixels (an O(H·W) scan)."""
        return mask_box(self.id_map == segment_id)

    def is_thing(self, category_id: int) -> bool:
        return category_id in self.categories and self.categories.is_thing(category_id)

    def paint_target(self, category_id: int, mode: str = NEW_INSTANCE,
                     selected: int | None = None) -> Segment:
        """The segment a stroke of ``category_id`` paints into.

        Stuff always joins its class's segment. A thing gets a new segment, unless ``mode`` is
        ``ADD_TO_SELECTED`` and the selected segment has that same category.
        """
        if category_id not in self.categories:
            raise AnnotationError(f"unknown category id {category_id}")
        if not self.is_thing(category_id):
            existing = self.stuff_segment(category_id)
            return existing if existing is not None else Segment(self.next_segment_id(), category_id)
        if mode == ADD_TO_SELECTED and selected in self.segments \
                and self.segments[selected].category_id == category_id:
            return self.segments[selected]
        return Segment(self.next_segment_id(), category_id)

    def check(self) -> None:
        """Raise ``AnnotationError`` when the map, table and areas disagree (tests, debugging)."""
        self.annotation.validate()
        actual = compute_areas(self.id_map)
        if actual != self.areas:
            raise AnnotationError(f"area bookkeeping is off: {self.areas} != {actual}")

    # --- replay -----------------------------------------------------------------------------------
    def apply(self, edit: Edit) -> Box:
        """Redo ``edit`` (the annotation must be in its ``before`` state). Returns the pixel box."""
        self._write(edit.box, edit.after, edit.segments_after, area_deltas(edit.before, edit.after))
        return edit.box

    def revert(self, edit: Edit) -> Box:
        """Undo ``edit`` (the annotation must be in its ``after`` state). Returns the pixel box."""
        self._write(edit.box, edit.before, edit.segments_before, area_deltas(edit.after, edit.before))
        return edit.box

    def _write(self, box: Box, code: RunLength, segments: Mapping[int, Segment | None],
               deltas: Mapping[int, int]) -> None:
        if not box_is_empty(box):
            h, w = box[2] - box[0], box[3] - box[1]
            self.id_map[box_slices(box)] = code.decode().reshape(h, w)
        for seg_id, seg in segments.items():
            if seg is None:
                self.segments.pop(seg_id, None)
            else:
                self.segments[seg_id] = seg
        for seg_id, d in deltas.items():
            if seg_id == VOID:
                continue
            area = self.areas.get(seg_id, 0) + d
            if area:
                self.areas[seg_id] = area
            else:
                self.areas.pop(seg_id, None)

    # --- building edits ---------------------------------------------------------------------------
    def commit_patch(self, name: str, box: Box, new_patch: np.ndarray | None,
                     table: Mapping[int, Segment | None] | None = None,
                     old_patch: np.ndarray | None = None) -> Edit | None:
        """Make an edit from a new id-map patch and table changes, apply it, and return it.

        ``old_patch`` is the patch before the change when the map was already modified in place
        (a brush stroke); otherwise the current map is the "before". Segments whose pixels all go
        are removed from the table in the same edit. Returns None when nothing changed.
        """
        table = dict(table or {})
        box = box_clip(box, self.shape) if new_patch is not None else EMPTY_BOX
        if box_is_empty(box):
            before = after = RunLength.encode(np.zeros(0, np.int32))
        else:
            assert new_patch is not None  # the box is empty without a patch
            current = self.id_map[box_slices(box)]
            before = RunLength.encode(old_patch if old_patch is not None else current)
            after = RunLength.encode(new_patch)
        deltas = area_deltas(before, after)
        for seg_id in (set(deltas) | set(table)) - {VOID}:
            area = self.areas.get(seg_id, 0) + deltas.get(seg_id, 0)
            entry = table.get(seg_id, self.segments.get(seg_id))
            if area == 0:
                table[seg_id] = None  # no id without pixels: its last pixel went (or none came)
            elif entry is None:
                raise AnnotationError(f"{name}: segment id {seg_id} would keep {area} pixels but no entry")
        seg_before = {k: self.segments.get(k) for k in table}
        changed_table = {k: v for k, v in table.items() if seg_before[k] != v}
        if not deltas and not changed_table and (box_is_empty(box) or same_runs(before, after)):
            if old_patch is not None:  # nothing to undo, but the map must match the table
                self.id_map[box_slices(box)] = old_patch
            return None
        edit = Edit(name, box, before, after, {k: seg_before[k] for k in changed_table}, changed_table)
        if old_patch is None and not box_is_empty(box):
            self.id_map[box_slices(box)] = new_patch  # what apply() would decode from ``after``
        # The map holds the new patch now: bring the table and the areas along.
        self._write(EMPTY_BOX, after, edit.segments_after, deltas)
        return edit

    def paint_mask(self, name: str, box: Box, mask: np.ndarray, target: Segment | None,
                   behind: bool = False) -> Edit | None:
        """Set the pixels of ``mask`` (``[y1-y0, x1-x0]`` bool, inside ``box``) to ``target``.

        ``target`` None erases (void). ``behind`` fills only void pixels ("paint behind").
        """
        box = box_clip(box, self.shape)
        if box_is_empty(box):
            return None
        patch = self.id_map[box_slices(box)]
        mask = mask[: box[2] - box[0], : box[3] - box[1]]
        if behind and target is not None:
            mask = mask & (patch == VOID)
        if not mask.any():
            return None
        new = patch.copy()
        new[mask] = VOID if target is None else target.id
        table = {} if target is None else {target.id: target}
        return self.commit_patch(name, box, new, table)

    # --- tools ------------------------------------------------------------------------------------
    def begin_stroke(self, target: Segment | None, diameter: float, behind: bool = False,
                     name: str | None = None) -> Stroke:
        """Start a brush (``target`` a segment) or eraser (``target`` None) stroke."""
        return Stroke(self, target, diameter, behind, name)

    def fill_polygon(self, points: Sequence[tuple[float, float]], target: Segment | None,
                     behind: bool = False, name: str = "Polygon fill") -> Edit | None:
        """Fill the polygon ``[(x, y), ...]`` (scene coordinates); pixels whose centre lies inside."""
        mask, box = polygon_mask(points, self.shape)
        if mask is None:
            return None
        return self.paint_mask(name, box, mask, target, behind)

    def flood_fill(self, image: np.ndarray, seed: tuple[float, float], tolerance: float, target: Segment | None,
                   behind: bool = False, name: str = "Fill", over_defects: bool = False) -> Edit | None:
        """Fill the region of similar colour and texture around ``seed`` ``(x, y)``.

        The region is ``core.assist.grow_region``'s with GrabCut on its rim only (features of a
        smoothed photo, thin necks cut, holes filled, the rim put back on the colour edge):
        one region grower for the Fill and the region tool, and a solid region on textured
        concrete where a per-pixel colour test leaves speckles.

        Args:
            image: ``[H, W, 3]`` uint8 photo (the annotation's size).
            seed: the click in photo pixels; outside the photo nothing happens (None).
            tolerance: ``grow_region``'s tolerance (Lab units of colour and texture).
            target: the segment painted; None erases.
            behind: paint only void pixels.
            over_defects: also paint over pixels of thing segments (defects); by default a fill
                keeps them, so filling the concrete around painted cracks leaves the cracks.
        Returns:
            The ``Edit``, or None when nothing changed.
        Raises:
            AssistError: a bad photo or tolerance.
        """
        from core.assist.region import grow_region  # core.assist builds on core.editing's geometry

        x, y = float(seed[0]), float(seed[1])
        h, w = self.shape
        if not (0 <= x < w and 0 <= y < h) or image.shape[:2] != (h, w):
            return None
        # GrabCut on the rim only: a fill is mostly of the surface itself (concrete around painted
        # defects), which has no surround for GrabCut to learn from as a whole.
        mask = grow_region(image, (x, y), tolerance, rim_only=True)
        box = mask_box(mask)
        if box_is_empty(box):
            return None
        crop = mask[box_slices(box)]
        if not over_defects and target is not None:
            defects = [sid for sid, seg in self.segments.items() if sid != target.id and self.is_thing(seg.category_id)]
            if defects:
                crop = crop & ~np.isin(self.id_map[box_slices(box)], np.asarray(defects, np.int32))
        return self.paint_mask(name, box, crop, target, behind)

    def delete_segments(self, ids: Iterable[int], name: str | None = None) -> Edit | None:
        """Turn the pixels of the given segments into void and drop them from the table."""
        ids = [i for i in dict.fromkeys(ids) if i in self.segments]
        if not ids:
            return None
        box, mask = self._segments_mask(ids)
        patch = self.id_map[box_slices(box)].copy()
        patch[mask] = VOID
        name = name or (f"Delete segment {ids[0]}" if len(ids) == 1 else f"Delete {len(ids)} segments")
        return self.commit_patch(name, box, patch, {i: None for i in ids})

    def merge_segments(self, ids: Sequence[int], name: str | None = None) -> Edit | None:
        """Give every pixel of ``ids`` to the first of them (which keeps its category)."""
        ids = [i for i in dict.fromkeys(ids) if i in self.segments]
        if len(ids) < 2:
            return None
        keep, others = ids[0], ids[1:]
        box, mask = self._segments_mask(others)
        patch = self.id_map[box_slices(box)].copy()
        patch[mask] = keep
        return self.commit_patch(name or f"Merge {len(ids)} segments", box, patch, {i: None for i in others})

    def split_segment(self, segment_id: int, name: str | None = None) -> Edit | None:
        """Split a thing into its 8-connected parts: the largest keeps the id, the others get new ids.

        Raises ``AnnotationError`` for stuff (one segment per class by definition).
        """
        from scipy import ndimage

        seg = self.segments.get(segment_id)
        if seg is None:
            return None
        if not self.is_thing(seg.category_id):
            raise AnnotationError(f"segment {segment_id} is stuff: stuff stays one segment per class",
                                  hint="split only works on things (countable instances)")
        box = self.segment_box(segment_id)
        patch = self.id_map[box_slices(box)]
        labels, n = ndimage.label(patch == segment_id, structure=np.ones((3, 3), bool))
        if n < 2:
            return None
        sizes = np.bincount(labels.ravel())[1:]
        order = np.argsort(-sizes, kind="stable") + 1  # largest part first: it keeps the id
        new = patch.copy()
        table: dict[int, Segment] = {}
        next_id = self.next_segment_id()
        for label in order[1:]:
            new[labels == label] = next_id
            table[next_id] = replace(seg, id=next_id)
            next_id += 1
        return self.commit_patch(name or f"Split segment {segment_id} into {n}", box, new, table)

    def set_category(self, segment_id: int, category_id: int, name: str | None = None) -> Edit | None:
        """Change a segment's category. Into a stuff class that already has a segment, the pixels
        join that segment (stuff is one segment per class)."""
        seg = self.segments.get(segment_id)
        if seg is None or seg.category_id == category_id:
            return None
        if category_id not in self.categories:
            raise AnnotationError(f"unknown category id {category_id}")
        cat_name = self.categories.by_id(category_id).name
        name = name or f"Segment {segment_id} → {cat_name}"
        if not self.is_thing(category_id):
            existing = self.stuff_segment(category_id)
            if existing is not None:
                return self.merge_segments([existing.id, segment_id], name)
        return self.commit_patch(name, EMPTY_BOX, None, {segment_id: replace(seg, category_id=category_id)})

    def accept_prediction(self, prediction: PanopticAnnotation, ids: Iterable[int] | None = None,
                          behind: bool = False, name: str | None = None) -> Edit | None:
        """Copy predicted segments (all when ``ids`` is None) into the annotation as one edit.

        Each predicted thing becomes a new instance; predicted stuff joins the annotation's segment
        of that class. Accepted segments keep ``source="model"`` and lose their score (they are now
        ground truth). ``behind`` copies them only onto void pixels.
        """
        if prediction.shape != self.shape:
            raise AnnotationError(f"the prediction is {prediction.shape[1]}x{prediction.shape[0]} but the "
                                  f"annotation is {self.shape[1]}x{self.shape[0]}")
        chosen = [i for i in (sorted(prediction.segments) if ids is None else ids) if i in prediction.segments]
        chosen = [i for i in chosen if prediction.segments[i].category_id in self.categories]
        if not chosen:
            return None
        sel = np.isin(prediction.id_map, np.asarray(chosen, np.int32))
        box = mask_box(sel)
        if box_is_empty(box):
            return None
        pred_patch = prediction.id_map[box_slices(box)]
        sel = sel[box_slices(box)]
        new = self.id_map[box_slices(box)].copy()
        if behind:
            sel &= new == VOID
        table: dict[int, Segment] = {}
        stuff: dict[int, Segment] = {}  # category -> its one segment, so stuff of a class joins
        next_id = self.next_segment_id()
        for pid in chosen:
            pred = prediction.segments[pid]
            cat = pred.category_id
            target = None if self.is_thing(cat) else (stuff.get(cat) or self.stuff_segment(cat))
            if target is None:
                target = Segment(next_id, cat, bool(pred.iscrowd), SOURCE_MODEL, None)
                next_id += 1
            if not self.is_thing(cat):
                stuff[cat] = target
            table[target.id] = target
            new[sel & (pred_patch == pid)] = target.id
        name = name or ("Accept prediction" if ids is None else
                        f"Accept predicted segment{'s' if len(chosen) > 1 else ''}")
        return self.commit_patch(name, box, new, table)

    def _segments_mask(self, ids: Sequence[int]) -> tuple[Box, np.ndarray]:
        sel = np.isin(self.id_map, np.asarray(list(ids), np.int32))
        box = mask_box(sel)
        return box, sel[box_slices(box)]

