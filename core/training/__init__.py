"""Training DETR panoptic models: configuration, the trainer (a generator of progress records),
checkpoints and resume, distributed data parallelism.

    from core.training import Trainer, TrainConfig
    for record in Trainer(TrainConfig(epochs=10), source, "runs/r1").run():
        print(record)
"""
from core.training.config import PRESETS, STAGES, TrainConfig, get_train_preset
from core.training.records import (EpochRecord, EvalRecord, MetricsFile, ProgressRecord, StatusRecord, StepRecord,
                                   SummaryRecord, record_from_dict, record_to_dict)
from core.training.trainer import Trainer, train

__all__ = [
    "PRESETS", "STAGES", "TrainConfig", "get_train_preset", "EpochRecord", "EvalRecord", "MetricsFile",
    "ProgressRecord", "StatusRecord", "StepRecord", "SummaryRecord", "record_from_dict", "record_to_dict",
    "Trainer", "train",
]
