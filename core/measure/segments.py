"""Measure every segment of a photo: the figures behind the measurements table, tooltips and report.

``measure_annotation`` crops each segment to its bounding box (one ``find_objects`` pass over
the id map) and measures it by the role of its category (``roles.py``): centreline figures for
cracks and rebar, area figures for everything. Results are ``Measurement`` records
(``measurement.py``) holding pixel figures plus the photo's scale.

Defects (things, and stuff whose role is a defect role) are numbered 1..n per photo in the order
of the category table, then by size (longest crack, largest spalling first): the numbers drawn on
the report's overlay. Surfaces (concrete, background) get no number but keep their area share.
"""
from __future__ import annotations

from dataclasses import replace
from collections.abc import Iterable, Mapping

import numpy as np

from core.calibration import Calibration
from core.categories import CategorySet
from core.errors import AnnotationError, CancelledError
from core.measure.cracks import LinearFigures, measure_linear
from core.measure.measurement import Measurement
from core.measure.regions import measure_region
from core.measure.roles import Role, role_for
from core.panoptic import VOID, PanopticAnnotation, Segment
from core.progress import CancelFlag, ProgressFn


#: Ids up to this bound are used as ``find_objects`` labels directly; larger ones (COCO files with
#: ids like ``category * 1000 + n`` or RGB-packed ids) are compacted first.
_DIRECT_ID_LIMIT = 1 << 22


def segment_boxes(id_map: np.ndarray, seg_ids: Iterable[int]) -> dict[int, tuple[slice, slice]]:
    """``{segment id: (rows, cols) slices of its bounding box}`` for the ids present in the map.

    One ``find_objects`` pass over the ``[H, W]`` id map; ids absent from the map are left out.
    """
    from scipy import ndimage

    seg_ids = sorted(int(i) for i in seg_ids if int(i) != VOID)
    if not seg_ids:
        return {}
    top = int(id_map.max(initial=0))
    if top < _DIRECT_ID_LIMIT and int(id_map.min(initial=0)) >= 0:
        labels, lab_of = id_map, {i: i for i in seg_ids}
    else:
        lut = np.asarray(seg_ids, np.int64)
        pos = np.searchsorted(lut, id_map)
        hit = lut[np.minimum(pos, len(lut) - 1)] == id_map
        labels = np.where(hit, pos + 1, 0).astype(np.int32)
        lab_of = {sid: k + 1 for k, sid in enumerate(seg_ids)}
    slices = ndimage.find_objects(labels)
    out = {}
    for sid in seg_ids:
        lab = lab_of[sid]
        if lab - 1 < len(slices) and slices[lab - 1] is not None:
            out[sid] = slices[lab - 1]
    return out


def at_threshold(annotation: PanopticAnnotation, threshold: float | None) -> PanopticAnnotation:
    """A prediction at a confidence threshold: segments scoring below it become void.

    Segments without a score (manual ones) are kept. ``threshold=None`` returns the input.
    """
    if threshold is None:
        return annotation
    drop = [sid for sid, seg in annotation.segments.items() if seg.score is not None and seg.score < threshold]
    if not drop:
        return annotation
    id_map = np.where(np.isin(annotation.id_map, drop), VOID, annotation.id_map).astype(np.int32)
    return PanopticAnnotation(id_map, {k: v for k, v in annotation.segments.items() if k not in drop})


def _measure_one(crop: np.ndarray, seg: Segment, sl: tuple[slice, slice], area: int, categories: CategorySet,
                 roles: Mapping | None, image_size: tuple[int, int], mm: float | None) -> Measurement:
    cat = categories.by_id(seg.category_id)
    role = role_for(cat, roles)
    y0, x0 = sl[0].start, sl[1].start
    bbox = (int(x0), int(y0), int(sl[1].stop - x0), int(sl[0].stop - y0))
    defect = cat.isthing or role != Role.REGION
    region = measure_region(crop, area, with_anchor=defect and not role.linear)
    lin = measure_linear(crop) if role.linear else None
    local = lin.anchor_xy if lin else region.anchor_xy
    anchor = None if local is None else (local[0] + x0, local[1] + y0)
    return Measurement(
        segment_id=int(seg.id), category_id=int(cat.id), category_name=cat.name, role=role,
        isthing=bool(cat.isthing), iscrowd=bool(seg.iscrowd), score=seg.score, source=seg.source,
        image_size=image_size, area_px=area, bbox_px=bbox, anchor_xy=anchor,
        equivalent_diameter_px=region.equivalent_diameter, major_axis_px=region.major_axis,
        length_px=lin.length if lin else None, max_width_px=lin.max_width if lin else None,
        mean_width_px=lin.mean_width if lin else None, orientation_deg=lin.orientation_deg if lin else None,
        mm_per_pixel=mm, **(_mask_width(lin) if lin and role == Role.CRACK else {}))


