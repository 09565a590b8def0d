"""One annotation edit for a traced crack: its new pixels in, its old pixels out, a predicted
crack it was traced over replaced.

``paint_trace`` builds the id-map patch for the tracer tool's edits on an
``core.editing.AnnotationEditor`` and commits it as one ``Edit`` (one undo step):

* the pixels of the *old* trace (before a waypoint was moved or deleted) that no other trace of
  the segment covers go back to void: the crack moves, it does not grow a second copy;
* the new trace's pixels become the segment's (only void ones with ``behind``);
* ``replace_model``: a segment the model predicted (``source == "model"``, accepted into the
  annotation) of the same category that the new path runs along (half the path on it, or half
  of it within reach of the path) is removed: tracing over a predicted crack is how an
  annotator corrects it.

A predicted crack not yet accepted (the live prediction the canvas shows) is replaced the same
way, without an edit of its own: ``prediction_under_traces`` names the live prediction's
segments that the annotation's traces run along, and the GUI stops offering them (not drawn,
not accepted); the traces change with the edits' undo steps, so undo offers them again.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from core.assist.traces import Trace
from core.editing import AnnotationEditor, Edit
from core.editing.geometry import Box, box_is_empty, box_slices
from core.panoptic import SOURCE_MODEL, VOID, PanopticAnnotation, Segment

#: A predicted segment is replaced when at least this share of the new path's pixels lies on it,
#: or this share of its own pixels lies within reach of the new path ...
REPLACE_SHARE = 0.5
#: ... the reach: this many times the trace's width, at least ``MIN_REACH`` px (a prediction is
#: often a few pixels wider than the crack, and off its centre).
REACH_WIDTHS, MIN_REACH = 2.0, 6.0


def _union(*boxes: Box) -> Box:
    boxes = tuple(b for b in boxes if not box_is_empty(b))
    if not boxes:
        return (0, 0, 0, 0)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _place(box: Box, part: Box, mask: np.ndarray) -> np.ndarray:
    """``mask`` (inside ``part``) as a bool array of ``box``'s size (what lies outside is cut)."""
    out = np.zeros((box[2] - box[0], box[3] - box[1]), bool)
    y0, x0 = max(box[0], part[0]), max(box[1], part[1])
    y1, x1 = min(box[2], part[2]), min(box[3], part[3])
    if y1 > y0 and x1 > x0:
        out[y0 - box[0]:y1 - box[0], x0 - box[1]:x1 - box[1]] = \
            mask[y0 - part[0]:y1 - part[0], x0 - part[1]:x1 - part[1]]
    return out


#: Path pixels per piece when the pixels within reach of a long path are collected (each piece is
#: worked in its own box: a crack corner to corner must not cost a distance map of the photo).
PIECE = 128


def _near_path(shape: tuple[int, int], path: np.ndarray, reach: float) -> np.ndarray:
    """Flat indices (into an ``[H, W]`` map of ``shape``) of the pixels within ``reach`` of
    ``path`` ``[N, 2]`` (y, x), by OpenCV's 3x3 chamfer distance, unique and sorted."""
    import cv2

    h, w = shape
    pad = int(reach) + 1
    found = []
    for k in range(0, len(path), PIECE):
        piece = path[k:k + PIECE]
        y0, x0 = max(int(piece[:, 0].min()) - pad, 0), max(int(piece[:, 1].min()) - pad, 0)
        y1, x1 = min(int(piece[:, 0].max()) + pad + 1, h), min(int(piece[:, 1].max()) + pad + 1, w)
        free = np.ones((y1 - y0, x1 - x0), np.uint8)
        free[piece[:, 0] - y0, piece[:, 1] - x0] = 0
        ys, xs = np.nonzero(cv2.distanceTransform(free, cv2.DIST_L2, 3) <= reach)
        found.append((ys + y0) * w + (xs + x0))
    return np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)


