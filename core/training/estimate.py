"""Before a run: which device it will use, said plainly, and roughly how long the run takes.

The estimate times the run's own work on this machine, on a few of the project's own photos:
reading them (a full-size JPEG decode and resize can cost more than a small model's step),
training steps of the chosen model (random weights) through the run's dataset and augmentation
at the chosen size and batch, an evaluation pass and a checkpoint save; a table of figures
measured elsewhere is wrong by a factor of several on another CPU or under load, and synthetic
tensors leave out the reading. It costs a few seconds (small models) to tens of seconds
(``detr_r50`` on a CPU); callers run it in a helper process. Once the run has started, its own
epoch times replace this guess (the training panel's remaining time).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from collections.abc import Callable


@dataclass(frozen=True)
class DeviceInfo:
    """Where training runs. ``kind``: ``cuda`` | ``cpu``; ``name``: GPU or "CPU";
    ``memory_gib``: GPU memory (0 on the CPU); ``threads``: torch's CPU threads;
    ``mixed_precision``: the autocast dtype's name when training uses one ("" for none)."""

    kind: str
    name: str
    memory_gib: float
    threads: int
    mixed_precision: str = ""

    def words(self) -> str:
        precision = f", {self.mixed_precision} mixed precision" if self.mixed_precision else ""
        if self.kind == "cuda":
            return f"CUDA GPU: {self.name}, {self.memory_gib:.1f} GiB{precision}"
        return (f"No CUDA GPU: training will run on the CPU ({self.threads} thread"
                f"{'s' if self.threads != 1 else ''}{precision}), much slower than on a GPU")


def probe_device(device: str = "auto") -> DeviceInfo:
    """The device ``device`` (``TrainConfig.device``) resolves to. Imports torch."""
    import torch

    from core.device import amp_dtype_for, resolve_device

    name = resolve_device(device)
    amp = amp_dtype_for(torch.device(name))
    precision = str(amp).removeprefix("torch.") if amp is not None else ""
    if name.startswith("cuda"):
        index = torch.device(name).index or 0
        p = torch.cuda.get_device_properties(index)
        return DeviceInfo("cuda", p.name, p.total_memory / 2**30, torch.get_num_threads(), precision)
    return DeviceInfo("cpu", "CPU", 0.0, torch.get_num_threads(), precision)


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


# --- the run's estimate, measured on the project's own photos ----------------------------------
#: Photos of the project the estimate decodes and trains on (spread over the training set).
SAMPLE_PHOTOS = 3


@dataclass(frozen=True)
class RunEstimate:
    """What a few real steps of a run cost on this machine, and the run's size.

    Seconds: ``decode_s`` reading one photo (full-size decode, resize to the training size, its
    annotation), ``step_s`` one training photo once decoded (augmentation, forward, losses,
    backward, optimizer step, at the run's batch size), ``eval_s`` one validation photo
    (evaluation transforms, forward, post-processing, PQ), ``checkpoint_s`` one checkpoint
    (weights and optimizer state written to disk). ``photos``: how many of the project's photos
    were measured; ``cached``: decoded photos stay in memory (read once, before the first epoch)
    rather than being read again every epoch.
    """

    device: DeviceInfo
    photos: int
    decode_s: float
    step_s: float
    eval_s: float
    checkpoint_s: float
    cached: bool


def epoch_train_seconds(est: RunEstimate, train_photos: int, val_photos: int, batch_size: int,
                        checkpoint: bool = True) -> float:
    """One epoch without its evaluation: the full batches of ``train_photos`` (the trainer's
    sampler drops a last, partial one), the checkpoint (unless ``checkpoint`` is False: a run
    that lasts its budget saves at save points, ``core.training.save_points``), and reading every
    photo again when they do not fit the cache."""
    steps = train_photos // batch_size if train_photos >= batch_size else 1
    seconds = steps * batch_size * est.step_s + (est.checkpoint_s if checkpoint else 0.0)
    if not est.cached:
        seconds += (train_photos + val_photos) * est.decode_s
    return seconds


def run_seconds(est: RunEstimate, train_photos: int, val_photos: int, *, epochs: int, batch_size: int,
                eval_every: int, max_minutes: float = 0.0, follow_budget: bool = False) -> float:
    """The whole run: reading the photos, ``epochs`` x the steps of an epoch (full batches, as
    the trainer's sampler makes them), the evaluations (every ``eval_every`` epochs and the
    last; 0: none) and one checkpoint per epoch; the time budget instead when the run follows it,
    or as a cap when ``max_minutes`` is set."""
    reads = (train_photos + val_photos) * est.decode_s
    per_epoch = epoch_train_seconds(est, train_photos, val_photos, batch_size)
    evals = 0 if eval_every <= 0 or val_photos == 0 else epochs // eval_every + (epochs % eval_every != 0)
    total = (reads if est.cached else 0.0) + epochs * per_epoch + evals * val_photos * est.eval_s
    if max_minutes > 0:
        budget = (reads if est.cached else 0.0) + max_minutes * 60
        total = budget if follow_budget else min(total, budget)
    return total


