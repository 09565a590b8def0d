"""The panoptic annotation of one image.

One type serves ground truth, predictions and exports: an ``int32`` id map ``[H, W]`` (0 = void)
plus a table ``{segment id -> Segment}``. Its PNG form is ``core.idpng``'s; COCO panoptic files
(a JSON and a folder of PNGs) are read and written by ``core.formats.coco_panoptic_io``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Iterable

import numpy as np

from core.categories import CategorySet
from core.errors import AnnotationError
from core.idpng import MAX_SEGMENT_ID

VOID = 0

SOURCE_MANUAL = "manual"
SOURCE_MODEL = "model"


@dataclass(frozen=True)
class Segment:
    """One segment. ``score`` is the model confidence (predictions only), else None."""

    id: int
    category_id: int
    iscrowd: bool = False
    source: str = SOURCE_MANUAL
    score: float | None = None


# --- geometry --------------------------------------------------------------------------------------
def segment_stats(id_map: np.ndarray) -> dict[int, tuple[int, list[int]]]:
    """``{segment id: (area, [x, y, w, h])}`` for every non-void id present, vectorised.

    Runs in O(H·W) whatever the ids' magnitude: ids are compacted with ``np.unique`` first, except
    when they are already small (the usual case), where counting them directly is ~40x faster.
    """
    from scipy import ndimage

    id_map = np.asarray(id_map)
    if id_map.size and id_map.dtype.kind in "iu" and 0 <= id_map.min() and id_map.max() <= 65535:
        areas = np.bincount(id_map.ravel())
        slices = ndimage.find_objects(id_map.astype(np.int32, copy=False))
        out: dict[int, tuple[int, list[int]]] = {}
        for seg_id, sl in enumerate(slices, start=1):
            if sl is None:
                continue
            ys, xs = sl
            out[seg_id] = (int(areas[seg_id]), [int(xs.start), int(ys.start), int(xs.stop - xs.start),
                                                int(ys.stop - ys.start)])
        return out
    ids, inverse = np.unique(id_map, return_inverse=True)
    inverse = inverse.reshape(id_map.shape)
    areas = np.bincount(inverse.ravel(), minlength=len(ids))
    slices = ndimage.find_objects(inverse + 1)  # label k+1 == ids[k]
    out = {}
    for k, seg_id in enumerate(ids):
        if seg_id == VOID or slices[k] is None:
            continue
        ys, xs = slices[k]
        out[int(seg_id)] = (int(areas[k]), [int(xs.start), int(ys.start), int(xs.stop - xs.start),
                                            int(ys.stop - ys.start)])
    return out


@dataclass
class PanopticAnnotation:
    """Panoptic annotation of one image.

    Attributes:
        id_map: ``[H, W]`` int32, 0 = void, other values are keys of ``segments``.
        segments: ``{segment id: Segment}``.
    """

    id_map: np.ndarray
    segments: dict[int, Segment] = field(default_factory=dict)

    def __post_init__(self):
        self.id_map = np.asarray(self.id_map)
        if self.id_map.ndim != 2:
            raise AnnotationError(f"id map must be 2-D, got shape {self.id_map.shape}")
        if self.id_map.dtype != np.int32:
            if self.id_map.size and (self.id_map.min() < 0 or self.id_map.max() > MAX_SEGMENT_ID):
                raise AnnotationError("segment ids must lie in 0..16777215")
            self.id_map = self.id_map.astype(np.int32)

    @staticmethod
    def empty(height: int, width: int) -> PanopticAnnotation:
        return PanopticAnnotation(np.zeros((height, width), np.int32), {})

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.id_map.shape[0]), int(self.id_map.shape[1])

    def copy(self) -> PanopticAnnotation:
        return PanopticAnnotation(self.id_map.copy(), dict(self.segments))

    def next_segment_id(self) -> int:
        return max(self.segments, default=0) + 1

    def mask(self, segment_id: int) -> np.ndarray:
        """``[H, W]`` bool mask of one segment."""
        return self.id_map == segment_id

    def semantic(self) -> np.ndarray:
        """``[H, W]`` int32 category-id map (0 = void)."""
        lut_ids = np.array(sorted(self.segments), dtype=np.int64)
        if lut_ids.size == 0:
            return np.zeros(self.shape, np.int32)
        cats = np.array([self.segments[i].category_id for i in lut_ids], np.int32)
        pos = np.searchsorted(lut_ids, self.id_map)
        pos = np.clip(pos, 0, len(lut_ids) - 1)
        hit = lut_ids[pos] == self.id_map
        return np.where(hit, cats[pos], 0).astype(np.int32)

    # --- consistency --------------------------------------------------------------------------
    def validate(self, categories: CategorySet | None = None, image_id: object = None) -> None:
        """Raise ``AnnotationError`` with panopticapi's wording when map and table disagree."""
        present = set(int(i) for i in np.unique(self.id_map)) - {VOID}
        for seg_id in sorted(present):
            if seg_id not in self.segments:
                raise AnnotationError(
                    f"In the image with ID {image_id} segment with ID {seg_id} is presented in PNG "
                    f"and not presented in JSON.")
        missing = sorted(set(self.segments) - present)
        if missing:
            raise AnnotationError(
                f"In the image with ID {image_id} the following segment IDs {missing} are presented "
                f"in JSON and not presented in PNG.")
        if categories is not None:
            for seg in self.segments.values():
                if seg.category_id not in categories:
                    raise AnnotationError(
                        f"In the image with ID {image_id} segment with ID {seg.id} has unknown "
                        f"category_id {seg.category_id}.")

    def pruned(self) -> PanopticAnnotation:
        """A copy without table entries whose pixels are gone (e.g. after erasing)."""
        present = set(int(i) for i in np.unique(self.id_map))
        return PanopticAnnotation(self.id_map, {k: v for k, v in self.segments.items() if k in present})

    # --- COCO panoptic ------------------------------------------------------------------------
    def segments_info(self) -> list[dict]:
        """COCO ``segments_info``: plain Python numbers only, sorted by segment id."""
        stats = segment_stats(self.id_map)
        out = []
        for seg_id in sorted(self.segments):
            seg = self.segments[seg_id]
            area, bbox = stats.get(seg_id, (0, [0, 0, 0, 0]))
            info = {"id": int(seg_id), "category_id": int(seg.category_id), "iscrowd": int(bool(seg.iscrowd)),
                    "bbox": bbox, "area": int(area)}
            if seg.score is not None:
                info["score"] = float(seg.score)
            out.append(info)
        return out

    @staticmethod
    def from_coco(id_map: np.ndarray, segments_info: Iterable[dict], source: str = SOURCE_MANUAL,
                  path: str | Path | None = None) -> PanopticAnnotation:
        segs: dict[int, Segment] = {}
        for info in segments_info:
            try:
                seg_id = int(info["id"])
                seg = Segment(seg_id, int(info["category_id"]), bool(info.get("iscrowd", 0)),
                              str(info.get("source", source)),
                              None if info.get("score") is None else float(info["score"]))
            except (KeyError, TypeError, ValueError) as e:
                raise AnnotationError(f"bad segments_info entry {info!r}", path) from e
            if seg_id in segs:
                raise AnnotationError(f"segment id {seg_id} appears twice in segments_info", path)
            segs[seg_id] = seg
        return PanopticAnnotation(id_map, segs)

    def with_segment(self, seg: Segment) -> PanopticAnnotation:
        segs = dict(self.segments)
        segs[seg.id] = seg
        return PanopticAnnotation(self.id_map, segs)

    def relabelled(self, seg_id: int, category_id: int) -> PanopticAnnotation:
        return self.with_segment(replace(self.segments[seg_id], category_id=category_id))
