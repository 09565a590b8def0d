"""Panoptic Inspector core library: formats, project store, model, training, evaluation.

Never imports Qt. Heavy dependencies (torch) are imported lazily by the modules that need them.
"""
__version__ = "0.1.0"
