import itertools

import pytest
import torch
from torchvision.ops import box_convert, generalized_box_iou

from core.model import HungarianMatcher


def _outputs(logits, boxes):
    return {"pred_logits": torch.as_tensor(logits, dtype=torch.float32)[None],
            "pred_boxes": torch.as_tensor(boxes, dtype=torch.float32)[None]}


def test_each_target_gets_the_query_that_predicts_it():
    # query 0 predicts target 1's box and class, query 2 target 0's; query 1 is elsewhere
    boxes = [[0.7, 0.7, 0.2, 0.2], [0.1, 0.9, 0.05, 0.05], [0.25, 0.25, 0.3, 0.3]]
    logits = [[0, 5, 0], [0, 0, 5], [5, 0, 0]]
    targets = [{"labels": torch.tensor([0, 1]), "boxes": torch.tensor([[0.25, 0.25, 0.3, 0.3], [0.7, 0.7, 0.2, 0.2]])}]
    [(rows, cols)] = HungarianMatcher()(_outputs(logits, boxes), targets)
    assert dict(zip(rows.tolist(), cols.tolist())) == {2: 0, 0: 1}


def test_matching_is_globally_optimal_where_greedy_is_not():
    # Class cost only. Greedy would give target 0 to query 0 (0.9) and leave target 1 with
    # query 1 (0.1): total 1.0. The optimum pairs (0->1, 1->0): 0.8 + 0.7 = 1.5.
    p = torch.tensor([[0.9, 0.8, 1e-6], [0.7, 0.1, 1e-6]])
    logits = p.log()
    targets = [{"labels": torch.tensor([0, 1]), "boxes": torch.full((2, 4), 0.5)}]
    [(rows, cols)] = HungarianMatcher(cost_class=1, cost_bbox=0, cost_giou=0)(
        _outputs(logits, torch.full((2, 4), 0.5)), targets)
    assert dict(zip(rows.tolist(), cols.tolist())) == {0: 1, 1: 0}


@pytest.mark.parametrize("seed", range(5))
def test_matching_minimises_the_total_cost_like_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    nq, nt, k = 5, 3, 4
    logits = torch.randn(nq, k + 1, generator=g)
    boxes = torch.rand(nq, 4, generator=g) * 0.4 + 0.1
    tboxes = torch.rand(nt, 4, generator=g) * 0.4 + 0.1
    labels = torch.randint(0, k, (nt,), generator=g)
    m = HungarianMatcher()
    [(rows, cols)] = m(_outputs(logits, boxes), [{"labels": labels, "boxes": tboxes}])
    cost = (5 * torch.cdist(boxes, tboxes, p=1) - logits.softmax(-1)[:, labels]
            - 2 * generalized_box_iou(box_convert(boxes, "cxcywh", "xyxy"), box_convert(tboxes, "cxcywh", "xyxy")))
    best = min(sum(cost[q, t] for t, q in enumerate(perm)) for perm in itertools.permutations(range(nq), nt))
    assert float(cost[rows, cols].sum()) == pytest.approx(float(best), abs=1e-5)
    assert len(set(rows.tolist())) == nt  # one query per target


def test_images_without_targets_get_empty_matches():
    out = {"pred_logits": torch.randn(2, 4, 3), "pred_boxes": torch.rand(2, 4, 4)}
    targets = [{"labels": torch.zeros(0, dtype=torch.int64), "boxes": torch.zeros(0, 4)},
               {"labels": torch.tensor([1]), "boxes": torch.tensor([[0.5, 0.5, 0.2, 0.2]])}]
    (r0, c0), (r1, c1) = HungarianMatcher()(out, targets)
    assert r0.numel() == c0.numel() == 0 and r0.dtype == torch.int64
    assert r1.numel() == 1 and c1.tolist() == [0]
    empty = [{"labels": torch.zeros(0, dtype=torch.int64), "boxes": torch.zeros(0, 4)}] * 2
    assert all(r.numel() == 0 for r, _ in HungarianMatcher()(out, empty))
