"""Prediction under bfloat16 autocast (a CPU that computes it natively) shows a user what float32
does: the shipped model on a generated photo, same categories per pixel, same large segments,
the same crack map to within a few grey levels."""
from __future__ import annotations

import numpy as np
import pytest

import core.device
from core.demo.sample_model import demo_model_path
from core.inference import Predictor
from core.synthetic.generator import generate_sample
from tests.support.results import category_map, found_in, large_segments

SHIPPED = demo_model_path()


@pytest.mark.skipif(SHIPPED is None, reason="this build has no demo model")
def test_bfloat16_prediction_shows_what_float32_shows(monkeypatch):
    # Forced on: a CPU without native bfloat16 emulates it (slower, same numbers).
    monkeypatch.setattr(core.device, "cpu_has_native_bf16", lambda: True)
    mixed = Predictor.from_checkpoint(SHIPPED, "cpu")
    full = Predictor.from_checkpoint(SHIPPED, "cpu", mixed_precision=False)
    assert str(mixed.amp_dtype) == "torch.bfloat16" and full.amp_dtype is None
    rgb, _ = generate_sample(9001, (384, 384))
    a, b = full.predict(rgb), mixed.predict(rgb)
    pa, pb = a.panoptic(0.5), b.panoptic(0.5)
    assert (category_map(pa) == category_map(pb)).mean() > 0.98
    big_a, big_b = large_segments(pa), large_segments(pb)
    assert len(big_a) >= 2 and found_in(big_a, big_b) and found_in(big_b, big_a)
    # The crack head's map (uint8 probabilities) differs by rounding, not by what it draws.
    diff = np.abs(a.thin_probs.astype(int) - b.thin_probs.astype(int))
    assert np.median(diff) <= 1 and ((a.thin_probs > 127) == (b.thin_probs > 127)).mean() > 0.995
