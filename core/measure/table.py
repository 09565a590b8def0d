"""Measure every segment of a photo: the figures behind the measurements table, tooltips and report.

``measure_annotation`` crops each segment to its bounding box (one ``find_objects`` pass over
the id map) and measures it by the role of its category (``roles.py``): centreline figures for
cracks and rebar, area figures for everything. Results are ``Measurement`` records holding
pixel figures plus the photo's scale; the unit-bearing properties (``length``, ``area``, ...)
give millimetres when the photo is calibrated and pixels otherwise, and ``unit`` / ``area_unit``
say which.

Defects (things, and stuff whose role is a defect role) are numbered 1..n per photo in the order
of the category table, then by size (longest crack, largest spalling first): the numbers drawn on
the report's overlay. Surfaces (concrete, background) get no number but keep their area share.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from collections.abc import Iterable, Mapping, Sequence
from typing import overload

import numpy as np

from core.calibration import AREA_UNITS, UNIT_MM, UNIT_PX, Calibration
from core.categories import CategorySet
from core.errors import AnnotationError, CancelledError
from core.measure.cracks import measure_linear
from core.measure.regions import measure_region
from core.measure.roles import Role, role_for
from core.panoptic import VOID, PanopticAnnotation
from core.progress import CancelFlag, ProgressFn





@dataclass(frozen=True)
class Measurement:
    """The figures of one segment. Pixel figures are stored; unit figures are properties.

    Attributes:
        segment_id, category_id, category_name, role, isthing, iscrowd, score, source: from
            the segment and its category (``score`` only for predictions).
        label: the defect's number on the photo (None for surfaces).
        image_size: ``(width, height)`` of the photo in px.
        area_px: pixel count; bbox_px: ``(x, y, w, h)`` in px (COCO convention).
        anchor_xy: ``(x, y)`` px, a point inside the segment for labels and tooltips.
        equivalent_diameter_px, major_axis_px: see ``regions.py``.
        length_px, max_width_px, mean_width_px, orientation_deg: linear roles only, else None.
            For cracks measured with their photo, the widths are read from the photo's grey
            profile (``profile_width``), else counted from the mask (``cracks``).
        width_px: a crack's typical width (median along it), width_spread_px: its spread along
            the crack (interquartile range: the uncertainty shown beside it), width_method: how it
            was read (``profile_width.METHOD_*``; ``"mask"`` when counted from the mask), max_xy:
            where the maximum width is (px). Cracks only, else None.
        mask_width_px: the mask-count mean width (area / length) of a crack, kept for comparison.
        width_low_px, width_high_px: for a thin crack whose interior's contrast could not be
            read (``profile-range``), the widths at both ends of the contrasts its profiles allow:
            the width's real uncertainty; None otherwise.
        mm_per_pixel: the photo's scale, None when not calibrated.
    """

    segment_id: int
    category_id: int
    category_name: str
    role: Role
    isthing: bool
    iscrowd: bool
    score: float | None
    source: str
    image_size: tuple[int, int]
    area_px: int
    bbox_px: tuple[int, int, int, int]
    anchor_xy: tuple[float, float] | None
    equivalent_diameter_px: float
    major_axis_px: float
    length_px: float | None = None
    max_width_px: float | None = None
    mean_width_px: float | None = None
    orientation_deg: float | None = None
    mm_per_pixel: float | None = None
    label: int | None = None
    width_px: float | None = None
    width_spread_px: float | None = None
    width_method: str | None = None
    max_xy: tuple[float, float] | None = None
    mask_width_px: float | None = None
    width_low_px: float | None = None
    width_high_px: float | None = None

    # --- units ----------------------------------------------------------------------------------
    @property
    def calibrated(self) -> bool:
        return self.mm_per_pixel is not None

    @property
    def unit(self) -> str:
        """``"mm"`` when calibrated, else ``"px"``: the unit of every length property."""
        return UNIT_MM if self.calibrated else UNIT_PX

    @property
    def area_unit(self) -> str:
        return AREA_UNITS[self.unit]

    @overload
    def _len(self, px: float) -> float: ...
    @overload
    def _len(self, px: float | None) -> float | None: ...

    def _len(self, px: float | None) -> float | None:
        return None if px is None else float(px) * (self.mm_per_pixel or 1.0)

    @property
    def length(self) -> float | None:
        return self._len(self.length_px)

    @property
    def max_width(self) -> float | None:
        return self._len(self.max_width_px)

    @property
    def mean_width(self) -> float | None:
        return self._len(self.mean_width_px)

    @property
    def width(self) -> float | None:
        return self._len(self.width_px)

    @property
    def width_spread(self) -> float | None:
        return self._len(self.width_spread_px)

    @property
    def width_low(self) -> float | None:
        return self._len(self.width_low_px)

    @property
    def width_high(self) -> float | None:
        return self._len(self.width_high_px)

    @property
    def equivalent_diameter(self) -> float:
        return self._len(self.equivalent_diameter_px)

    @property
    def major_axis(self) -> float:
        return self._len(self.major_axis_px)

    @property
    def area(self) -> float:
        return float(self.area_px) * (self.mm_per_pixel or 1.0) ** 2

    @property
    def bbox_size(self) -> tuple[float, float]:
        """Bounding-box width and height in ``unit``."""
        return self._len(self.bbox_px[2]), self._len(self.bbox_px[3])

    @property
    def area_share(self) -> float:
        """Fraction (0..1) of the photo's pixels this segment covers."""
        w, h = self.image_size
        return self.area_px / float(w * h) if w * h else 0.0

    @property
    def is_defect(self) -> bool:
        """Numbered on the photo: a thing, or stuff whose role is a defect role."""
        return self.isthing or self.role != Role.REGION

    def with_calibration(self, calibration: Calibration | None) -> Measurement:
        """The same figures under another scale (no re-measuring)."""
        return replace(self, mm_per_pixel=None if calibration is None else calibration.mm_per_pixel)

    def as_record(self) -> dict:
        """Plain JSON/CSV values, every figure beside its unit; pixel figures kept as well."""
        r = _round
        return {
            "label": self.label, "segment_id": self.segment_id, "category_id": self.category_id,
            "category": self.category_name, "role": self.role.value, "isthing": int(self.isthing),
            "iscrowd": int(self.iscrowd), "score": None if self.score is None else round(self.score, 4),
            "segment_source": self.source, "unit": self.unit,
            "length": r(self.length), "max_width": r(self.max_width), "mean_width": r(self.mean_width),
            "width": r(self.width), "width_spread": r(self.width_spread), "width_method": self.width_method,
            "width_low": r(self.width_low), "width_high": r(self.width_high),
            "orientation_deg": None if self.orientation_deg is None else round(self.orientation_deg, 1),
            "area_unit": self.area_unit, "area": r(self.area),
            "area_share_percent": round(100.0 * self.area_share, 4),
            "equivalent_diameter": r(self.equivalent_diameter), "major_axis": r(self.major_axis),
            "bbox_width": r(self.bbox_size[0]), "bbox_height": r(self.bbox_size[1]),
            "bbox_x_px": self.bbox_px[0], "bbox_y_px": self.bbox_px[1],
            "bbox_w_px": self.bbox_px[2], "bbox_h_px": self.bbox_px[3],
            "length_px": r(self.length_px), "max_width_px": r(self.max_width_px),
            "mean_width_px": r(self.mean_width_px), "width_px": r(self.width_px),
            "width_spread_px": r(self.width_spread_px), "width_low_px": r(self.width_low_px),
            "width_high_px": r(self.width_high_px), "mask_width_px": r(self.mask_width_px),
            "area_px": self.area_px,
            "mm_per_pixel": self.mm_per_pixel,
        }


