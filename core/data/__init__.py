"""Training data: sources (COCO panoptic folder, project), the torch Dataset, v2 transforms,
deterministic batch sampling and padding collate.

Typical use::

    source = open_source("dataset/panoptic_train.json")
    ds = PanopticDataset(source, build_train_transforms(320, 384), base_size=384)
    ds.preload()
    loader = DataLoader(ds, batch_sampler=EpochBatchSampler(len(ds), 4, seed=0, epoch=0),
                        collate_fn=collate)
"""
from core.data.collate import Batch, collate
from core.data.dataset import DecodedItem, PanopticDataset, Sample, decode_item
from core.data.sampler import EpochBatchSampler, SampleKey
from core.data.sources import (CocoPanopticLoader, DataSource, TrainSample, coco_panoptic_source, open_source,
                               open_sources, split_source)
from core.data.targets import CompactAnnotation, masks_to_boxes_exclusive, targets_from_index_map
from core.data.transforms import (IMAGENET_MEAN, IMAGENET_STD, LongSideResize, RandomSizeCrop,
                                  build_eval_transforms, build_train_transforms, scale_steps)

__all__ = [
    "Batch", "collate", "DecodedItem", "PanopticDataset", "Sample", "decode_item", "EpochBatchSampler",
    "SampleKey", "CocoPanopticLoader", "DataSource", "TrainSample", "coco_panoptic_source", "open_source",
    "open_sources",
    "split_source", "CompactAnnotation", "masks_to_boxes_exclusive", "targets_from_index_map",
    "IMAGENET_MEAN", "IMAGENET_STD", "LongSideResize", "RandomSizeCrop", "build_eval_transforms",
    "build_train_transforms", "scale_steps",
]
