"""Panoptic annotations in the compact form the data pipeline moves around, and DETR targets.

A ``CompactAnnotation`` renumbers the segments of one image 1..K so the id map fits in ``uint8``
(``int32`` past 255 segments): a quarter of the memory of the ``int32`` id map, and one cheap
channel for resize/crop/flip, from which per-segment masks are cut only at the end.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.categories import CategorySet
from core.errors import AnnotationError
from core.panoptic import PanopticAnnotation, Segment


@dataclass(frozen=True)
class CompactAnnotation:
    """Segments of one image renumbered 1..K.

    Attributes:
        index_map: ``[H, W]`` uint8 (K < 256) or int32; 0 = void, k = the k-th segment.
        labels: ``[K + 1]`` int64 class index (position in the category set) of segment k;
            entry 0 is unused (-1).
        crowd: ``[K + 1]`` bool, True for ``iscrowd`` segments (entry 0 False).
        category_ids: ``[K + 1]`` int64 category id of segment k (entry 0 is 0).
    """

    index_map: np.ndarray
    labels: np.ndarray
    crowd: np.ndarray
    category_ids: np.ndarray

    @staticmethod
    def from_panoptic(ann: PanopticAnnotation, categories: CategorySet, key: str = "") -> CompactAnnotation:
        """Renumber ``ann``; raises ``AnnotationError`` on a category not in ``categories``."""
        class_of = {c.id: i for i, c in enumerate(categories.categories)}
        seg_ids = sorted(ann.segments)
        labels = np.full(len(seg_ids) + 1, -1, np.int64)
        crowd = np.zeros(len(seg_ids) + 1, bool)
        cat_ids = np.zeros(len(seg_ids) + 1, np.int64)
        for k, sid in enumerate(seg_ids, start=1):
            seg = ann.segments[sid]
            if seg.category_id not in class_of:
                raise AnnotationError(f"segment {sid} has category id {seg.category_id}, which is not "
                                      f"among the training categories {categories.ids}", key or None)
            labels[k] = class_of[seg.category_id]
            crowd[k] = bool(seg.iscrowd)
            cat_ids[k] = seg.category_id
        # Map segment ids to 1..K through a sorted lookup: ids may be as large as 2^24.
        lut = np.asarray(seg_ids, np.int64)
        flat = ann.id_map.astype(np.int64, copy=False)
        pos = np.searchsorted(lut, flat) if lut.size else np.zeros_like(flat)
        pos_c = np.clip(pos, 0, max(len(lut) - 1, 0))
        hit = (lut[pos_c] == flat) if lut.size else np.zeros(flat.shape, bool)
        dtype = np.uint8 if len(seg_ids) < 256 else np.int32
        index_map = np.where(hit, pos_c + 1, 0).astype(dtype)
        return CompactAnnotation(index_map, labels, crowd, cat_ids)

    def to_panoptic(self, index_map: np.ndarray | None = None) -> PanopticAnnotation:
        """Back to a ``PanopticAnnotation`` (segment id k = compact index k), for evaluation.

        ``index_map`` replaces the stored map (e.g. after a resize); segments absent from it
        are dropped.
        """
        imap = self.index_map if index_map is None else np.asarray(index_map)
        present = set(int(i) for i in np.unique(imap)) - {0}
        segs = {k: Segment(k, int(self.category_ids[k]), bool(self.crowd[k])) for k in sorted(present)}
        return PanopticAnnotation(imap.astype(np.int32), segs)


def targets_from_index_map(index_map: torch.Tensor, labels: torch.Tensor, crowd: torch.Tensor,
                           min_pixels: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cut DETR targets out of a (transformed) compact index map.

    Args:
        index_map: ``[H, W]`` integer tensor, 0 = void, k = compact segment k.
        labels: ``[K + 1]`` int64 class index per compact segment.
        crowd: ``[K + 1]`` bool; crowd segments get no target, since a crowd region is not one
            instance and PQ ignores it.
        min_pixels: segments with fewer visible pixels (e.g. cut by a crop) are dropped.
    Returns:
        masks ``[N, H, W]`` bool, boxes ``[N, 4]`` float32 absolute ``x0, y0, x1, y1`` (tight
        around the visible mask, so a cropped segment gets the box of what is left of it; the
        pixel grid is exclusive at the far edge: a 1-pixel mask at x=3 spans 3..4), labels
        ``[N]`` int64. Things and stuff both get boxes, as DETR's panoptic recipe does.
    """
    k_max = int(labels.numel()) - 1
    if k_max <= 0:
        h, w = index_map.shape
        return (torch.zeros((0, h, w), dtype=torch.bool), torch.zeros((0, 4), dtype=torch.float32),
                torch.zeros((0,), dtype=torch.int64))
    flat = index_map.reshape(-1).long()
    counts = torch.bincount(flat, minlength=k_max + 1)[: k_max + 1]
    keep = (counts >= max(min_pixels, 1)) & ~crowd.bool()
    keep[0] = False
    ks = torch.nonzero(keep).flatten()
    masks = index_map.unsqueeze(0) == ks.to(index_map.dtype).view(-1, 1, 1)
    boxes = masks_to_boxes_exclusive(masks)
    return masks, boxes, labels[ks].long()


def masks_to_boxes_exclusive(masks: torch.Tensor) -> torch.Tensor:
    """``[N, H, W]`` bool -> ``[N, 4]`` float32 ``x0, y0, x1, y1`` with exclusive far edges.

    torchvision's ``masks_to_boxes`` returns inclusive pixel indices (a 1-pixel mask has zero
    width); DETR boxes cover whole pixels, so one is added to the far edges.
    """
    if masks.shape[0] == 0:
        return torch.zeros((0, 4), dtype=torch.float32)
    rows = masks.any(dim=2)  # [N, H]
    cols = masks.any(dim=1)  # [N, W]
    h, w = masks.shape[1:]
    ar_h = torch.arange(h, dtype=torch.float32)
    ar_w = torch.arange(w, dtype=torch.float32)
    big = float(max(h, w) + 1)
    y0 = torch.where(rows, ar_h, big).amin(dim=1)
    y1 = torch.where(rows, ar_h, -1.0).amax(dim=1) + 1
    x0 = torch.where(cols, ar_w, big).amin(dim=1)
    x1 = torch.where(cols, ar_w, -1.0).amax(dim=1) + 1
    return torch.stack([x0, y0, x1, y1], dim=1)
