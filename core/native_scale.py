"""The scale a model trained on native windows saw photos at (shared by training and inference).

With ``TrainConfig.native_crop_prob`` > 0, training decodes photos at up to
``NATIVE_DECODE_FACTOR`` x ``max_size`` and shows part of the samples as ``max_size`` windows of
that decode, not resized: a 384-px photo at its own size, a 12-MP one at a view its windows show
cracks more sharply in (and the cache holds 4x the pixels, not a full-size photo each). Inference
reads thin structures at the same scale (``core.inference.predictor``), since a per-pixel crack
head learnt at one width misses cracks shown thinner.
"""
from __future__ import annotations

from collections.abc import Mapping

NATIVE_DECODE_FACTOR = 2


def decode_size(max_size: int, native_crop_prob: float) -> int:
    """Longer side training photos are decoded (and cached) at."""
    return int(max_size) * (NATIVE_DECODE_FACTOR if native_crop_prob > 0 else 1)


def native_size_of(train_config: Mapping | None) -> int:
    """``decode_size`` of a stored training config (a checkpoint's ``training.train_config``), or 0
    when it was not trained on native windows or does not say."""
    if not isinstance(train_config, Mapping):
        return 0
    max_size, prob = train_config.get("max_size"), train_config.get("native_crop_prob")
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 32:
        return 0
    if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not prob > 0:
        return 0
    return decode_size(max_size, float(prob))
