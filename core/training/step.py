"""One optimisation step of the training loop, and the seeding before a run.

The ``Trainer`` owns the loop (epochs, budgets, records, checkpoints); what one batch does to the
weights is here: the forward pass under autocast, the losses in float32, the backward pass through
the gradient scaler, clipping and the optimizer step. The checks between them (a non-finite loss
or gradient stops the run with a clear error) stay with the trainer, which knows the step and epoch.
"""
from __future__ import annotations

import math
import random

import numpy as np
import torch

from core.device import autocast_for


def seed_everything(seed: int) -> None:
    """Python's, NumPy's and torch's generators from one seed."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def float_outputs(x):
    """Model outputs in float32 (the criterion and matcher run outside autocast)."""
    if torch.is_tensor(x):
        return x.float() if x.is_floating_point() else x
    if isinstance(x, dict):
        return {k: float_outputs(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(float_outputs(v) for v in x)
    return x


def forward_losses(module: torch.nn.Module, criterion: torch.nn.Module, batch, device_type: str,
                   amp_dtype: torch.dtype | None,
                   memory_format: torch.memory_format = torch.contiguous_format) -> dict[str, torch.Tensor]:
    """The criterion's terms for one batch on the device (``batch.images`` ``[B, 3, H, W]``,
    ``batch.pixel_mask`` ``[B, H, W]``, ``batch.targets``); the forward pass under autocast when
    ``amp_dtype`` (None: float32), the losses always in float32; the images in ``memory_format``
    (the model's)."""
    with autocast_for(device_type, amp_dtype):
        outputs = module(batch.images.contiguous(memory_format=memory_format), batch.pixel_mask)
    return criterion(float_outputs(outputs), batch.targets)


def backward_and_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                      params: list[torch.nn.Parameter], clip_grad_norm: float) -> float:
    """Backward through ``scaler``, clip the gradients of ``params`` to ``clip_grad_norm`` (<= 0:
    no clipping, the norm is still measured), step. Returns the gradient norm before clipping
    (inf/nan when it is not finite; with float16 scaling such a step is skipped and the scale
    lowered, without scaling the caller stops the run)."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    norm = torch.nn.utils.clip_grad_norm_(params, clip_grad_norm if clip_grad_norm > 0 else math.inf)
    grad_norm = float(norm)
    if math.isfinite(grad_norm) or scaler.is_enabled():
        scaler.step(optimizer)
        scaler.update()
    return grad_norm
