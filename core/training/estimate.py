"""Before a run: which device it will use, said plainly, and roughly how long an epoch takes.

The epoch estimate times real training steps of the chosen model at the chosen size on this
machine (random weights and a synthetic photo), because a table of figures measured elsewhere is
wrong by a factor of several on another CPU or under load. It costs a few seconds (small models)
to tens of seconds (``detr_r50`` on a CPU); callers run it in the background.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from collections.abc import Callable


@dataclass(frozen=True)
class DeviceInfo:
    """Where training runs. ``kind``: ``cuda`` | ``cpu``; ``name``: GPU or "CPU";
    ``memory_gib``: GPU memory (0 on the CPU); ``threads``: torch's CPU threads."""

    kind: str
    name: str
    memory_gib: float
    threads: int

    def words(self) -> str:
        if self.kind == "cuda":
            return f"CUDA GPU: {self.name}, {self.memory_gib:.1f} GiB"
        return (f"No CUDA GPU: training will run on the CPU ({self.threads} thread"
                f"{'s' if self.threads != 1 else ''}), much slower than on a GPU")


def probe_device(device: str = "auto") -> DeviceInfo:
    """The device ``device`` (``TrainConfig.device``) resolves to. Imports torch."""
    import torch

    from core.device import resolve_device

    name = resolve_device(device)
    if name.startswith("cuda"):
        index = torch.device(name).index or 0
        p = torch.cuda.get_device_properties(index)
        return DeviceInfo("cuda", p.name, p.total_memory / 2**30, torch.get_num_threads())
    return DeviceInfo("cpu", "CPU", 0.0, torch.get_num_threads())


def _synthetic_batch(size: int, batch: int, num_classes: int):
    """``batch`` random photos of ``size`` x ``size * 3 / 4`` px with three segments each."""
    import torch

    h, w = max(32, (size * 3 // 4) // 32 * 32), max(32, size // 32 * 32)
    g = torch.Generator().manual_seed(0)
    images = torch.randn((batch, 3, h, w), generator=g)
    pixel_mask = torch.zeros((batch, h, w), dtype=torch.bool)
    targets = []
    for _ in range(batch):
        masks = torch.zeros((3, h, w), dtype=torch.bool)
        masks[0, : h // 2] = True
        masks[1, h // 2:, : w // 3] = True
        masks[2, h // 2:, w // 3:] = True
        boxes = torch.tensor([[0.5, 0.25, 1.0, 0.5], [1 / 6, 0.75, 1 / 3, 0.5], [2 / 3, 0.75, 2 / 3, 0.5]])
        labels = torch.arange(3) % max(num_classes, 1)
        targets.append({"labels": labels, "boxes": boxes, "masks": masks})
    return images, pixel_mask, targets


def time_training_step(model_preset: str, size: int, categories, *, batch_size: int = 1, device: str = "cpu",
                       steps: int = 1, threads: int = 0, cancel: Callable[[], bool] | None = None) -> float:
    """Seconds per photo of one training step (forward, losses, backward, optimizer step) of
    ``model_preset`` at ``size`` px (longer side), after one warm-up step, with ``threads`` CPU
    threads (0: torch's default, as ``TrainConfig.cpu_threads``). Returns NaN when ``cancel()``
    turned true before the timing finished. Sets torch's thread count for the whole process:
    run it in a process of its own (``core.training.background.call_in_child``)."""
    import torch

    from core.model import build_model, get_preset

    if threads > 0:
        torch.set_num_threads(threads)

    model, criterion, _ = build_model(get_preset(model_preset), categories, backbone_weights=None)
    dev = torch.device(device)
    model.to(dev).train()
    criterion.to(dev)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    images, pixel_mask, targets = _synthetic_batch(size, batch_size, len(categories))
    images, pixel_mask = images.to(dev), pixel_mask.to(dev)
    targets = [{k: v.to(dev) for k, v in t.items()} for t in targets]
    elapsed = 0.0
    for i in range(steps + 1):
        if cancel is not None and cancel():
            return float("nan")
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        losses = criterion(model(images, pixel_mask), targets)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        if i > 0:  # the first step pays for allocations and kernel selection
            elapsed += time.perf_counter() - t0
    return elapsed / (steps * batch_size)


def estimate_per_photo(model_preset: str, size: int, categories_json: list, device: str = "auto",
                       threads: int = 0) -> tuple[DeviceInfo, float]:
    """``(device, seconds per training photo)`` on ``device`` (``auto``: CUDA when present);
    picklable arguments, for ``call_in_child``."""
    from core.categories import CategorySet
    from core.device import resolve_device

    if threads > 0:
        import torch

        torch.set_num_threads(threads)
    info = probe_device(device)
    per_photo = time_training_step(model_preset, size, CategorySet.from_json(categories_json),
                                   device=resolve_device(device), threads=threads)
    return info, per_photo


def epoch_seconds(per_photo_s: float, train_photos: int, val_photos: int) -> float:
    """An epoch: every training photo once, plus the evaluation (a forward pass, about a third
    of a training step, per validation photo)."""
    return per_photo_s * (train_photos + val_photos / 3)


def duration_words(seconds: float) -> str:
    """``"about 40 s"``, ``"about 12 min"``, ``"about 3.5 h"``."""
    if seconds != seconds:
        return "unknown"
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"
