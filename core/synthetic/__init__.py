"""Synthetic photos of concrete surfaces with defects, and their exact panoptic truth.

``generate_sample`` makes one photo; ``write_coco_dataset`` writes many as a COCO panoptic
dataset; ``build_sample_project`` makes the sample project from ``resources/sample``. See
``core.synthetic.generator`` for what a photo contains.
"""
from core.synthetic.camera import CameraConfig
from core.synthetic.generator import SynthConfig, categories_of, generate_sample, image_seed, parse_size
from core.synthetic.sample import build_sample_project, dataset_to_project
from core.synthetic.writer import DatasetSummary, SizeRange, parse_size_spec, write_coco_dataset

__all__ = ["CameraConfig", "SynthConfig", "categories_of", "generate_sample", "image_seed", "parse_size",
           "build_sample_project", "dataset_to_project", "DatasetSummary", "SizeRange", "parse_size_spec",
           "write_coco_dataset"]
