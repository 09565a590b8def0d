"""Hungarian matching of predictions to targets (one-to-one, the rest match "no object").

Cost of pairing query i with target j: ``cost_class * -p_i(class_j) + cost_bbox * L1(box_i, box_j)
+ cost_giou * -GIoU(box_i, box_j)``, plus (when the costs are set and the targets carry
``grid_masks``) ``cost_mask * BCE(mask_i, mask_j) + cost_dice * dice(mask_i, mask_j)`` on the
stride-4 grid (Mask2Former's matching: a query is matched by what it segments, not only by its
box), minimised per image by scipy's ``linear_sum_assignment``.
"""
from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment
import torch.nn.functional as F
from torch import nn
from torchvision.ops import box_convert, generalized_box_iou


def mask_costs(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairwise mask costs. ``logits`` ``[Q, P]``, ``targets`` ``[N, P]`` in [0, 1] ->
    (mean sigmoid cross-entropy ``[Q, N]``, 1 - soft dice ``[Q, N]``)."""
    logits, targets = logits.float(), targets.float()
    pos = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits), reduction="none")
    neg = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits), reduction="none")
    bce = (pos @ targets.T + neg @ (1 - targets).T) / logits.shape[1]
    prob = logits.sigmoid()
    dice = 1 - (2 * prob @ targets.T + 1) / (prob.sum(1)[:, None] + targets.sum(1)[None, :] + 1)
    return bce, dice


class HungarianMatcher(nn.Module):
    def __init__(self, cost_class: float = 1.0, cost_bbox: float = 5.0, cost_giou: float = 2.0,
                 cost_mask: float = 0.0, cost_dice: float = 0.0):
        super().__init__()
        if cost_class == 0 and cost_bbox == 0 and cost_giou == 0 and cost_mask == 0 and cost_dice == 0:
            raise ValueError("all matcher costs are 0")
        self.cost_class = cost_class
        self.cost_bbox = cost_bbox
        self.cost_giou = cost_giou
        self.cost_mask = cost_mask
        self.cost_dice = cost_dice

    @property
    def uses_masks(self) -> bool:
        return self.cost_mask > 0 or self.cost_dice > 0

    @torch.no_grad()
    def forward(self, outputs: dict, targets: list[dict]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Args:
            outputs: pred_logits ``[B, Q, K+1]``, pred_boxes ``[B, Q, 4]`` cxcywh in [0, 1].
            targets: per image labels ``[N]`` int64, boxes ``[N, 4]`` cxcywh; N may be 0; with
                mask costs also grid_masks ``[N, h4*w4]`` in [0, 1] (the outputs' pred_masks grid).
        Returns per image ``(query_index, target_index)``, int64 ``[min(Q, N)]`` each.
        """
        bs, nq = outputs["pred_logits"].shape[:2]
        sizes = [len(t["labels"]) for t in targets]
        empty = torch.empty(0, dtype=torch.int64)
        if sum(sizes) == 0:
            return [(empty, empty) for _ in range(bs)]
        prob = outputs["pred_logits"].flatten(0, 1).float().softmax(-1)  # [B*Q, K+1]
        out_bbox = outputs["pred_boxes"].flatten(0, 1).float()
        tgt_ids = torch.cat([t["labels"] for t in targets])
        tgt_bbox = torch.cat([t["boxes"] for t in targets]).float()
        # All images at once (one matrix op), then each image's block is solved on its own.
        cost = (self.cost_bbox * torch.cdist(out_bbox, tgt_bbox, p=1)
                - self.cost_class * prob[:, tgt_ids]
                - self.cost_giou * generalized_box_iou(box_convert(out_bbox, "cxcywh", "xyxy"),
                                                       box_convert(tgt_bbox, "cxcywh", "xyxy")))
        # Degenerate (zero-size) boxes give NaN GIoU; scipy refuses NaN, and the loss reports it anyway.
        cost = cost.view(bs, nq, -1)
        with_masks = self.uses_masks and "pred_masks" in outputs and "grid_masks" in targets[0]
        result = []
        for i, block in enumerate(cost.split(sizes, -1)):
            if sizes[i] == 0:
                result.append((empty, empty))
                continue
            block = block[i]
            if with_masks:
                bce, dice = mask_costs(outputs["pred_masks"][i].flatten(1), targets[i]["grid_masks"])
                block = block + self.cost_mask * bce + self.cost_dice * dice
            block = torch.nan_to_num(block, nan=1e4, posinf=1e4, neginf=-1e4).cpu()
            rows, cols = linear_sum_assignment(block.numpy())
            result.append((torch.as_tensor(rows, dtype=torch.int64), torch.as_tensor(cols, dtype=torch.int64)))
        return result


def build_matcher(cost_class: float, cost_bbox: float, cost_giou: float, cost_mask: float = 0.0,
                  cost_dice: float = 0.0) -> HungarianMatcher:
    return HungarianMatcher(cost_class=cost_class, cost_bbox=cost_bbox, cost_giou=cost_giou, cost_mask=cost_mask,
                            cost_dice=cost_dice)
