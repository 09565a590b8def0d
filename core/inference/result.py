"""A prediction that can be re-thresholded without running the network again.

``PanopticPrediction`` keeps, for the queries whose score is above ``min_threshold``, their class
logits and their stride-4 mask logits (float16), plus the photo's and the model input's sizes.
``panoptic(threshold)`` then gives the panoptic annotation at any threshold >= ``min_threshold``,
full resolution, in the photo's EXIF-upright frame, with the model's post-processing rules
(thing queries of one instance grouped, argmax of the kept queries' masks, stuff merged per
class, tiny segments removed; see
``label_map`` for how thresholds relate to each other).

A model with the dense thin head also leaves its thin classes' probabilities at the input size
(uint8); their connected components are the thin segments at every threshold
(``core.model.thin_fusion``).

Why it is fast: the result can change only where the threshold crosses a kept query's score, so
the first call computes the input-size label map of every such level once (one bilinear
upsampling per query, the post-processor's exact arithmetic, then only the pixels of dropped
queries are re-decided per level). A threshold then costs a lookup and one nearest-neighbour
expansion of a small uint8 map to the photo's size.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from core.categories import CategorySet
from core.errors import AnnotationError
from core.inference.label_maps import expand_nearest, present_segments
from core.model.thin_fusion import ThinComponents, fuse_thin, thin_components
from core.model.thing_merge import DEFAULT_MERGE_OVERLAP, binary_masks, group_leaders
from core.panoptic import SOURCE_MODEL, PanopticAnnotation, Segment

#: Version of the serialised form (``to_bytes``); readers refuse newer ones.
PAYLOAD_VERSION = 1
#: Default lowest threshold a prediction is kept for.
DEFAULT_MIN_THRESHOLD = 0.3


@dataclass(frozen=True)
class PredictionMeta:
    """What a prediction was made from.

    image_size: ``(H, W)`` of the photo after EXIF orientation (the frame of every result);
    input_size: ``(h, w)`` the network saw (unpadded); min_threshold: lowest threshold it can be
    re-thresholded to; min_area: the post-processor's small-segment limit, in input pixels;
    model: free-form description (checkpoint name, preset); timings: seconds per stage;
    merge_overlap: the post-processor's thing grouping containment (``core.model.thing_merge``;
    None: no grouping).
    """

    image_size: tuple[int, int]
    input_size: tuple[int, int]
    min_threshold: float
    min_area: int = 4
    model: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    merge_overlap: float | None = DEFAULT_MERGE_OVERLAP


class PanopticPrediction:
    """Re-thresholdable panoptic prediction of one photo.

    Args:
        logits: ``[K, C+1]`` float32 class logits of the kept queries, in query order (the last
            class is "no object").
        masks: ``[K, hc, wc]`` mask logits at stride 4 of the model input (float16 is how they
            are stored; ``hc >= ceil(h/4)``), cropped as the post-processor crops them.
        categories: class index i <-> ``categories.categories[i]``.
        meta: sizes and thresholds, see ``PredictionMeta``.
        query_ids: ``[K]`` the queries' positions among the model's queries (for display).
        thin_probs: ``[T, h', w']`` uint8 (probability x 255) of the thin head, one map per
            category of ``thin_category_ids``; None for a model without the head. At the input
            size, or finer (the same frame at the photo's own scale, ``Predictor.native_size``):
            the segments are then assembled at that size (``assembly_size``).
    Raises ValueError when the arrays do not fit together or a query is not above ``min_threshold``.
    """

    def __init__(self, logits: np.ndarray, masks: np.ndarray, categories: CategorySet, meta: PredictionMeta,
                 query_ids: np.ndarray | None = None, thin_probs: np.ndarray | None = None,
                 thin_category_ids: Sequence[int] = ()):
        logits = np.ascontiguousarray(logits, dtype=np.float32)
        masks = np.ascontiguousarray(masks, dtype=np.float16)
        k = logits.shape[0]
        if logits.ndim != 2 or logits.shape[1] != len(categories) + 1:
            raise ValueError(f"logits must be [K, {len(categories) + 1}], got {logits.shape}")
        h, w = meta.input_size
        if masks.ndim != 3 or masks.shape[0] != k or masks.shape[1] * 4 < h or masks.shape[2] * 4 < w:
            raise ValueError(f"masks must be [{k}, >= {math.ceil(h / 4)}, >= {math.ceil(w / 4)}], got {masks.shape}")
        if k > 4096:
            raise ValueError(f"too many kept queries ({k})")
        self.logits, self.masks, self.categories, self.meta = logits, masks, categories, meta
        self.query_ids = (np.arange(k, dtype=np.int32) if query_ids is None
                          else np.asarray(query_ids, np.int32).reshape(k))
        # Scores exactly as the post-processor computes them (torch softmax in float32).
        probs = torch.from_numpy(logits).softmax(-1)
        scores, labels = probs.max(-1) if k else (torch.zeros(0), torch.zeros(0, dtype=torch.long))
        self.scores = scores.numpy().astype(np.float32)
        self.labels = labels.numpy().astype(np.int64)
        if k and ((self.labels == len(categories)).any() or (self.scores <= meta.min_threshold).any()):
            raise ValueError("every kept query must have a real class with a score above min_threshold")
        self._category_ids = np.array([c.id for c in categories], np.int64)
        self._is_thing = np.array([c.isthing for c in categories], bool)
        self._desc = np.sort(self.scores)[::-1]  # the m best scores are those >= _desc[m - 1]
        self._levels: dict[int, tuple[np.ndarray, dict[int, Segment]]] | None = None
        self._leaders: np.ndarray | None = None
        self.thin_probs, self.thin_category_ids = _checked_thin(thin_probs, thin_category_ids, categories, (h, w))
        self._thin: ThinComponents | None = None
        self._fused: dict[tuple[int, int], tuple[np.ndarray, dict[int, Segment]]] = {}

    # --- basic facts -----------------------------------------------------------------------------
    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.meta.image_size)  # type: ignore[return-value]

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(self.meta.input_size)  # type: ignore[return-value]

    @property
    def min_threshold(self) -> float:
        return float(self.meta.min_threshold)

    @property
    def assembly_size(self) -> tuple[int, int]:
        """``(h, w)`` of ``label_map``: the thin maps' size when they are finer than the input."""
        if self.thin_probs is None:
            return self.input_size
        return int(self.thin_probs.shape[1]), int(self.thin_probs.shape[2])

    def __len__(self) -> int:
        """Kept queries (candidates at ``min_threshold``)."""
        return int(self.logits.shape[0])

    def candidate_count(self, threshold: float) -> int:
        """Queries (and thin-head components) whose score is above ``threshold`` (segments can only
        be fewer). It falls whenever the result can change as the threshold rises."""
        self._check_threshold(threshold)
        thin = self.thin_components()
        return int((self.scores > threshold).sum()) + (thin.count_above(threshold) if thin is not None else 0)

    def thin_components(self) -> ThinComponents | None:
        """The thin head's segments before any threshold (None without the head)."""
        if self._thin is None and self.thin_probs is not None:
            self._thin = thin_components(self.thin_probs, self.thin_category_ids, int(self.meta.min_area),
                                         self.min_threshold)
        return self._thin

    def _check_threshold(self, threshold: float) -> None:
        if not math.isfinite(threshold) or threshold < self.min_threshold or threshold >= 1.0:
            raise ValueError(f"threshold {threshold} is outside [{self.min_threshold}, 1): the prediction kept "
                             f"only queries above {self.min_threshold}")

    # --- re-thresholding -------------------------------------------------------------------------
    def score_levels(self) -> list[float]:
        """Distinct scores of the kept queries (and thin-head components), ascending: the result
        changes only when the threshold crosses one of them (slider ticks)."""
        thin = self.thin_components()
        extra = thin.scores if thin is not None else ()
        return sorted(set(float(s) for s in self.scores) | set(float(s) for s in extra))

    def panoptic(self, threshold: float, shape: tuple[int, int] | None = None,
                 keep: PanopticAnnotation | None = None) -> PanopticAnnotation:
        """The panoptic annotation at ``threshold`` (>= ``min_threshold``).

        Args:
            threshold: minimum class probability of a kept query, as the post-processor's.
            shape: ``(H, W)`` of the id map (default: the photo's, ``image_size``); other sizes
                give the same labels nearest-resized (previews, overlays).
            keep: an existing (manual) annotation of the same shape: its labelled pixels and
                segments stay, the model fills only its void pixels (see ``fill_unlabeled``).
        Returns:
            ``PanopticAnnotation``: ``[H, W]`` int32 ids 1..n, segments with source "model" and
            score (the best of its queries for a merged stuff segment).
        """
        small, segments = self.label_map(threshold)
        shape = self.image_size if shape is None else (int(shape[0]), int(shape[1]))
        ann = PanopticAnnotation(expand_nearest(small, *shape), present_segments(small, segments, shape))
        if keep is not None:
            from core.inference.merge import fill_unlabeled

            ann = fill_unlabeled(keep, ann, self.categories)
        return ann

    def label_map(self, threshold: float) -> tuple[np.ndarray, dict[int, Segment]]:
        """``([h, w] uint8/uint16 segment ids at ``assembly_size``, {id: Segment})`` at ``threshold``.

        The rule, monotone by construction: at ``min_threshold`` it is the published
        post-processing of every kept query. Raising the threshold past a query's score drops
        it and re-runs the same post-processing on the queries that made the previous level's
        segments (their pixels go to the best remaining query; stuff merges; thing groups are
        those of all kept queries, restricted to the ones left; tiny segments go). So a higher
        threshold never adds a segment, and a remaining thing never loses pixels unless one of its
        own grouped queries dropped out (its pixels are then decided afresh).
        Whenever the published rule applied afresh at ``threshold`` is itself monotone up to it
        (DETR's masks barely overlap, so nearly always), both give the same result; the published
        rule can otherwise uncover a segment that a dropped, lower-scored query covered entirely.
        """
        self._check_threshold(threshold)
        m = int((self.scores > threshold).sum())
        base = self._ensure_levels()[m] if m else (np.zeros(self.input_size, np.uint8), {})
        thin = self.thin_components()
        if thin is None:
            return base
        key = (m, thin.count_above(threshold))
        if key not in self._fused:
            labels = base[0]
            if labels.shape != thin.labels.shape:  # thin maps read finer: the queries' map follows
                labels = expand_nearest(labels, *thin.labels.shape)
            self._fused[key] = fuse_thin(labels, base[1], thin, threshold, self.thin_category_ids)
        return self._fused[key]

    def _ensure_levels(self) -> dict[int, tuple[np.ndarray, dict[int, Segment]]]:
        """``{m: (label map, segments)}`` for every count ``m`` of queries above a threshold."""
        if self._levels is not None:
            return self._levels
        k = len(self)
        h, w = self.input_size
        # Upsampled logits of every kept query at the input size, [K, h*w] float32, with the
        # post-processor's arithmetic; needed only here and freed once the levels are computed.
        logits = self._upsampled_all()
        alive = np.ones(k, bool)
        win = _argmax_rows(logits, np.arange(k)).reshape(h, w)  # each pixel's query (first on ties, as torch)
        levels: dict[int, tuple[np.ndarray, dict[int, Segment]]] = {}
        previous: tuple[np.ndarray, dict[int, Segment]] | None = None
        for m in sorted({int((self.scores > s).sum()) for s in self.scores} | {k}, reverse=True):
            if m == 0:
                break
            dropped = alive & (self.scores < self._desc[m - 1])
            if dropped.any():
                alive &= ~dropped
                _give_to_best(logits, win, _lookup(win, dropped), alive)
            changed = self._remove_small(logits, win, alive) or dropped.any()
            previous = self._labels(win, alive) if changed or previous is None else previous
            levels[m] = previous
        self._levels = levels
        return levels

    def thing_leaders(self) -> np.ndarray:
        """``[K]`` each kept query's thing-group leader (``core.model.thing_merge``; itself for
        stuff and ungrouped queries). Grouping all kept queries once serves every threshold:
        the groups above a threshold are these restricted to the queries left."""
        if self._leaders is None:
            bits = binary_masks(self.masks, *self.input_size)
            self._leaders = group_leaders(bits, self.scores, self.labels, self._is_thing, self.meta.merge_overlap)
        return self._leaders

    def _stuff_reps(self, alive: np.ndarray) -> np.ndarray:
        """Each query's representative among the ``alive`` ones: stuff queries of one class share
        the first (lowest index), as the post-processor merges them; a thing query its group's
        leader (alive whenever the query is: it scores at least as high and small groups go whole)."""
        rep = self.thing_leaders().copy()
        first: dict[int, int] = {}
        for q in np.flatnonzero(alive):
            lab = int(self.labels[q])
            if not self._is_thing[lab]:
                rep[q] = first.setdefault(lab, int(q))
        return rep

    def _remove_small(self, logits: np.ndarray, win: np.ndarray, alive: np.ndarray) -> bool:
        """The post-processor's loop: drop representatives of at most ``min_area`` pixels (with
        their stuff group) and give their pixels to the best remaining query, until none is left.
        Updates ``win`` and ``alive`` in place; returns whether anything was dropped."""
        k = len(self)
        rep = self._stuff_reps(alive)
        removed = False
        while alive.any():
            area = np.bincount(_lookup(win, rep).ravel(), minlength=k)
            small = alive & (rep == np.arange(k)) & (area <= int(self.meta.min_area))
            if not small.any():
                break
            dead = alive & small[rep]
            alive &= ~dead
            removed = True
            if alive.any():
                _give_to_best(logits, win, _lookup(win, dead), alive)
        return removed

    def _labels(self, win: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, dict[int, Segment]]:
        """Segment ids 1..n in query order of the living representatives, as the post-processor numbers them."""
        h, w = self.input_size
        if not alive.any():
            return np.zeros((h, w), np.uint8), {}
        rep = self._stuff_reps(alive)
        reps = [int(q) for q in np.flatnonzero(alive & (rep == np.arange(len(self))))]
        lut = np.zeros(len(self), np.uint8 if len(reps) < 255 else np.uint16)
        segments: dict[int, Segment] = {}
        for seg_id, r in enumerate(reps, start=1):
            members = (rep == r) & alive
            lut[members] = seg_id
            segments[seg_id] = Segment(seg_id, int(self._category_ids[self.labels[r]]), False, SOURCE_MODEL,
                                       float(self.scores[members].max()))
        return _lookup(win, lut), segments

    def _upsampled_all(self, chunk: int = 8) -> np.ndarray:
        """``[K, h*w]`` float32 logits of every kept query at the input size: the post-processor's
        ``_upsample_crop`` arithmetic (bilinear x4 of the stride-4 crop, then cropped), a few
        queries at a time to keep the temporary small."""
        h, w = self.input_size
        hc, wc = self.masks.shape[1:]
        out = np.empty((len(self), h * w), np.float32)
        for q0 in range(0, len(self), chunk):
            m = torch.from_numpy(self.masks[q0:q0 + chunk]).float()
            up = F.interpolate(m[:, None], size=(4 * hc, 4 * wc), mode="bilinear", align_corners=False)
            out[q0:q0 + len(m)] = up[:, 0, :h, :w].reshape(len(m), h * w).numpy()
        return out

    # --- storage -----------------------------------------------------------------------------------
    def meta_json(self) -> dict[str, Any]:
        """Plain-JSON description (sizes, thresholds, model, timings, candidate count)."""
        return {"payload_version": PAYLOAD_VERSION, "image_size": list(self.image_size),
                "input_size": list(self.input_size), "min_threshold": self.min_threshold,
                "min_area": int(self.meta.min_area), "merge_overlap": self.meta.merge_overlap,
                "candidates": len(self), "model": dict(self.meta.model),
                "timings": {k: float(v) for k, v in self.meta.timings.items()}}

    def to_bytes(self) -> bytes:
        """Compressed ``.npz`` bytes (no pickle): logits, float16 masks, query ids, JSON header."""
        header = dict(self.meta_json(), categories=self.categories.to_json())
        arrays: dict[str, np.ndarray] = {
            "logits": self.logits, "masks": self.masks, "query_ids": self.query_ids,
            "header": np.frombuffer(json.dumps(header).encode("utf-8"), np.uint8)}
        if self.thin_probs is not None:  # a model with the thin head
            arrays["thin_probs"] = self.thin_probs
            arrays["thin_category_ids"] = np.asarray(self.thin_category_ids, np.int64)
        buf = io.BytesIO()
        np.savez_compressed(buf, allow_pickle=False, **arrays)
        return buf.getvalue()

    @staticmethod
    def from_bytes(data: bytes, where: str | None = None) -> PanopticPrediction:
        """Inverse of ``to_bytes``. Raises ``AnnotationError`` (naming ``where``) on damaged or
        newer payloads."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                header = json.loads(bytes(z["header"]).decode("utf-8"))
                logits, masks, query_ids = z["logits"], z["masks"], z["query_ids"]
                # Written by a model with the thin head only (older payloads have none).
                thin_probs = z["thin_probs"] if "thin_probs" in z.files else None
                thin_ids = [int(c) for c in z["thin_category_ids"]] if thin_probs is not None else []
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, EOFError) as e:
            raise AnnotationError(f"the stored prediction is damaged ({e})", where) from e
        version = header.get("payload_version")
        if not isinstance(version, int) or version > PAYLOAD_VERSION:
            raise AnnotationError(f"stored prediction format {version!r} is newer than this program reads "
                                  f"({PAYLOAD_VERSION})", where, hint="update Panoptic Inspector or predict again")
        try:
            meta = PredictionMeta(tuple(header["image_size"]), tuple(header["input_size"]),
                                  float(header["min_threshold"]), int(header["min_area"]),
                                  dict(header.get("model", {})), dict(header.get("timings", {})),
                                  _merge_overlap(header.get("merge_overlap", DEFAULT_MERGE_OVERLAP)))
            return PanopticPrediction(logits, masks, CategorySet.from_json(header["categories"]), meta, query_ids,
                                      thin_probs, thin_ids)
        except (KeyError, TypeError, ValueError) as e:
            raise AnnotationError(f"the stored prediction is inconsistent ({e})", where) from e


def _checked_thin(probs: np.ndarray | None, category_ids: Sequence[int], categories: CategorySet,
                  size: tuple[int, int]) -> tuple[np.ndarray | None, list[int]]:
    """The thin maps as uint8 ``[T, h, w]`` and their category ids, checked against the prediction."""
    ids = [int(c) for c in category_ids]
    if probs is None:
        if ids:
            raise ValueError("thin_category_ids without thin_probs")
        return None, []
    probs = np.ascontiguousarray(probs)
    if (probs.dtype != np.uint8 or probs.ndim != 3 or probs.shape[0] != len(ids) or probs.shape[1] < size[0]
            or probs.shape[2] < size[1] or not _same_aspect(probs.shape[1:], size)):
        raise ValueError(f"thin_probs must be uint8 [{len(ids)}, {size[0]}, {size[1]}] (or larger, of the same "
                         f"aspect), got {probs.dtype} {probs.shape}")
    known = {c.id for c in categories}
    if any(c not in known for c in ids):
        raise ValueError(f"thin_category_ids {ids} are not all among the categories")
    return probs, ids


def _same_aspect(a: Sequence[int], b: Sequence[int]) -> bool:
    """Whether ``(h, w)`` sizes ``a`` and ``b`` are one frame at two scales (each side rounded)."""
    if not b[0] or not b[1]:
        return False
    scale = a[0] / b[0]
    return abs(a[1] - b[1] * scale) <= max(1.0, scale)


def _merge_overlap(value: object) -> float | None:
    """The stored grouping containment: None, or a number (payloads written before grouping
    existed carry none and get the default; their masks are all it needs)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"merge_overlap must be a number or null, got {value!r}")
    return float(value)


