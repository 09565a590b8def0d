"""Which parameters train in each stage, the AdamW groups, and the learning-rate schedule.

Parameter names follow the public DETR layout (``core.model``): the panoptic model keeps the
detector under ``detr.`` and adds ``bbox_attention.*`` and ``mask_head.*``; the backbone is
``backbone.*`` (``detr.backbone.*``); the class head ``class_embed.*``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

MASK_HEAD_PREFIXES = ("bbox_attention.", "mask_head.")


def is_mask_head(name: str) -> bool:
    return name.startswith(MASK_HEAD_PREFIXES)


def is_backbone(name: str) -> bool:
    return name.startswith(("backbone.", "detr.backbone."))


class StageFreezer:
    """Sets ``requires_grad`` and module modes for a stage, on top of what the model itself froze.

    The model decides which backbone layers may ever train (``trainable_backbone_layers``); this
    remembers that once and, per stage, freezes the rest: in ``detection`` the mask head, in
    ``masks`` the whole detector, which then also runs in eval mode, so its batch-norm statistics
    stay bit-identical and the mask head learns from the features it will see at inference.
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self.trainable = {n for n, p in model.named_parameters() if p.requires_grad}
        self.stage = "joint"

    def _trains(self, name: str, stage: str) -> bool:
        if name not in self.trainable:
            return False
        if stage == "detection":
            return not is_mask_head(name)
        if stage == "masks":
            return is_mask_head(name)
        return True

    def apply(self, stage: str) -> None:
        self.stage = stage
        for n, p in self.model.named_parameters():
            p.requires_grad_(self._trains(n, stage))

    def train_mode(self) -> None:
        """``model.train()`` except the frozen detector in the masks stage (kept in eval)."""
        self.model.train()
        if self.stage == "masks":
            for name, child in self.model.named_children():
                if not name.startswith(tuple(p.rstrip(".") for p in MASK_HEAD_PREFIXES)):
                    child.eval()

    def trained_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]


#: Learning-rate factor of the dense thin head (``core.model.thin_head``) over ``lr``. Its
#: per-pixel loss over a few hundred thousand pixels gives small, noisy gradients, and a head
#: added to a trained model must catch up within a short run: at ``lr`` it had not learnt to
#: draw a crack after 150 steps of fine-tuning the shipped model; alone on that model's features
#: at 5x it reached crack IoU 0.75 in 165 steps (0.60 at 1x).
THIN_HEAD_LR_FACTOR = 5.0


def build_optimizer(model: nn.Module, lr: float, lr_backbone: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over the parameters that currently require grad: group 0 everything but the
    backbone and the thin head at ``lr``, group 1 the backbone at ``lr_backbone``, group 2 the
    thin head, when the model has one, at ``THIN_HEAD_LR_FACTOR * lr``."""
    main: list[nn.Parameter] = []
    backbone: list[nn.Parameter] = []
    thin: list[nn.Parameter] = []
    for n, p in model.named_parameters():
        if p.requires_grad:
            (backbone if is_backbone(n) else thin if n.startswith("thin_head.") else main).append(p)
    groups = [{"params": main, "lr": lr, "name": "main"},
              {"params": backbone, "lr": lr_backbone, "name": "backbone"}]
    if thin:  # only then: a run without the head resumes with the two groups it saved
        groups.append({"params": thin, "lr": lr * THIN_HEAD_LR_FACTOR, "name": "thin_head"})
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)


@dataclass
class LRSchedule:
    """Multiplier of the base learning rates at optimizer step ``s`` of a stage (picklable, so
    ``LambdaLR`` keeps it in its state dict).

    ``kind``: ``step`` (``drop_factor`` from ``drop_step`` on), ``cosine`` (from 1 to 0.01 over
    ``total_steps``), ``constant``. ``warmup_steps`` of linear warm-up come first.
    ``progress_floor`` (in [0, 1]): the trainer's share of a time budget already spent; the cosine
    runs by whichever is further, steps or time, so a run cut short by ``max_minutes`` still ends
    its decay instead of stopping at a high learning rate (what a short CPU run lives on).
    ``by_time``: the run lasts its time budget (``TrainConfig.follow_budget``): progress is the
    share of the budget alone (the steps say nothing of how many more will fit), the cosine
    decays over the budget and the step schedule drops at ``time_drop_at`` of it.
    """

    kind: str
    total_steps: int
    drop_step: int = 0
    drop_factor: float = 0.1
    warmup_steps: int = 0
    progress_floor: float = 0.0
    by_time: bool = False
    time_drop_at: float = 2.0 / 3.0

    def progress(self, s: int) -> float:
        """Share of the schedule done at step ``s``, in [0, 1]."""
        if self.by_time:
            return min(max(self.progress_floor, 0.0), 1.0)
        if self.total_steps <= 0:
            return min(max(self.progress_floor, 0.0), 1.0)
        return min(max(max(s, 0) / self.total_steps, self.progress_floor), 1.0)

    def __call__(self, s: int) -> float:
        f = 1.0
        if self.kind == "step":
            if self.by_time:
                dropped = self.progress(s) >= self.time_drop_at
            else:
                dropped = self.drop_step > 0 and s >= self.drop_step
            f = self.drop_factor if dropped else 1.0
        elif self.kind == "cosine" and (self.total_steps > 0 or self.by_time):
            f = 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * self.progress(s)))
        if self.warmup_steps > 0 and s < self.warmup_steps:
            f *= (s + 1) / self.warmup_steps
        return f


def build_scheduler(optimizer: torch.optim.Optimizer, schedule: LRSchedule) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
