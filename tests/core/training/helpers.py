"""Tiny model and training configs for the training tests (seconds on a 2-core CPU)."""
from __future__ import annotations

from core.model.config import get_preset
from core.training import TrainConfig

#: One encoder and one decoder layer, hidden 32; the ResNet-18 is frozen (trainable layers 0)
#: so steps and checkpoints stay small, and everything after it trains.
TINY_MODEL = get_preset("cpu_small").replace(hidden_dim=32, nheads=2, enc_layers=1, dec_layers=1,
                                             dim_feedforward=64, num_queries=8, trainable_backbone_layers=0)


def tiny_config(**changes) -> TrainConfig:
    base = TrainConfig(epochs=2, batch_size=2, min_size=64, max_size=64, eval_every=0, val_fraction=0.0,
                       lr=1e-3, lr_backbone=1e-4, init_kind="none", num_workers=0, seed=0)
    return base.replace(**changes)


def steps(records) -> list:
    return [r for r in records if r.kind == "step"]