def _argmax_rows(logits: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Which of ``queries`` (ascending) has the largest value in each column of ``logits``
    (``[K, n]``): ``[n]`` uint8 (int16 past 255 queries), the first on ties as ``torch.argmax``
    decides. A running maximum, one contiguous pass per query: ``argmax`` over either axis of
    ``[K, n]`` is several times slower for a few dozen queries."""
    best = logits[queries[0]].copy()
    win = np.full(best.shape, queries[0], np.uint8 if logits.shape[0] <= 255 else np.int16)
    for q in queries[1:]:
        better = logits[q] > best
        np.copyto(best, logits[q], where=better)
        win[better] = q
    return win


def _give_to_best(logits: np.ndarray, win: np.ndarray, where: np.ndarray, alive: np.ndarray) -> None:
    """Give the pixels ``where`` (``[h, w]`` bool) to the ``alive`` query with the largest logit
    there (the first on ties); ``logits`` is ``[K, h*w]``. Reads only the alive rows' pixels."""
    flat = np.flatnonzero(where)
    queries = np.flatnonzero(alive)
    if len(flat) == 0 or len(queries) == 0:  # nobody left: the level is empty, win is not read
        return
    best = logits[queries[0]].take(flat)
    new = np.full(len(flat), queries[0], win.dtype)
    for q in queries[1:]:
        values = logits[q].take(flat)
        better = values > best
        np.copyto(best, values, where=better)
        new[better] = q
    win.reshape(-1)[flat] = new


def _lookup(win: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[win]``; through OpenCV's 8-bit lookup when both fit in a byte (~5x faster)."""
    if win.dtype == np.uint8 and len(table) <= 256 and (table.dtype == bool or 0 <= table.min() <= table.max() <= 255):
        import cv2

        lut = np.zeros(256, np.uint8)
        lut[:len(table)] = table
        out = cv2.LUT(win, lut)
        return out.astype(bool) if table.dtype == bool else out.astype(table.dtype, copy=False)
    return table[win]
