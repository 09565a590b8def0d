"""One defect, one segment: which kept thing queries describe the same instance.

A DETR-style model has no non-maximum suppression: nothing but the set loss stops two queries from
predicting the same object, and a briefly trained model often gives a large, irregular defect
(a spall) to several queries whose masks each cover most or a part of it. The per-pixel argmax of
the post-processor then tiles the defect into as many segments as there are such queries - one
true positive and several false positives, and a mess on screen.

The rule here decides before the argmax which thing queries are one instance, from the
queries' own masks:

* queries are visited by score, best first (ties: lower query index first);
* a query joins the *leader* (an earlier query that joined nobody) of the same class whose binary
  mask (logit > 0 at the model's stride-4 grid) it overlaps most, when that overlap, measured as
  containment ``|A & B| / min(|A|, |B|)``, is at least ``min_overlap``; otherwise it leads a group
  of its own.

Containment, not IoU: a query covering a part of a spall lies almost entirely inside the query
covering the whole of it (containment near 1, IoU small), while two distinct spalls share at most
a rim (containment near 0). Comparing with the leader only (not with every member) keeps groups
from chaining across neighbouring defects. Visiting by score makes the grouping of the queries
above any threshold a restriction of the grouping of all kept queries (a threshold removes the
lowest scores, which were visited last), so raising the threshold never splits a group: the
re-thresholding promise "a higher threshold never adds a segment" holds.

Stuff classes are not grouped here (the post-processor merges every query of a stuff class).
"""
from __future__ import annotations

import numpy as np

#: Default containment at which two same-class thing queries are one instance. Chosen on generated
#: photos of two generator settings (bench/bench_spall_split.py sweeps it): queries that split one
#: spall mostly overlap with a containment of 0.85-1.0 (part-of-spall queries down to ~0.5),
#: distinct spalls with 0.0-0.1; spalling RQ is flat from 0.5 to 0.65 and falls from 0.8 on.
DEFAULT_MERGE_OVERLAP = 0.65


def binary_masks(masks: np.ndarray, h: int, w: int) -> np.ndarray:
    """``[K, hc, wc]`` stride-4 mask logits (any float dtype) -> ``[K, n]`` bool of the cells
    covering the unpadded ``h x w`` input, ``logit > 0`` after rounding to float16 (the dtype a
    stored prediction keeps, so a fresh post-processing and a stored one group alike)."""
    rows, cols = -(-int(h) // 4), -(-int(w) // 4)
    crop = np.asarray(masks)[:, :rows, :cols].astype(np.float16)
    return (crop > 0).reshape(crop.shape[0], -1)


def group_leaders(mask_bits: np.ndarray, scores: np.ndarray, labels: np.ndarray, is_thing: np.ndarray,
                  min_overlap: float | None) -> np.ndarray:
    """Each query's group leader (its own index when it leads or is not grouped).

    Args:
        mask_bits: ``[K, n]`` bool binary masks (``binary_masks``).
        scores: ``[K]`` class probabilities; labels: ``[K]`` class indices.
        is_thing: ``[C]`` bool per class index.
        min_overlap: containment in (0, 1] at which a query joins a leader; None or >= 1.0 + eps
            disables grouping (every query its own leader).
    Returns ``[K]`` int64 leader indices; a leader's score is >= its members' scores.
    """
    k = len(scores)
    leader = np.arange(k, dtype=np.int64)
    if k < 2 or min_overlap is None or min_overlap > 1.0:
        return leader
    if not 0.0 < min_overlap:
        raise ValueError(f"the merge overlap must be in (0, 1], got {min_overlap}")
    bits = mask_bits.astype(np.float32)
    area = bits.sum(1)
    inter = bits @ bits.T  # [K, K] shared cells; K is a few dozen, n a few thousand cells
    smaller = np.minimum(area[:, None], area[None, :])
    containment = np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)
    order = sorted(range(k), key=lambda q: (-float(scores[q]), q))
    leaders: list[int] = []
    for q in order:
        lab = int(labels[q])
        if not is_thing[lab]:
            continue
        best, best_c = -1, float(min_overlap)
        for r in leaders:
            c = float(containment[q, r])
            if int(labels[r]) == lab and c >= best_c and (best < 0 or c > best_c):
                best, best_c = r, c
        if best >= 0:
            leader[q] = best
        else:
            leaders.append(q)
    return leader
