"""Mixed precision where it pays: bfloat16 autocast on a CPU that computes bfloat16 natively, off
on one that would emulate it; a run under it learns and keeps float32 weights and says so."""
from __future__ import annotations

import pytest
import torch

import core.device
from core.data import coco_panoptic_source
from core.device import amp_dtype_for
from core.model.checkpoint import load_checkpoint
from core.training import Trainer
from tests.core.data.synth import make_coco_dataset
from tests.core.training.helpers import TINY_MODEL, steps, tiny_config


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return coco_panoptic_source(make_coco_dataset(root, n=4, sizes=((64, 64),),
                                                  kinds=("mixed", "stuff_only", "mixed", "empty")))


@pytest.mark.parametrize("native", [True, False])
def test_a_cpu_gets_bfloat16_only_where_it_is_native(monkeypatch, native):
    monkeypatch.setattr(core.device, "cpu_has_native_bf16", lambda: native)
    assert amp_dtype_for(torch.device("cpu")) == (torch.bfloat16 if native else None)


@pytest.mark.parametrize("avx512_bf16, amx, native", [(True, False, True), (False, True, True),
                                                      (False, False, False), (None, None, False)])
def test_the_cpu_check_reads_torchs_probes_and_a_torch_without_them_says_no(monkeypatch, avx512_bf16, amx, native):
    for name, answer in (("_is_avx512_bf16_supported", avx512_bf16), ("_is_amx_tile_supported", amx)):
        if answer is None:  # an older torch without the probe
            monkeypatch.delattr(torch.cpu, name, raising=False)
        else:
            monkeypatch.setattr(torch.cpu, name, lambda answer=answer: answer)
    assert core.device.cpu_has_native_bf16() is native


def _run(source, out, amp: bool):
    cfg = tiny_config(epochs=6, batch_size=4, hflip=False, crop_prob=0.0, jitter=0.0, lr_schedule="constant",
                      amp=amp)
    return list(Trainer(cfg, source, out, model_config=TINY_MODEL).run())


def test_a_cpu_run_under_bfloat16_learns_keeps_float32_weights_and_says_so(source, tmp_path, monkeypatch):
    # Forced on: a CPU without native bfloat16 emulates it (slower, same numbers), so this runs anywhere.
    monkeypatch.setattr(core.device, "cpu_has_native_bf16", lambda: True)
    records = _run(source, tmp_path / "bf16", amp=True)
    said = " ".join(r.message for r in records if r.kind == "status" and r.phase == "prepare")
    assert "mixed precision bfloat16" in said
    st = steps(records)
    assert len(st) == 6 and st[-1].losses["loss"] < st[0].losses["loss"]
    weights = load_checkpoint(tmp_path / "bf16" / "last.pt")["model"]
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.float32}

    # --no-amp keeps float32 throughout, and the log says nothing of mixed precision.
    plain = _run(source, tmp_path / "fp32", amp=False)
    said = " ".join(r.message for r in plain if r.kind == "status" and r.phase == "prepare")
    assert "mixed precision" not in said and "CPU" in said
    # Same data, same seed: the two runs' first losses agree to bfloat16's precision.
    assert steps(plain)[0].losses["loss"] == pytest.approx(st[0].losses["loss"], rel=0.05)
