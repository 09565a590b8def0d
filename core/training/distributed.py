"""Data-parallel training over several processes (``torchrun --nproc_per_node=N main.py train``).

``torchrun`` sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``;
``DistContext.from_env`` joins the process group (NCCL with CUDA, gloo on the CPU). One process
per GPU; every process runs the same trainer and only rank 0 writes checkpoints and metrics.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from core.errors import TrainingError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistContext:
    """Where this process stands among the data-parallel ones (a single process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @staticmethod
    def env_world_size() -> int:
        try:
            return int(os.environ.get("WORLD_SIZE", "1"))
        except ValueError:
            return 1

    @staticmethod
    def from_env(device: str = "auto") -> DistContext:
        """Join the process group described by torchrun's variables (none: a single process).

        ``device`` picks the backend: NCCL when the run uses CUDA, else gloo. With CUDA each
        process takes GPU ``LOCAL_RANK``.
        """
        world = DistContext.env_world_size()
        if world <= 1:
            return DistContext()
        rank = int(os.environ["RANK"])
        local = int(os.environ.get("LOCAL_RANK", rank))
        if dist.is_initialized():
            return DistContext(dist.get_rank(), dist.get_world_size(), local)
        use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
        backend = "nccl" if use_cuda and dist.is_nccl_available() else "gloo"
        if use_cuda:
            torch.cuda.set_device(local)
        try:
            dist.init_process_group(backend=backend)
        except (RuntimeError, ValueError) as e:
            raise TrainingError(f"could not join the {world}-process training group ({backend}): {e}",
                                hint="start several processes with torchrun --nproc_per_node=N") from e
        log.info("process %d of %d joined (%s)", rank, world, backend)
        return DistContext(rank, world, local)

    def device_for(self, device: str) -> str:
        """``cuda`` becomes ``cuda:LOCAL_RANK`` under DDP (one GPU per process)."""
        if self.enabled and device == "cuda":
            return f"cuda:{self.local_rank}"
        return device

    # --- collectives (no-ops in a single process) -------------------------------------------------
    def all_reduce_mean(self, t: torch.Tensor) -> torch.Tensor:
        if self.enabled:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
            t /= self.world_size
        return t

    def all_reduce_max(self, t: torch.Tensor) -> torch.Tensor:
        if self.enabled:
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return t

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``DistributedDataParallel`` around ``model`` under DDP, else the model itself."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DDP wrapper (the one whose state dict checkpoints hold)."""
    return getattr(model, "module", model)


def shutdown() -> None:
    """Leave the process group (call once at the end of a torchrun process)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
