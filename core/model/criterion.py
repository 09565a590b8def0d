"""DETR's set criterion: Hungarian-match, then class, box and mask losses on the matched pairs.

Terms (each returned already multiplied by its weight): ``loss_ce`` (cross-entropy, the
"no object" class down-weighted by ``eos_coef``), ``loss_bbox`` (L1 on cxcywh), ``loss_giou``,
``loss_mask`` (sigmoid focal, or cross-entropy), ``loss_dice`` and, with a clDice weight,
``loss_cldice`` on the masks of thin classes (``core.model.mask_losses``), ``loss_thin`` on the dense
thin head's per-pixel map when the model has one; with auxiliary outputs the
class and box terms of decoder layer i again with suffix ``_i``, and its mask terms too when it
predicts masks (``mask_detr``: deep supervision of the masks, which is much of why it learns
fast). ``cardinality_error`` (unweighted, no gradient) is for logging. ``loss`` sums the terms of
the current stage; the others are returned detached.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import box_convert, generalized_box_iou_loss, sigmoid_focal_loss

from core.model.mask_losses import cldice_loss, point_sample, uncertain_points
from core.model.matcher import HungarianMatcher

STAGES = ("detection", "masks", "joint")
_MASK_TERMS = {"loss_mask", "loss_dice", "loss_cldice", "loss_thin"}
_STAGE_TERMS = {"detection": {"loss_ce", "loss_bbox", "loss_giou"},
                "masks": _MASK_TERMS,
                "joint": {"loss_ce", "loss_bbox", "loss_giou"} | _MASK_TERMS}


def dice_loss(inputs: torch.Tensor, targets: torch.Tensor, num_boxes: float) -> torch.Tensor:
    """``inputs`` ``[M, P]`` logits, ``targets`` ``[M, P]`` float {0, 1} -> summed 1 - soft dice / num_boxes."""
    inputs = inputs.sigmoid()
    numerator = 2 * (inputs * targets).sum(1)
    denominator = inputs.sum(1) + targets.sum(1)
    return (1 - (numerator + 1) / (denominator + 1)).sum() / num_boxes


def _base_name(key: str) -> str:
    head, _, tail = key.rpartition("_")
    return head if tail.isdigit() else key


class SetCriterion(nn.Module):
    """Args:
        num_classes: real classes (logits have ``num_classes + 1``).
        matcher: ``HungarianMatcher``.
        weight_dict: weight of each base term (``loss_ce``, ``loss_bbox``, ``loss_giou``,
            ``loss_mask``, ``loss_dice``); aux terms use their base term's weight.
        eos_coef: cross-entropy weight of the "no object" class.
        focal_alpha, focal_gamma: the sigmoid focal mask loss.
        mask_loss: ``focal`` or ``bce`` (mean sigmoid cross-entropy).
        mask_loss_stride: 1 compares masks at the input resolution (predictions upsampled x4,
            as published); 4 on the predictions' own grid against area-averaged targets.
        mask_loss_points: 0 for the dense losses above; N > 0 takes the mask and dice losses on N
            importance-sampled points per matched mask, targets read at the input resolution
            (``core.model.mask_losses``; replaces ``mask_loss_stride``).
        thin_classes: class indices of thin structures (cracks); they get ``loss_cldice``
            (weight ``weight_dict["loss_cldice"]``, 0 or absent for none) and, when the outputs
            have ``pred_thin``, ``loss_thin`` (weight ``weight_dict["loss_thin"]``).
    """

    empty_weight: torch.Tensor  # a registered buffer: declared so that its type is known

    def __init__(self, num_classes: int, matcher: HungarianMatcher, weight_dict: dict[str, float],
                 eos_coef: float = 0.1, focal_alpha: float = 0.25, focal_gamma: float = 2.0,
                 mask_loss: str = "focal", mask_loss_stride: int = 1, mask_loss_points: int = 0,
                 thin_classes: frozenset[int] | set[int] = frozenset()):
        super().__init__()
        if mask_loss not in ("focal", "bce") or mask_loss_stride not in (1, 4):
            raise ValueError(f"mask_loss must be focal|bce and mask_loss_stride 1|4, got {mask_loss!r}, "
                             f"{mask_loss_stride}")
        self.mask_loss = mask_loss
        self.mask_loss_stride = mask_loss_stride
        if mask_loss_points < 0:
            raise ValueError(f"mask_loss_points must be >= 0, got {mask_loss_points}")
        self.mask_loss_points = mask_loss_points
        self.thin_classes = frozenset(int(c) for c in thin_classes)
        self.num_classes = num_classes
        self.matcher = matcher
        self.weight_dict = dict(weight_dict)
        self.eos_coef = eos_coef
        self.focal_alpha = focal_alpha
        self.focal_gamma = focal_gamma
        empty_weight = torch.ones(num_classes + 1)
        empty_weight[-1] = eos_coef
        self.register_buffer("empty_weight", empty_weight)
        self.stage = "joint"

    def set_stage(self, stage: str) -> None:
        """Which terms enter ``loss``: "detection" (class + boxes), "masks" (mask + dice), "joint" (all)."""
        if stage not in STAGES:
            raise ValueError(f"unknown training stage {stage!r}; known: {list(STAGES)}")
        self.stage = stage

    # --- the terms ------------------------------------------------------------------------------
    def loss_labels(self, outputs: dict, targets: list[dict], indices, num_boxes: float) -> dict:
        logits = outputs["pred_logits"]
        b_idx, q_idx = _src_index(indices, logits.device)
        target_classes = torch.full(logits.shape[:2], self.num_classes, dtype=torch.int64, device=logits.device)
        matched = torch.cat([t["labels"][j] for t, (_, j) in zip(targets, indices)])
        target_classes[b_idx, q_idx] = matched.to(logits.device)
        loss = F.cross_entropy(logits.transpose(1, 2).float(), target_classes, self.empty_weight.to(logits.device))
        return {"loss_ce": loss}

    def loss_boxes(self, outputs: dict, targets: list[dict], indices, num_boxes: float) -> dict:
        boxes = outputs["pred_boxes"]
        b_idx, q_idx = _src_index(indices, boxes.device)
        src = boxes[b_idx, q_idx].float()
        tgt = torch.cat([t["boxes"][j] for t, (_, j) in zip(targets, indices)]).to(boxes.device).float()
        loss_bbox = F.l1_loss(src, tgt, reduction="sum") / num_boxes
        loss_giou = generalized_box_iou_loss(box_convert(src, "cxcywh", "xyxy"), box_convert(tgt, "cxcywh", "xyxy"),
                                             reduction="sum") / num_boxes
        return {"loss_bbox": loss_bbox, "loss_giou": loss_giou}

    def loss_masks(self, outputs: dict, targets: list[dict], indices, num_boxes: float) -> dict:
        """Dense: at stride 1 the stride-4 predictions are upsampled by exactly 4 (pixel-aligned with
        the input) and compared with the targets zero-padded to that size; at stride 4 they are
        compared with ``grid_masks`` (see ``grid_targets``). With ``mask_loss_points`` both terms
        are taken on sampled points instead. ``loss_cldice`` always on the stride-4 grid."""
        pred = outputs["pred_masks"]
        b_idx, q_idx = _src_index(indices, pred.device)
        if b_idx.numel() == 0:
            zero = pred.sum() * 0.0  # keeps the graph (and dtype) when nothing is matched
            return {"loss_mask": zero, "loss_dice": zero.clone(),
                    **({"loss_cldice": zero.clone()} if self.uses_cldice else {})}
        matched = pred[b_idx, q_idx]  # [M, h4, w4]
        if self.mask_loss_points:
            src, tgt = self.point_pairs(matched, targets, indices)
        elif self.mask_loss_stride == 4:
            tgt = torch.cat([t["grid_masks"][j] for t, (_, j) in zip(targets, indices)]).to(pred.device)
            src = matched.flatten(1).float()
        else:
            h, w = 4 * pred.shape[-2], 4 * pred.shape[-1]
            tgt = torch.cat([_pad_to(t["masks"][j], h, w).to(pred.device, torch.float32)
                             for t, (_, j) in zip(targets, indices)]).flatten(1)
            src = F.interpolate(matched[:, None].float(), size=(h, w), mode="bilinear",
                                align_corners=False).flatten(1)
        if self.mask_loss == "bce":
            per_pixel = F.binary_cross_entropy_with_logits(src, tgt, reduction="none")
        else:
            per_pixel = sigmoid_focal_loss(src, tgt, alpha=self.focal_alpha, gamma=self.focal_gamma, reduction="none")
        terms = {"loss_mask": per_pixel.mean(1).sum() / num_boxes, "loss_dice": dice_loss(src, tgt, num_boxes)}
        if self.uses_cldice:
            terms["loss_cldice"] = self._cldice(matched, targets, indices, num_boxes)
        return terms

    def loss_thin(self, outputs: dict, targets: list[dict]) -> torch.Tensor:
        """The dense thin head against each thin class's union of masks at the input resolution:
        per-pixel cross-entropy + soft dice + soft-clDice, each a mean over (image, class) maps.
        Dice and clDice pool a class's pixels over the whole batch: a photo without cracks still
        learns "none" without a 0/0, and a crack covering 0.3 % of the pixels is not drowned by
        the background as it is in the cross-entropy alone."""
        pred = outputs["pred_thin"]  # [B, K, H, W]
        classes = sorted(self.thin_classes)
        b, _, h, w = pred.shape
        target = pred.new_zeros(b, len(classes), h, w, dtype=torch.float32)
        for i, t in enumerate(targets):
            for j, c in enumerate(classes):
                of_class = t["labels"].to(pred.device) == c
                if bool(of_class.any()):
                    target[i, j] = _pad_to(t["masks"][of_class.cpu()], h, w).to(pred.device).amax(0)
        logits = pred[:, classes].float()
        prob = logits.sigmoid()
        bce = F.binary_cross_entropy_with_logits(logits, target)
        inter, total = (prob * target).sum((0, 2, 3)), (prob + target).sum((0, 2, 3))
        dice = (1 - (2 * inter + 1) / (total + 1)).mean()
        # clDice on 2x2 max-pooled maps: a 1-px crack stays connected there, and the soft skeleton's
        # pooling passes at the full resolution took as long as the rest of a training step.
        pooled_prob = F.max_pool2d(prob.transpose(0, 1).reshape(-1, 1, h, w), 2, ceil_mode=True)
        pooled_target = F.max_pool2d(target.transpose(0, 1).reshape(-1, 1, h, w), 2, ceil_mode=True)
        return bce + dice + cldice_loss(pooled_prob, pooled_target, iterations=2).mean()

    @property
    def uses_cldice(self) -> bool:
        """Whether there is a clDice term: thin classes and a weight for it."""
        return bool(self.thin_classes) and bool(self.weight_dict.get("loss_cldice"))

    def point_pairs(self, matched: torch.Tensor, targets: list[dict], indices) -> tuple[torch.Tensor, torch.Tensor]:
        """(predicted logits, targets) ``[M, K]`` at ``mask_loss_points`` points per matched mask."""
        logits = matched[:, None].float()  # [M, 1, h4, w4]
        coords = uncertain_points(logits, self.mask_loss_points)
        full = torch.cat([t["padded_masks"][j] for t, (_, j) in zip(targets, indices)])[:, None]  # [M, 1, H, W]
        return point_sample(logits, coords), point_sample(full, coords)

    def _cldice(self, matched: torch.Tensor, targets: list[dict], indices, num_boxes: float) -> torch.Tensor:
        """Soft-clDice summed over the matched masks of thin classes / num_boxes (0 without any)."""
        labels = torch.cat([t["labels"][j] for t, (_, j) in zip(targets, indices)]).to(matched.device)
        thin = torch.tensor([int(c) in self.thin_classes for c in labels.tolist()], device=matched.device)
        if not bool(thin.any()):
            return matched.sum() * 0.0
        h4, w4 = matched.shape[-2:]
        grid = torch.cat([t["grid_masks"][j] for t, (_, j) in zip(targets, indices)]).to(matched.device)
        prob = matched[thin][:, None].float().sigmoid()
        return cldice_loss(prob, grid[thin].view(-1, 1, h4, w4)).sum() / num_boxes

    def grid_targets(self, outputs: dict, targets: list[dict]) -> list[dict]:
        """Targets with ``grid_masks`` ``[N, h4*w4]``: each mask's coverage of every cell of the
        predictions' stride-4 grid (area average), and with point losses ``padded_masks``
        ``[N, 4*h4, 4*w4]`` float; computed once for the matcher and every decoder layer's loss."""
        pred = outputs.get("pred_masks")
        needs_grid = ((self.mask_loss_stride == 4 and not self.mask_loss_points) or self.matcher.uses_masks
                      or self.uses_cldice or bool(self.mask_loss_points))
        if pred is None or not needs_grid:
            return targets
        h4, w4 = pred.shape[-2:]
        out = []
        for t in targets:
            m = _pad_to(t["masks"], 4 * h4, 4 * w4).to(pred.device, torch.float32)
            grid = F.avg_pool2d(m[:, None], 4)[:, 0].flatten(1) if len(m) else m.new_zeros(0, h4 * w4)
            extra = {"padded_masks": m} if self.mask_loss_points else {}
            out.append(dict(t, grid_masks=grid, **extra))
        return out

    @torch.no_grad()
    def cardinality_error(self, outputs: dict, targets: list[dict]) -> torch.Tensor:
        """Mean |number of queries predicting a real class - number of targets| per image."""
        logits = outputs["pred_logits"]
        card_pred = (logits.argmax(-1) != logits.shape[-1] - 1).sum(1).float()
        card_true = torch.as_tensor([len(t["labels"]) for t in targets], dtype=torch.float32, device=logits.device)
        return F.l1_loss(card_pred, card_true)

    # --- all together ---------------------------------------------------------------------------
    def forward(self, outputs: dict, targets: list[dict]) -> dict[str, torch.Tensor]:
        """Args:
            outputs: the model's dict (pred_logits, pred_boxes, optional pred_masks, aux_outputs).
            targets: per image labels ``[N]`` int64 class indices, boxes ``[N, 4]`` cxcywh in [0, 1]
                of the padded input, masks ``[N, H, W]`` bool at the padded input size (needed
                when outputs have pred_masks); N may be 0.
        Returns the weighted terms, ``cardinality_error`` and ``loss`` (the stage's weighted sum).
        """
        if len(targets) != outputs["pred_logits"].shape[0]:
            raise ValueError(f"{len(targets)} targets for a batch of {outputs['pred_logits'].shape[0]}")
        wanted = _STAGE_TERMS[self.stage]
        targets = self.grid_targets(outputs, targets)
        num_boxes = float(max(sum(len(t["labels"]) for t in targets), 1))
        raw: dict[str, torch.Tensor] = {}
        box_grad = torch.is_grad_enabled() and bool(wanted & {"loss_ce", "loss_bbox", "loss_giou"})
        mask_grad = torch.is_grad_enabled() and bool(wanted & _MASK_TERMS)
        layers = [(outputs, "")] + [(aux, f"_{i}") for i, aux in enumerate(outputs.get("aux_outputs", []))]
        for layer, suffix in layers:
            indices = self.matcher(layer, targets)
            with torch.set_grad_enabled(box_grad):
                terms = {**self.loss_labels(layer, targets, indices, num_boxes),
                         **self.loss_boxes(layer, targets, indices, num_boxes)}
            if "pred_masks" in layer:
                with torch.set_grad_enabled(mask_grad):
                    terms.update(self.loss_masks(layer, targets, indices, num_boxes))
            raw.update({f"{k}{suffix}": v for k, v in terms.items()})
        if "pred_thin" in outputs and self.thin_classes and self.weight_dict.get("loss_thin"):
            with torch.set_grad_enabled(mask_grad):
                raw["loss_thin"] = self.loss_thin(outputs, targets)
        losses = {}
        total = None
        for key, value in raw.items():
            weighted = value * self.weight_dict.get(_base_name(key), 1.0)
            if _base_name(key) in wanted:
                total = weighted if total is None else total + weighted
                losses[key] = weighted
            else:
                losses[key] = weighted.detach()
        if total is None:
            raise ValueError(f"stage {self.stage!r} has no loss terms for these outputs (no pred_masks?)")
        losses["cardinality_error"] = self.cardinality_error(outputs, targets)
        losses["loss"] = total
        return losses


