"""Turning class maps and instance masks into panoptic annotations, and canonical segment ids.

Rules (documented here once, used by every importer and exporter):

* **Things** are split into instances by connected components (``cv2.connectedComponentsWithStats``,
  4- or 8-connectivity); components smaller than ``min_area`` pixels are treated as unlabelled.
* **Stuff** becomes one segment per class per image.
* **Unlabelled** pixels are void (0) unless a *fill* stuff class is given, which then takes them
  (and joins that class's segment if the class is also labelled). Ignored pixels (e.g. 255 in
  masks that mark borders) always stay void.
* **Overlapping instances**: ``"smaller-on-top"`` (COCO instances, binary class masks) paints in order
  of decreasing area, so a small defect inside a large region stays visible; ties go to the
  annotation listed later. ``"later-on-top"`` (labelme) keeps the drawing order of the tool.
* **Canonical segment ids** are ``1..N`` in order of category id, then of the segment's first
  pixel in row-major order (top row first, then leftmost). They depend only on the pixels and the
  classes, so the same annotation always exports identically.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.panoptic import PanopticAnnotation, Segment

#: Value of a class map pixel that must stay void whatever the fill class (e.g. a 255 border).
IGNORE = -1

SMALLER_ON_TOP = "smaller-on-top"
LATER_ON_TOP = "later-on-top"


@dataclass(frozen=True)
class SegStats:
    """Area in pixels, bbox ``[x, y, w, h]`` and first pixel ``(y, x)`` in row-major order."""

    area: int
    bbox: tuple[int, int, int, int]
    first: tuple[int, int]


def segment_table(id_map: np.ndarray) -> dict[int, SegStats]:
    """Stats of every non-void id of an ``[H, W]`` int id map, in O(H·W).

    Small ids (the usual case, and always after canonical renumbering) are used as labels
    directly; large ones are compacted with ``np.unique`` first.
    """
    from scipy import ndimage

    if id_map.size == 0:
        return {}
    labels = np.ascontiguousarray(id_map, dtype=np.int32)
    lookup = None
    if int(labels.max()) > max(1 << 16, labels.size):
        ids, inv = np.unique(labels, return_inverse=True)
        inv = inv.reshape(labels.shape).astype(np.int32)
        if ids[0] != 0:  # no void pixel: keep label 0 free for void
            ids, inv = np.concatenate([[0], ids]), inv + 1
        labels, lookup = inv, ids
    areas = np.bincount(labels.ravel())
    out: dict[int, SegStats] = {}
    for k, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        ys, xs = sl
        x_first = xs.start + int(np.argmax(labels[ys.start, xs] == k))
        seg_id = k if lookup is None else int(lookup[k])
        out[seg_id] = SegStats(int(areas[k]), (int(xs.start), int(ys.start), int(xs.stop - xs.start),
                                                int(ys.stop - ys.start)), (int(ys.start), x_first))
    return out


def canonical(ann: PanopticAnnotation) -> tuple[PanopticAnnotation, dict[int, SegStats]]:
    """Renumber segments ``1..N`` by (category id, first pixel); drop table entries without pixels.

    Returns the new annotation and its stats table (keyed by the new ids). Pixels whose id is not in
    the table must have been rejected before (``ann.validate()``); here they would become void.
    """
    stats = segment_table(ann.id_map)
    order = sorted((sid for sid in stats if sid in ann.segments),
                   key=lambda sid: (ann.segments[sid].category_id, stats[sid].first))
    old = np.array(order, dtype=np.int64)
    new_ids = np.arange(1, len(order) + 1, dtype=np.int32)
    top = int(ann.id_map.max()) if ann.id_map.size else 0
    if old.size == 0:
        id_map = np.zeros(ann.id_map.shape, np.int32)
    elif top <= max(1 << 16, ann.id_map.size):
        lut = np.zeros(top + 1, np.int32)
        lut[old] = new_ids
        id_map = lut[ann.id_map]
    else:  # huge ids: look them up in the sorted old ids instead of a table
        sorter = np.argsort(old)
        sorted_old, sorted_new = old[sorter], new_ids[sorter]
        pos = np.clip(np.searchsorted(sorted_old, ann.id_map), 0, len(old) - 1)
        id_map = np.where(sorted_old[pos] == ann.id_map, sorted_new[pos], 0).astype(np.int32)
    segments = {}
    new_stats = {}
    for new, sid in zip(new_ids.tolist(), order):
        seg = ann.segments[sid]
        segments[new] = Segment(new, seg.category_id, seg.iscrowd, seg.source, seg.score)
        new_stats[new] = stats[sid]
    return PanopticAnnotation(id_map, segments), new_stats


def is_canonical(ann: PanopticAnnotation) -> bool:
    """True when renumbering would change nothing."""
    new, _ = canonical(ann)
    return (new.segments == ann.segments) and np.array_equal(new.id_map, ann.id_map)


def from_class_map(class_map: np.ndarray, thing_ids: set[int], connectivity: int = 8, min_area: int = 0,
                   fill: int | None = None) -> tuple[PanopticAnnotation, list[str]]:
    """Panoptic annotation of a class map.

    Args:
        class_map: ``[H, W]`` int32 category ids; 0 = unlabelled, ``IGNORE`` (-1) = keep void.
        thing_ids: categories split into instances; every other id is stuff.
        connectivity: 4 or 8, for splitting things.
        min_area: thing components with fewer pixels are treated as unlabelled.
        fill: stuff category id that unlabelled pixels become (None: void).
    Returns:
        the canonical annotation and warnings (e.g. how many components were too small).
    """
    import cv2

    h, w = class_map.shape
    id_map = np.zeros((h, w), np.int32)
    segments: dict[int, Segment] = {}
    warnings: list[str] = []
    present = np.unique(class_map)
    next_id = 1
    dropped = 0
    for cid in (int(c) for c in present if c > 0):
        region = class_map == cid
        if cid in thing_ids:
            n, labels, stats, _ = cv2.connectedComponentsWithStats(region.view(np.uint8), connectivity=connectivity,
                                                                   ltype=cv2.CV_32S)
            keep = stats[1:, cv2.CC_STAT_AREA] >= max(min_area, 1)
            dropped += int((~keep).sum())
            lut = np.zeros(n, np.int32)
            lut[1:][keep] = np.arange(next_id, next_id + int(keep.sum()), dtype=np.int32)
            np.add(id_map, lut[labels], out=id_map)  # classes are disjoint: id_map is 0 there
            for sid in range(next_id, next_id + int(keep.sum())):
                segments[sid] = Segment(sid, cid)
            next_id += int(keep.sum())
        else:
            id_map[region] = next_id
            segments[next_id] = Segment(next_id, cid)
            next_id += 1
    if dropped:
        warnings.append(f"{dropped} thing component(s) smaller than {min_area} px treated as unlabelled")
    if fill is not None:
        unlabelled = (id_map == 0) & (class_map != IGNORE)
        if unlabelled.any():
            fill_seg = next((s.id for s in segments.values() if s.category_id == fill), None)
            if fill_seg is None:
                fill_seg = next_id
                segments[fill_seg] = Segment(fill_seg, fill)
            id_map[unlabelled] = fill_seg
    ann, _ = canonical(PanopticAnnotation(id_map, segments))
    return ann, warnings


@dataclass(frozen=True)
class Instance:
    """One annotated region before painting: ``mask`` ``[H, W]`` bool, its class and crowd flag."""

    mask: np.ndarray
    category_id: int
    iscrowd: bool = False
    label: str = ""  # for warnings, e.g. "annotation 17"
    group: object = None  # instances of one class sharing a group form one segment (labelme group_id)


def from_instances(shape: tuple[int, int], instances: list[Instance], thing_ids: set[int],
                   rule: str = SMALLER_ON_TOP, fill: int | None = None) -> tuple[PanopticAnnotation, list[str]]:
    """Paint possibly overlapping instance masks into one panoptic annotation.

    Things keep one segment per instance, except that instances of one class with the same
    ``group`` share a segment; all instances of a stuff class in the image become one segment
    (crowd only if all of them are). ``rule`` decides overlaps (see the module docstring).
    Returns the canonical annotation and warnings (empty or fully hidden instances).
    """
    h, w = shape
    id_map = np.zeros((h, w), np.int32)
    segments: dict[int, Segment] = {}
    warnings: list[str] = []
    areas = [int(inst.mask.sum()) for inst in instances]
    idx = list(range(len(instances)))
    if rule == SMALLER_ON_TOP:
        idx.sort(key=lambda i: (-areas[i], i))  # painted later = on top; ties: the later one on top
    elif rule != LATER_ON_TOP:
        raise ValueError(f"unknown overlap rule {rule!r}")
    stuff_seg: dict[int, int] = {}
    shared: dict[tuple, int] = {}  # (category, group) -> segment id
    owner: dict[int, int] = {}  # instance index -> segment id
    next_id = 1
    for i in idx:
        inst = instances[i]
        if areas[i] == 0:
            warnings.append(f"{inst.label or f'instance {i}'} has no pixels; skipped")
            continue
        key = None
        if inst.category_id not in thing_ids:
            key = ("stuff", inst.category_id)
        elif inst.group is not None:
            key = ("group", inst.category_id, inst.group)
        sid = shared.get(key) if key is not None else None
        if sid is None:
            sid = next_id
            next_id += 1
            segments[sid] = Segment(sid, inst.category_id, bool(inst.iscrowd))
            if key is not None:
                shared[key] = sid
                if key[0] == "stuff":
                    stuff_seg[inst.category_id] = sid
        elif segments[sid].iscrowd and not inst.iscrowd:
            segments[sid] = Segment(sid, inst.category_id, False)
        id_map[inst.mask] = sid
        owner[i] = sid
    if instances:
        present = set(np.flatnonzero(np.bincount(id_map.ravel())).tolist())
        for i, sid in owner.items():
            if sid not in present:
                warnings.append(f"{instances[i].label or f'instance {i}'} is completely covered by other "
                                f"instances ({rule})")
        segments = {k: v for k, v in segments.items() if k in present}
    if fill is not None and (id_map == 0).any():
        fill_seg = stuff_seg.get(fill) if stuff_seg.get(fill) in segments else None
        if fill_seg is None:
            fill_seg = next_id
            segments[fill_seg] = Segment(fill_seg, fill)
        id_map[id_map == 0] = fill_seg
    ann, _ = canonical(PanopticAnnotation(id_map, segments))
    return ann, warnings