def segments_under(id_map: np.ndarray, segments: Mapping[int, Segment], category_id: int, path: np.ndarray,
                   width: float, areas: Mapping[int, int] | None = None) -> list[int]:
    """Ids of model-predicted segments of ``category_id`` in ``id_map`` ``[H, W]`` (with its
    ``segments``) that a trace (centre ``path`` ``[N, 2]`` (y, x), ``width`` px wide) runs along:
    at least ``REPLACE_SHARE`` of the path on the segment, or that share of the segment's pixels
    within ``REACH_WIDTHS`` widths of the path. ``areas``: the segments' pixel counts when known
    (counted here otherwise, for the segments near the path only)."""
    path = np.asarray(path, np.int64).reshape(-1, 2)
    candidates = {sid for sid, seg in segments.items()
                  if seg.source == SOURCE_MODEL and seg.category_id == category_id}
    if not candidates or len(path) == 0:
        return []
    reach = max(MIN_REACH, REACH_WIDTHS * float(width))
    near_ids = id_map.ravel()[_near_path(id_map.shape, path, reach)]
    on_path = id_map[path[:, 0], path[:, 1]]
    out = []
    for sid in sorted(candidates):
        near = int(np.count_nonzero(near_ids == sid))
        if not near:
            continue
        if (on_path == sid).mean() >= REPLACE_SHARE:
            out.append(sid)
            continue
        # The segment's whole area only now (a full-map count when it is not known).
        area = areas.get(sid, 0) if areas is not None else int(np.count_nonzero(id_map == sid))
        if area and near >= REPLACE_SHARE * area:
            out.append(sid)
    return out


def predicted_under(ed: AnnotationEditor, category_id: int, path: np.ndarray, width: float) -> list[int]:
    """``segments_under`` for the accepted segments of an editor's annotation."""
    return segments_under(ed.id_map, ed.segments, category_id, path, width, ed.areas)


def prediction_under_traces(prediction: PanopticAnnotation, traces: Mapping[int, Iterable[Trace]],
                            category_of: Mapping[int, int]) -> set[int]:
    """Ids of a live prediction's segments (shown, not yet accepted) that a traced crack of the
    annotation runs along: the annotator traced over them, so they are no longer offered.

    Args:
        prediction: the model's result, ``[H, W]`` like the annotation.
        traces: ``{segment id: traces}`` of the annotation's traced cracks.
        category_of: ``{segment id: category id}`` of the annotation (a trace replaces predicted
            segments of its own segment's category only; traces of unknown segments are skipped).
    """
    out: set[int] = set()
    cats = set(category_of.values())
    if not any(seg.category_id in cats for seg in prediction.segments.values()):
        return out  # nothing the traces could cover: the map (maybe made lazily) is not read
    for sid, seg_traces in traces.items():
        if sid not in category_of:
            continue
        for trace in seg_traces:
            out.update(segments_under(prediction.id_map, prediction.segments, category_of[sid], trace.path,
                                      trace.width))
    return out


def paint_trace(ed: AnnotationEditor, name: str, target: Segment, new: tuple[Box, np.ndarray] | None,
                old: tuple[Box, np.ndarray] | None = None, keep: tuple[tuple[Box, np.ndarray], ...] = (),
                path: np.ndarray | None = None, replace_model: bool = False, behind: bool = False,
                width: float = 1.0) -> Edit | None:
    """Commit a trace's change to segment ``target`` as one edit (see the module docstring).

    Args:
        ed: the editor (changed in place; the returned ``Edit`` replays it).
        name: the undo step's name.
        target: the crack segment (an existing one, or a new one from ``paint_target``).
        new: ``(box, mask)`` of the new trace's pixels; None when the trace was deleted.
        old: ``(box, mask)`` of the trace before the change; None for a new trace.
        keep: ``(box, mask)`` of the segment's other traces: their pixels stay.
        path: the new trace's centre ``[N, 2]`` (y, x), for ``replace_model``.
        width: the new trace's width (px), for ``replace_model``.
        replace_model: remove model-predicted segments of the same category the path runs along.
        behind: the new pixels take only void pixels.
    Returns:
        The ``Edit``, or None when nothing changed.
    """
    replaced: list[int] = []
    if replace_model and new is not None and path is not None:
        replaced = [s for s in predicted_under(ed, target.category_id, path, width) if s != target.id]
    boxes = [part[0] for part in (new, old) if part is not None]
    boxes += [ed.segment_box(s) for s in replaced]
    box = _union(*boxes)
    if box_is_empty(box):
        return None
    patch = ed.id_map[box_slices(box)].copy()
    if old is not None:
        gone = _place(box, *old) & (patch == target.id)
        for kb, km in keep:
            gone &= ~_place(box, kb, km)
        patch[gone] = VOID
    for sid in replaced:
        patch[patch == sid] = VOID
    if new is not None:
        paint = _place(box, *new)
        if behind:
            paint &= (patch == VOID) | (patch == target.id)
        patch[paint] = target.id
    table: dict[int, Segment | None] = {target.id: target}
    table.update({s: None for s in replaced})
    return ed.commit_patch(name, box, patch, table)

