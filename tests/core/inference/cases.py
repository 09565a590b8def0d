"""Random model outputs for the re-thresholding tests, and a reference built on the model's own
post-processor.

``random_outputs`` makes DETR-like outputs with deliberately hard cases: strongly overlapping
masks (queries hide each other), two queries with identical masks (argmax ties), fine noise (tiny
segments that the post-processor removes) and several stuff queries of one class (merged).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from core.categories import default_categories
from core.inference import PanopticPrediction, PredictionMeta
from core.model import PanopticPostProcessor, select_queries
from core.model.thing_merge import binary_masks, group_leaders

CATS = default_categories()
C = len(CATS)
POST = PanopticPostProcessor(C, CATS)


def random_outputs(seed: int, queries: int = 16, size: tuple[int, int] = (61, 83)) -> tuple[torch.Tensor, torch.Tensor]:
    """``(pred_logits [Q, C+1], pred_masks [Q, ceil(h/4), ceil(w/4)] float16-rounded)``."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    labels = torch.randint(0, C, (queries,), generator=g)
    logits = torch.randn(queries, C + 1, generator=g)
    logits[torch.arange(queries), labels] += torch.rand(queries, generator=g) * 6
    coarse = torch.randn(queries, 1, 4, 5, generator=g) * 6
    masks = F.interpolate(coarse, size=(-(-h // 4), -(-w // 4)), mode="bilinear")[:, 0]
    masks += torch.randn(masks.shape, generator=g) * 0.5
    masks[1] = masks[0]
    return logits, masks.half().float()


def prediction_of(logits: torch.Tensor, masks: torch.Tensor, size: tuple[int, int], image_size: tuple[int, int],
                  min_threshold: float = 0.3) -> PanopticPrediction:
    """What ``Predictor.predict`` keeps of these outputs."""
    idx = select_queries(logits[None], min_threshold)[0].nonzero().squeeze(1)
    return PanopticPrediction(logits[idx].numpy(), masks[idx].half().numpy(), CATS,
                              PredictionMeta(image_size, size, min_threshold), idx.numpy())


def post_process(logits, masks, queries, size, image_size, threshold):
    """The model's ``PanopticPostProcessor`` on the given queries only (None when there are none)."""
    if not queries:
        return None
    out = {"pred_logits": logits[queries][None], "pred_masks": masks[queries][None]}
    return POST(out, [size], [image_size], threshold=threshold)[0]


def reference_levels(logits, masks, size, image_size, min_threshold: float = 0.3):
    """``[(threshold, annotation or None)]`` by the documented rule, computed with the model's
    post-processor: at ``min_threshold`` all kept queries; past each kept score, the queries that
    made the previous level's segments (thing groups by their leader's score, stuff by class) minus
    the dropped."""
    scores, labels = logits.softmax(-1).max(-1)
    thing = [c.isthing for c in CATS]
    cand = [int(q) for q in select_queries(logits[None], min_threshold)[0].nonzero().squeeze(1)]
    levels = []
    for t in [min_threshold] + sorted({float(scores[q]) for q in cand}):
        if t >= 1.0:
            break
        cand = [q for q in cand if scores[q] > t]
        ann = post_process(logits, masks, cand, size, image_size, t)
        levels.append((t, ann))
        if ann is None:
            continue
        made = {(s.category_id, s.score) for s in ann.segments.values()}
        stuff = {s.category_id for s in ann.segments.values() if not CATS.by_id(s.category_id).isthing}
        cid = [CATS.categories[int(labels[q])].id for q in cand]
        # A thing query made a segment when its group's leader did (the segment has its score).
        lead = group_leaders(binary_masks(masks[cand].numpy(), *size), scores[cand].numpy(), labels[cand].numpy(),
                             np.array(thing), POST.merge_overlap)
        cand = [q for q, c, r in zip(cand, cid, lead)
                if ((c, float(scores[cand[r]])) in made if thing[int(labels[q])] else c in stuff)]
    return levels


def same(a, b) -> bool:
    if a is None or b is None:
        empty = b if a is None else a
        return empty is None or (not empty.segments and not empty.id_map.any())
    return np.array_equal(a.id_map, b.id_map) and a.segments == b.segments
