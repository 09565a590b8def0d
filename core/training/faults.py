"""Turning the ways a training step can die into clear, typed errors (docs/faults.md: NaN loss,
out of GPU memory, a GPU that disappears).

Every message says where the last good checkpoint is, so the user knows nothing is lost.
"""
from __future__ import annotations

import torch

from core.errors import TrainingError


def _kept(last_checkpoint: str | None) -> str:
    return f"the last good checkpoint is {last_checkpoint}" if last_checkpoint else \
        "no checkpoint had been written yet"


def non_finite_loss(step: int, epoch: int, losses: dict[str, float], last_checkpoint: str | None) -> TrainingError:
    bad = sorted(k for k, v in losses.items() if not (v == v and abs(v) != float("inf")))
    return TrainingError(
        f"the loss became NaN or infinite at step {step} (epoch {epoch}; terms: {', '.join(bad) or 'loss'}); "
        f"training stopped and {_kept(last_checkpoint)}",
        hint="lower the learning rate (--lr), keep gradient clipping on, or check the annotations of "
             "this data; resume from the checkpoint once changed")


def non_finite_gradients(step: int, epoch: int, last_checkpoint: str | None) -> TrainingError:
    return TrainingError(
        f"the gradients became NaN or infinite at step {step} (epoch {epoch}); training stopped and "
        f"{_kept(last_checkpoint)}", hint="lower the learning rate (--lr) or the gradient clipping norm")


def is_out_of_memory(e: BaseException) -> bool:
    if isinstance(e, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(e)
    return isinstance(e, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text
                                            or "not enough memory" in text)


def is_device_lost(e: BaseException) -> bool:
    text = str(e)
    accel = getattr(torch, "AcceleratorError", ())
    return (bool(accel) and isinstance(e, accel)) or (isinstance(e, RuntimeError) and (
        "CUDA error" in text or "device-side assert" in text or "cudaError" in text or "NCCL" in text))


def translate(e: BaseException, *, device: str, batch_size: int, max_size: int,
              last_checkpoint: str | None) -> TrainingError | None:
    """A ``TrainingError`` for out-of-memory and lost-device failures; None for anything else."""
    if is_out_of_memory(e):
        where = "GPU" if device.startswith("cuda") else "computer"
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
        return TrainingError(
            f"out of {where} memory with batch size {batch_size} at image size {max_size} px; "
            f"{_kept(last_checkpoint)}",
            hint=f"try --batch-size {max(1, batch_size // 2)} or --max-size {max(64, (max_size * 3 // 4) // 32 * 32)}"
                 + (", keep mixed precision on (--amp)" if device.startswith("cuda") else "")
                 + ", then resume")
    if is_device_lost(e):
        return TrainingError(f"the GPU stopped working during training ({str(e).splitlines()[0][:200]}); "
                             f"{_kept(last_checkpoint)}",
                             hint="check the driver and the card (nvidia-smi), then resume; or train on the CPU "
                                  "with --device cpu")
    return None
