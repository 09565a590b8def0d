"""Training DETR panoptic models: configuration, the trainer (a generator of progress records),
checkpoints and resume, distributed data parallelism.

    from core.training import Trainer, TrainConfig
    for record in Trainer(TrainConfig(epochs=10), source, "runs/r1").run():
        print(record)

The configuration and record types import without torch (the command line's ``--help`` stays
fast); ``Trainer`` and ``train`` load the trainer, and torch with it, on first use.
"""
from core.training.config import PRESETS, STAGES, TrainConfig, get_train_preset
from core.training.records import (EpochRecord, EvalRecord, MetricsFile, ProgressRecord, StatusRecord, StepRecord,
                                   SummaryRecord, record_from_dict, record_to_dict)

__all__ = [
    "PRESETS", "STAGES", "TrainConfig", "get_train_preset", "EpochRecord", "EvalRecord", "MetricsFile",
    "ProgressRecord", "StatusRecord", "StepRecord", "SummaryRecord", "record_from_dict", "record_to_dict",
    "Trainer", "train",
]


def __getattr__(name: str):
    if name in ("Trainer", "train"):
        from core.training import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'core.training' has no attribute {name!r}")
