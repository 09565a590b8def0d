"""Deterministic batch order, sharded across processes, resumable in the middle of an epoch.

Every sample of epoch ``e`` is drawn as a ``SampleKey(index, seed)`` whose ``seed`` fixes its
augmentation. The order and the seeds depend only on ``(base seed, epoch)``, never on how many
data-loader workers run or where a run was interrupted, so a resumed run sees exactly the batches
an uninterrupted run would have seen.
"""
from __future__ import annotations

import math
from typing import NamedTuple
from collections.abc import Iterator

import torch


class SampleKey(NamedTuple):
    """Which sample to load (``index``) and the seed of its random augmentation."""

    # shadows tuple.index(), which nobody calls on a key: the sample's position reads best so
    index: int  # type: ignore[assignment]
    seed: int


class EpochBatchSampler(torch.utils.data.Sampler):
    """Batches of ``SampleKey`` for one epoch of one process.

    Like ``DistributedSampler``: the permutation is padded (by repeating its start) to a multiple
    of ``world_size`` and process ``rank`` takes every ``world_size``-th item, so all processes run
    the same number of steps.

    Args:
        num_samples: dataset length.
        batch_size: samples per batch (per process).
        seed, epoch: what the order and augmentation seeds derive from.
        rank, world_size: this process among the data-parallel ones.
        shuffle: False keeps the dataset order (evaluation).
        drop_last: drop a last, smaller batch (training; avoids a noisy tiny step).
        start_batch: skip this many batches (resuming within an epoch).
    """

    def __init__(self, num_samples: int, batch_size: int, *, seed: int = 0, epoch: int = 0, rank: int = 0,
                 world_size: int = 1, shuffle: bool = True, drop_last: bool = True, start_batch: int = 0):
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        self.num_samples, self.batch_size = int(num_samples), int(batch_size)
        self.seed, self.epoch = int(seed), int(epoch)
        self.rank, self.world_size = int(rank), int(world_size)
        self.shuffle, self.drop_last, self.start_batch = shuffle, drop_last, int(start_batch)

    def _per_rank(self) -> int:
        return math.ceil(self.num_samples / self.world_size) if self.num_samples else 0

    def num_batches(self) -> int:
        """Batches in a full epoch for this process (``start_batch`` not subtracted)."""
        n = self._per_rank()
        if self.drop_last and n >= self.batch_size:
            return n // self.batch_size
        return math.ceil(n / self.batch_size)

    def __len__(self) -> int:
        return max(0, self.num_batches() - self.start_batch)

    def __iter__(self) -> Iterator[list[SampleKey]]:
        if self.num_samples == 0:
            return
        g = torch.Generator()
        g.manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.num_samples, generator=g) if self.shuffle else torch.arange(self.num_samples)
        seeds = torch.randint(0, 2**62, (self.num_samples,), generator=g)
        total = self._per_rank() * self.world_size
        if total > self.num_samples:  # pad so every process runs the same number of steps
            reps = math.ceil(total / self.num_samples)
            order = order.repeat(reps)[:total]
        mine = order[self.rank:total:self.world_size].tolist()
        for b in range(self.start_batch, self.num_batches()):
            chunk = mine[b * self.batch_size:(b + 1) * self.batch_size]
            if not chunk:
                return
            yield [SampleKey(i, int(seeds[i])) for i in chunk]
