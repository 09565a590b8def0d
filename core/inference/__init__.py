"""Inference: from a checkpoint and photos to panoptic predictions people can look at.

* ``Predictor`` (predictor.py) - ``from_checkpoint``, ``predict(photo)``, ``predict_many(paths)``.
* ``PanopticPrediction`` (result.py) - what the network said once, re-thresholdable:
  ``panoptic(threshold)`` at full resolution in the photo's upright frame; ``to_bytes``/``from_bytes``.
* ``fill_unlabeled`` (merge.py) - keep a manual annotation, let the model fill its void pixels.
* ``render_prediction_overlay`` (overlay.py) - colour fill, outlines, "crack 0.92" labels.
* project adapter (store.py) - predictions stored per image and model, re-thresholded in place.
"""
from core.inference.batch import BatchItem, iter_predictions
from core.inference.merge import fill_unlabeled
from core.inference.predictor import DEFAULT_INPUT_SIZE, DecodedPhoto, Predictor, input_size_of
from core.inference.label_maps import expand_nearest
from core.inference.result import DEFAULT_MIN_THRESHOLD, PanopticPrediction, PredictionMeta

__all__ = ["BatchItem", "DEFAULT_INPUT_SIZE", "DEFAULT_MIN_THRESHOLD", "DecodedPhoto", "PanopticPrediction",
           "PredictionMeta", "Predictor", "expand_nearest", "fill_unlabeled", "input_size_of", "iter_predictions"]