def measure_run(config, train, val=None, *, photos: int = SAMPLE_PHOTOS, steps: int = 2,
                model_config=None, cancel: Callable[[], bool] | None = None) -> RunEstimate:
    """Time a run of ``config`` (a ``TrainConfig``) on up to ``photos`` photos of ``train`` (a
    ``core.data.DataSource``; ``val`` for the evaluation, else the same photos) through the
    run's own data pipeline: the dataset, the augmentation at the run's sizes, ``collate``,
    the model of ``config.model_preset`` (or ``model_config``, a ``ModelConfig``: a project
    model's own architecture) with random weights at ``config.batch_size``, one
    warm-up step, then ``steps`` timed ones. Raises ``CancelledError`` when ``cancel()`` turns
    true. Sets torch's thread count for the whole process: run it in a process of its own."""
    import tempfile

    import torch

    from core.data import PanopticDataset, build_eval_transforms, collate
    from core.device import amp_dtype_for, autocast_for, memory_format_for, resolve_device
    from core.errors import CancelledError, DatasetError
    from core.model import build_model, get_preset
    from core.training.evaluate import evaluate_pq
    from core.training.setup import train_dataset
    from core.training.step import forward_losses

    def check() -> None:
        if cancel is not None and cancel():
            raise CancelledError("the speed measurement was cancelled")

    if config.cpu_threads > 0:
        torch.set_num_threads(config.cpu_threads)
    if len(train) == 0:
        raise DatasetError("there are no photos to train on", train.name or None)
    info = probe_device(config.device)
    dev = torch.device(resolve_device(config.device))
    k = min(photos, len(train))
    picked = sorted({round(i * (len(train) - 1) / max(k - 1, 1)) for i in range(k)})
    ds = train_dataset(config, train.subset(picked), cache=True)
    event = _CancelEvent(cancel)
    t0 = time.perf_counter()
    ds.preload(cancel=event, threads=1)  # decodes and caches, as the run's preload does
    decode_s = (time.perf_counter() - t0) / len(ds)
    per_photo_bytes = ds.cached_bytes / len(ds)
    cached = config.cache_images and per_photo_bytes * len(train) <= config.cache_max_mb * 2**20

    arch = model_config if model_config is not None else get_preset(config.model_preset)
    model, criterion, postprocessor = build_model(arch, train.categories, backbone_weights=None)
    fmt = memory_format_for(dev)  # layout and precision as the trainer's
    amp = amp_dtype_for(dev) if config.amp else None
    model.to(dev).to(memory_format=fmt).train()
    criterion.to(dev)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    b = config.batch_size
    elapsed = 0.0
    for step in range(steps + 1):
        check()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t1 = time.perf_counter()
        batch = collate([ds[(step * b + j) % len(ds)] for j in range(b)])
        if batch is None:
            raise DatasetError("none of the measured photos could be read", train.name or None)
        batch = batch.to(dev)
        losses = forward_losses(model, criterion, batch, dev.type, amp, fmt)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        if step > 0:  # the first step pays for allocations and kernel selection
            elapsed += time.perf_counter() - t1
    step_s = elapsed / (steps * b)

    check()
    vsrc = val if val is not None and len(val) else train.subset(picked)
    vds = PanopticDataset(vsrc.subset(range(min(k, len(vsrc)))), build_eval_transforms(config.eval_side),
                          base_size=config.eval_side, cache=True, keep_gt=True)
    vds.preload(cancel=event, threads=1)  # reading is counted in decode_s already
    loader = torch.utils.data.DataLoader(vds, batch_size=b, collate_fn=collate)
    t2 = time.perf_counter()
    evaluate_pq(model, postprocessor, loader, train.categories, dev, threshold=config.eval_threshold,
                cancel=event, autocast=lambda: autocast_for(dev.type, amp))
    eval_s = (time.perf_counter() - t2) / len(vds)

    check()
    with tempfile.TemporaryDirectory() as tmp:
        t3 = time.perf_counter()
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, f"{tmp}/last.pt")
        checkpoint_s = time.perf_counter() - t3
    return RunEstimate(info, len(ds), decode_s, step_s, eval_s, checkpoint_s, cached)


class _CancelEvent:
    """``threading.Event``'s ``is_set`` over a ``cancel()`` callable (the evaluation asks that)."""

    def __init__(self, cancel: Callable[[], bool] | None):
        self._cancel = cancel

    def is_set(self) -> bool:
        return self._cancel is not None and bool(self._cancel())


def estimate_project_run(project_path: str, config_json: dict, model_config_json: dict | None = None,
                         photos: int = SAMPLE_PHOTOS) -> RunEstimate:
    """``measure_run`` on the photos a run of the project would use (its train / val split, or
    the run's random hold-out) with the model the run would build (the initial checkpoint's own
    architecture, else ``model_config_json``, else the preset's: the trainer's rule); picklable
    arguments, for ``call_in_child``."""
    from core.data.project_source import project_sources
    from core.errors import InspectorError
    from core.model import get_preset
    from core.model.config import ModelConfig
    from core.training.config import TrainConfig
    from core.training.setup import choose_model, split_data

    config = TrainConfig.from_dict(config_json)
    train, val = split_data(config, *project_sources(project_path))
    given = ModelConfig.from_dict(model_config_json) if model_config_json is not None else None
    try:
        arch = choose_model(config, train.categories, None, given).config
    except InspectorError:  # initial weights that cannot be read: the run says why; time the model named
        arch = given if given is not None else get_preset(config.model_preset)
    return measure_run(config, train, val, photos=photos, model_config=arch)
