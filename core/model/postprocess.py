"""Model outputs -> ``PanopticAnnotation`` per image (DETR's panoptic post-processing).

Per image: drop queries whose best class is "no object" or whose score is not above the
threshold; group thing queries of one class whose masks overlap strongly into one instance
(``core.model.thing_merge``: a model without NMS can split one spall between several queries);
upsample the kept masks to the input size and give each pixel to the kept query with the largest
mask logit; a segment per thing group and per stuff class; drop segments of ``min_area`` pixels
or fewer and repeat the argmax among the rest; finally resize the id map to the original photo
size (nearest), dropping the entries of segments that vanish there (a photo smaller than the input
loses rows and columns). Padding added for batching is cropped away before anything else.
A model with the dense thin head (``pred_thin``) has its thin classes' segments made from that
head's connected components instead of queries (``core.model.thin_fusion``), before the resize.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from core.categories import CategorySet
from core.model.thing_merge import DEFAULT_MERGE_OVERLAP, binary_masks, group_leaders
from core.panoptic import SOURCE_MODEL, PanopticAnnotation, Segment

#: Logit written in ``predict``'s pred_masks rows that were not computed (sigmoid -> 0, and finite
#: so interpolation never makes NaN).
MASK_FILL = -1.0e4


def select_queries(pred_logits: torch.Tensor, threshold: float) -> torch.Tensor:
    """``[B, Q, K+1]`` logits -> ``[B, Q]`` bool: best class is a real class and its softmax
    probability is above ``threshold``. The one rule both ``predict`` and the post-processor use."""
    scores, labels = pred_logits.softmax(-1).max(-1)
    return (labels != pred_logits.shape[-1] - 1) & (scores > threshold)


class PanopticPostProcessor:
    """Args:
        num_classes: real classes of the model (logits have one more, "no object").
        categories: class index i <-> ``categories.categories[i]`` (id and thing/stuff). None:
            class index i -> category id i + 1, every class a thing.
        min_area: segments of at most this many pixels (at the model's input resolution) are
            removed, their pixels going to the next best query.
        merge_overlap: containment of two same-class thing queries' masks at which they are one
            instance (``core.model.thing_merge``); None keeps every query its own segment.
        thin_classes: class indices the dense thin head decides when the outputs have ``pred_thin``.
    """

    def __init__(self, num_classes: int, categories: CategorySet | None = None, min_area: int = 4,
                 merge_overlap: float | None = DEFAULT_MERGE_OVERLAP, thin_classes: frozenset[int] = frozenset()):
        if categories is not None and len(categories) != num_classes:
            raise ValueError(f"the model has {num_classes} classes but {len(categories)} categories were given")
        self.num_classes = num_classes
        self.min_area = min_area
        self.merge_overlap = merge_overlap
        self.categories = categories
        self.thin_classes = sorted(int(c) for c in thin_classes)
        if categories is None:
            self.category_ids = list(range(1, num_classes + 1))
            self.is_thing = [True] * num_classes
        else:
            self.category_ids = [c.id for c in categories]
            self.is_thing = [c.isthing for c in categories]

    def __call__(self, outputs: dict, image_sizes: list[tuple[int, int]],
                 orig_sizes: list[tuple[int, int]] | None = None, threshold: float = 0.85) -> list[PanopticAnnotation]:
        """Args:
            outputs: the model's dict: pred_logits ``[B, Q, K+1]``, pred_masks ``[B, Q, h4, w4]``
                (stride-4 logits of the padded input), optionally ``predict``'s mask_min_score.
            image_sizes: ``(h, w)`` of each image as fed to the model, without padding.
            orig_sizes: ``(H, W)`` of each original photo (default: ``image_sizes``).
            threshold: minimum class probability of a kept query.
        Returns one ``PanopticAnnotation`` per image at ``orig_sizes``; segment ids 1..n, source
        "model", score = the query's class probability (the best one for a merged stuff segment).
        """
        min_score = outputs.get("mask_min_score")
        if min_score is not None and threshold < min_score:
            raise ValueError(f"threshold {threshold} is below the {min_score} the masks were computed for; "
                             f"call predict with min_score <= {threshold}")
        orig_sizes = image_sizes if orig_sizes is None else orig_sizes
        logits = outputs["pred_logits"].detach()
        masks = outputs["pred_masks"].detach()
        keep = select_queries(logits, threshold)
        thin = outputs.get("pred_thin") if self.thin_classes else None
        results = []
        for b in range(logits.shape[0]):
            idx = keep[b].nonzero().squeeze(1)
            scores, labels = logits[b, idx].softmax(-1).max(-1)
            (h, w), (oh, ow) = (int(image_sizes[b][0]), int(image_sizes[b][1])), orig_sizes[b]
            seg_map, segments = self._labels(masks[b, idx], scores.float().cpu().numpy(), labels.cpu().numpy(), (h, w))
            if thin is not None:
                from core.model.thin_fusion import fuse_thin, thin_components

                probs = thin[b, self.thin_classes, :h, :w].detach().float().sigmoid().cpu().numpy()
                cats = [self.category_ids[c] for c in self.thin_classes]
                seg_map, segments = fuse_thin(seg_map, segments, thin_components(probs, cats, self.min_area),
                                              threshold, cats)
            id_map = _resize_nearest(seg_map, int(oh), int(ow))
            # Shrinking to a photo smaller than the input skips rows and columns: a thin segment can
            # vanish there, and then its entry goes too (a table entry without pixels is invalid).
            present = np.bincount(id_map.ravel(), minlength=max(segments, default=0) + 1)
            results.append(PanopticAnnotation(id_map, {sid: seg for sid, seg in segments.items() if present[sid] > 0}))
        return results

    def _labels(self, masks: torch.Tensor, scores: np.ndarray, labels: np.ndarray,
                size: tuple[int, int]) -> tuple[np.ndarray, dict[int, Segment]]:
        """``([h, w] int32 segment ids at the input size, {id: Segment})`` of the kept queries."""
        h, w = size
        if len(labels) == 0:
            return np.zeros((h, w), np.int32), {}
        logits = _upsample_crop(masks.float(), h, w)  # [K, h, w]
        # Each query's representative: all queries of one stuff class share the first's index;
        # thing queries that describe one instance share their group's leader.
        rep = group_leaders(binary_masks(masks.float().cpu().numpy(), h, w), scores, labels,
                            np.asarray(self.is_thing, bool), self.merge_overlap)
        first_of_stuff: dict[int, int] = {}
        for k, lab in enumerate(labels):
            if not self.is_thing[int(lab)]:
                rep[k] = first_of_stuff.setdefault(int(lab), k)
        alive = np.ones(len(labels), bool)
        while True:
            # Per-pixel argmax over the living queries, mapped to representatives.
            live = np.flatnonzero(alive)
            winner = live[logits[torch.from_numpy(live)].argmax(0).cpu().numpy()]
            owner = rep[winner]
            area = np.bincount(owner.ravel(), minlength=len(labels))
            small = alive & (rep == np.arange(len(labels))) & (area <= self.min_area)
            if not small.any():
                break
            # A small representative takes its whole stuff group with it.
            alive &= ~small[rep]
            if not alive.any():
                return np.zeros((h, w), np.int32), {}
        reps = [k for k in range(len(labels)) if alive[k] and rep[k] == k and area[k] > 0]
        seg_of = np.zeros(len(labels), np.int32)
        segments = {}
        for seg_id, k in enumerate(reps, start=1):
            seg_of[k] = seg_id
            members = np.flatnonzero((rep == k) & alive)
            segments[seg_id] = Segment(seg_id, self.category_ids[int(labels[k])], False, SOURCE_MODEL,
                                       float(scores[members].max()))
        return seg_of[owner], segments


def _upsample_crop(masks: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``[K, h4, w4]`` stride-4 logits of the padded input -> ``[K, h, w]`` of the unpadded image.

    Crops at stride 4 first (keeping one extra row/column so the bilinear edge is the same as
    upsampling everything), then upsamples by exactly 4 so pixels stay aligned with the input.
    """
    hc = min(masks.shape[-2], -(-h // 4) + 1)
    wc = min(masks.shape[-1], -(-w // 4) + 1)
    up = F.interpolate(masks[:, None, :hc, :wc], size=(4 * hc, 4 * wc), mode="bilinear", align_corners=False)
    return up[:, 0, :h, :w]


def _resize_nearest(id_map: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of an integer map (torch's ``nearest`` index rule), ids kept exact."""
    h, w = id_map.shape
    if (h, w) == (height, width):
        return id_map.astype(np.int32, copy=False)
    rows = np.minimum((np.arange(height) * (h / height)).astype(np.int64), h - 1)
    cols = np.minimum((np.arange(width) * (w / width)).astype(np.int64), w - 1)
    return id_map[rows[:, None], cols[None, :]].astype(np.int32)
