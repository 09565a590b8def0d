"""Synthetic photos of concrete surfaces with defects, and their exact panoptic truth.

``generate_sample`` makes one photo; ``write_coco_dataset`` writes many as a COCO panoptic
dataset. See ``core.synthetic.generator`` for what a photo contains. A leaf of core: it imports
nothing above the panoptic format, so the sample project built from it lives in ``core.demo``.
"""
from core.synthetic.camera import CameraConfig
from core.synthetic.generator import SynthConfig, categories_of, generate_sample, image_seed, parse_size
from core.synthetic.writer import DatasetSummary, SizeRange, parse_size_spec, write_coco_dataset

__all__ = ["CameraConfig", "SynthConfig", "categories_of", "generate_sample", "image_seed", "parse_size",
           "DatasetSummary", "SizeRange", "parse_size_spec",
           "write_coco_dataset"]
