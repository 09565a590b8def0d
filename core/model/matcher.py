"""Hungarian matching of predictions to targets (one-to-one, the rest match "no object").

Cost of pairing query i with target j: ``cost_class * -p_i(class_j) + cost_bbox * L1(box_i, box_j)
+ cost_giou * -GIoU(box_i, box_j)``, minimised per image by scipy's ``linear_sum_assignment``.
"""
from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment
from torch import nn
from torchvision.ops import box_convert, generalized_box_iou


class HungarianMatcher(nn.Module):
    def __init__(self, cost_class: float = 1.0, cost_bbox: float = 5.0, cost_giou: float = 2.0):
        super().__init__()
        if cost_class == 0 and cost_bbox == 0 and cost_giou == 0:
            raise ValueError("all matcher costs are 0")
        self.cost_class = cost_class
        self.cost_bbox = cost_bbox
        self.cost_giou = cost_giou

    @torch.no_grad()
    def forward(self, outputs: dict, targets: list[dict]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Args:
            outputs: pred_logits ``[B, Q, K+1]``, pred_boxes ``[B, Q, 4]`` cxcywh in [0, 1].
            targets: per image labels ``[N]`` int64, boxes ``[N, 4]`` cxcywh; N may be 0.
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
        cost = torch.nan_to_num(cost, nan=1e4, posinf=1e4, neginf=-1e4).view(bs, nq, -1).cpu()
        result = []
        for i, block in enumerate(cost.split(sizes, -1)):
            if sizes[i] == 0:
                result.append((empty, empty))
                continue
            rows, cols = linear_sum_assignment(block[i].numpy())
            result.append((torch.as_tensor(rows, dtype=torch.int64), torch.as_tensor(cols, dtype=torch.int64)))
        return result


def build_matcher(cost_class: float, cost_bbox: float, cost_giou: float) -> HungarianMatcher:
    return HungarianMatcher(cost_class=cost_class, cost_bbox=cost_bbox, cost_giou=cost_giou)