def _pad_to(masks: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``masks`` ``[N, H', W']`` zero-padded at the bottom/right to float32 ``[N, h, w]``."""
    if masks.shape[-2] > h or masks.shape[-1] > w:
        raise ValueError(f"target masks {tuple(masks.shape[-2:])} are larger than the padded input "
                         f"({h}, {w}) the predictions cover")
    return F.pad(masks.to(torch.float32), (0, w - masks.shape[-1], 0, h - masks.shape[-2]))


def _src_index(indices, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Matched (image index, query index) pairs flattened over the batch."""
    b = torch.cat([torch.full_like(src, i) for i, (src, _) in enumerate(indices)]).to(device)
    q = torch.cat([src for src, _ in indices]).to(device)
    return b, q


def build_criterion(num_classes: int, *, class_coef: float, bbox_coef: float, giou_coef: float, mask_coef: float,
                    dice_coef: float, eos_coef: float, focal_alpha: float, focal_gamma: float,
                    matcher: HungarianMatcher, mask_loss: str = "focal", mask_loss_stride: int = 1,
                    mask_loss_points: int = 0, cldice_coef: float = 0.0,
                    thin_classes: frozenset[int] | set[int] = frozenset(), thin_coef: float = 0.0) -> SetCriterion:
    weights = {"loss_ce": class_coef, "loss_bbox": bbox_coef, "loss_giou": giou_coef,
               "loss_mask": mask_coef, "loss_dice": dice_coef, "loss_cldice": cldice_coef, "loss_thin": thin_coef}
    return SetCriterion(num_classes, matcher, weights, eos_coef=eos_coef, focal_alpha=focal_alpha,
                        focal_gamma=focal_gamma, mask_loss=mask_loss, mask_loss_stride=mask_loss_stride,
                        mask_loss_points=mask_loss_points, thin_classes=thin_classes)
