"""Synthetic photos of concrete surfaces with defects, and their exact panoptic truth.

``generate_sample`` makes one photo; ``write_coco_dataset`` writes many as a COCO panoptic
dataset. See ``core.synthetic.generator`` for what a photo contains.
"""
from core.synthetic.camera import CameraConfig
from core.synthetic.generator import SynthConfig, categories_of, generate_sample, image_seed, parse_size

__all__ = ["CameraConfig", "SynthConfig", "categories_of", "generate_sample", "image_seed", "parse_size"]