def _mask_width(lin: LinearFigures) -> dict:
    """A crack's width fields when only its mask is known (no photo to read)."""
    return {"width_px": lin.mean_width, "width_method": "mask", "mask_width_px": lin.mean_width}


def _size_key(m: Measurement) -> float:
    return m.length_px if m.length_px is not None else float(m.area_px)


def number_defects(measurements: Iterable[Measurement], categories: CategorySet) -> list[Measurement]:
    """Sort (defects first, by category order then size, largest first) and number the defects."""
    order = {cid: k for k, cid in enumerate(categories.ids)}
    items = sorted(measurements, key=lambda m: (not m.is_defect, order.get(m.category_id, len(order)),
                                                -_size_key(m), m.segment_id))
    out, n = [], 0
    for m in items:
        if m.is_defect:
            n += 1
            out.append(replace(m, label=n))
        else:
            out.append(replace(m, label=None))
    return out


def measure_annotation(annotation: PanopticAnnotation, categories: CategorySet,
                       calibration: Calibration | None = None, *, roles: Mapping | None = None,
                       min_score: float | None = None, progress: ProgressFn | None = None,
                       cancel: CancelFlag | None = None, image: np.ndarray | None = None) -> list[Measurement]:
    """Measure every segment of one photo's annotation (or prediction).

    Args:
        annotation: ``[H, W]`` int32 id map + segment table (ground truth or a prediction).
        categories: the project's categories (roles come from their names, see ``roles.py``).
        calibration: the photo's scale; None gives figures in pixels.
        roles: overrides ``{category id or name: Role}``.
        min_score: for predictions, the confidence threshold (see ``at_threshold``).
        progress: ``progress(done, total, message)`` after each segment.
        cancel: stops with ``CancelledError`` between segments when ``cancel.is_set()``.
        image: the photo (``[H, W]`` grey or ``[H, W, 3]`` RGB): crack widths are then read from
            it (``with_photo_widths``), else counted from the masks.
    Returns:
        Measurements sorted and numbered as ``number_defects`` does.
    Raises:
        AnnotationError: a segment's category is not in ``categories``, or ``image`` has another
            size than the annotation.
    """
    ann = at_threshold(annotation, min_score)
    h, w = ann.shape
    boxes = segment_boxes(ann.id_map, ann.segments)
    mm = None if calibration is None else calibration.mm_per_pixel
    out = []
    total = len(boxes)
    for k, (sid, sl) in enumerate(boxes.items()):
        if cancel is not None and cancel.is_set():
            raise CancelledError("measuring cancelled")
        seg = ann.segments[sid]
        if seg.category_id not in categories:
            raise AnnotationError(f"segment {sid} has category id {seg.category_id}, which is not in the "
                                  f"category table {categories.ids}")
        crop = ann.id_map[sl] == sid
        out.append(_measure_one(crop, seg, sl, int(np.count_nonzero(crop)), categories, roles, (w, h), mm))
        if progress is not None:
            progress(k + 1, total, "")
    if image is not None:
        from core.measure.photo_widths import with_photo_widths

        out = with_photo_widths(out, ann.id_map, image, cancel)
    return number_defects(out, categories)


def measure_segment(annotation: PanopticAnnotation, segment_id: int, categories: CategorySet,
                    calibration: Calibration | None = None, *, roles: Mapping | None = None,
                    image: np.ndarray | None = None) -> Measurement:
    """Figures of one segment (e.g. for a tooltip); ``label`` is None (numbers need the photo).
    With ``image`` (the photo), a crack's width is read from it (without other cracks to borrow
    an interior contrast from: see ``with_photo_widths`` for the whole photo).

    Raises:
        AnnotationError: no such segment, or it has no pixels.
    """
    seg = annotation.segments.get(int(segment_id))
    if seg is None:
        raise AnnotationError(f"no segment with id {segment_id}")
    rows = np.flatnonzero((annotation.id_map == segment_id).any(1))
    if rows.size == 0:
        raise AnnotationError(f"segment {segment_id} has no pixels")
    band = annotation.id_map[rows[0]:rows[-1] + 1] == segment_id
    cols = np.flatnonzero(band.any(0))
    sl = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
    crop = band[:, sl[1]]
    h, w = annotation.shape
    if seg.category_id not in categories:
        raise AnnotationError(f"segment {segment_id} has category id {seg.category_id}, which is not in "
                              f"the category table {categories.ids}")
    mm = None if calibration is None else calibration.mm_per_pixel
    m = _measure_one(crop, seg, sl, int(crop.sum()), categories, roles, (w, h), mm)
    if image is None:
        return m
    from core.measure.photo_widths import with_photo_widths

    return with_photo_widths([m], annotation.id_map, image)[0]