#: Keys of ``Measurement.as_record`` in order: the CSV's columns after photo and source.
RECORD_COLUMNS: tuple[str, ...] = (
    "label", "segment_id", "category_id", "category", "role", "isthing", "iscrowd", "score", "segment_source", "unit",
    "length", "max_width", "mean_width", "width", "width_spread", "width_method", "width_low", "width_high",
    "orientation_deg", "area_unit", "area", "area_share_percent", "equivalent_diameter", "major_axis", "bbox_width",
    "bbox_height", "bbox_x_px", "bbox_y_px", "bbox_w_px", "bbox_h_px", "length_px", "max_width_px", "mean_width_px",
    "width_px", "width_spread_px", "width_low_px", "width_high_px", "mask_width_px", "area_px", "mm_per_pixel",
)


def _round(x: float | None) -> float | None:
    """Six significant figures: plenty for pixels and millimetres, short in a CSV."""
    return None if x is None else float(f"{x:.6g}")


# --- segments of an id map ---------------------------------------------------------------------------
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


def _measure_one(crop: np.ndarray, seg, sl, area: int, categories: CategorySet,
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


def _mask_width(lin) -> dict:
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


# --- a photo, and totals over photos ------------------------------------------------------------------
@dataclass(frozen=True)
class PhotoMeasurements:
    """The measurements of one photo with what they were made from."""

    name: str
    width: int
    height: int
    calibration: Calibration | None
    source: str
    measurements: tuple[Measurement, ...] = field(default_factory=tuple)

    @property
    def unit(self) -> str:
        return UNIT_PX if self.calibration is None else UNIT_MM

    @property
    def defects(self) -> list[Measurement]:
        return [m for m in self.measurements if m.is_defect]

    @property
    def surfaces(self) -> list[Measurement]:
        return [m for m in self.measurements if not m.is_defect]


@dataclass(frozen=True)
class CategoryTotal:
    """Totals of one category over photos that share a unit (mm and px are never added up).

    ``total_length`` is None for roles without a centreline, ``max_width`` for all but cracks
    (a bar's width is its diameter, not a crack opening); ``area_share`` is the category's area
    over the area of all photos in the group (0..1).
    """

    category_id: int
    category_name: str
    role: Role
    unit: str
    count: int
    n_photos: int
    total_length: float | None
    max_width: float | None
    total_area: float
    area_share: float

    @property
    def area_unit(self) -> str:
        return AREA_UNITS[self.unit]


def summarize(photos: Sequence[PhotoMeasurements], categories: CategorySet,
              defects_only: bool = False) -> list[CategoryTotal]:
    """Totals per (category, unit), in category order, mm groups before px groups."""
    photo_area: dict[str, float] = {}
    for p in photos:
        scale = 1.0 if p.calibration is None else p.calibration.mm_per_pixel ** 2
        photo_area[p.unit] = photo_area.get(p.unit, 0.0) + p.width * p.height * scale
    groups: dict[tuple[int, str], list[tuple[int, Measurement]]] = {}
    for k, p in enumerate(photos):
        for m in p.measurements:
            if defects_only and not m.is_defect:
                continue
            groups.setdefault((m.category_id, m.unit), []).append((k, m))
    order = {cid: i for i, cid in enumerate(categories.ids)}
    out = []
    for (cid, unit), items in sorted(groups.items(), key=lambda kv: (kv[0][1] != UNIT_MM, order.get(kv[0][0], 1e9))):
        ms = [m for _, m in items]
        linear = any(m.length_px is not None for m in ms)
        area = sum(m.area for m in ms)
        out.append(CategoryTotal(
            category_id=cid, category_name=ms[0].category_name, role=ms[0].role, unit=unit, count=len(ms),
            n_photos=len({k for k, _ in items}),
            total_length=sum(m.length or 0.0 for m in ms) if linear else None,
            max_width=max((m.max_width for m in ms if m.max_width is not None and m.role == Role.CRACK),
                          default=None),
            total_area=area, area_share=area / photo_area[unit] if photo_area.get(unit) else 0.0))
    return out
