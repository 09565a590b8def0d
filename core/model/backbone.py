"""ResNet backbone: torchvision ResNet-18/34/50/101 returning the stride 4/8/16/32 feature maps.

State-dict names follow the public DETR layout (``backbone.0.body.layer1.0.conv1.weight``):
``Joiner`` is a two-item ``nn.Sequential`` (backbone, position encoding) and ``body`` holds the
ResNet's modules under their torchvision names, without ``avgpool`` / ``fc``.

ImageNet weights are read from a file the user names, or from torchvision's cache when they
are already there; they are downloaded only when the caller asks for it (``"imagenet"``).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlparse

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.ops import FrozenBatchNorm2d

from core.errors import CheckpointError
from core.model.position_encoding import PositionEmbeddingSine, build_position_encoding

log = logging.getLogger(__name__)

STAGES = ("layer1", "layer2", "layer3", "layer4")
STRIDES = (4, 8, 16, 32)
_CHANNELS = {"resnet18": (64, 128, 256, 512), "resnet34": (64, 128, 256, 512),
             "resnet50": (256, 512, 1024, 2048), "resnet101": (256, 512, 1024, 2048)}
_WEIGHTS = {"resnet18": "ResNet18_Weights", "resnet34": "ResNet34_Weights",
            "resnet50": "ResNet50_Weights", "resnet101": "ResNet101_Weights"}

#: ``backbone_weights`` values: no weights, cached ImageNet weights if present, ImageNet weights
#: downloaded when not cached. Any other string or a Path is a file to read.
WEIGHTS_NONE, WEIGHTS_AUTO, WEIGHTS_IMAGENET = "none", "auto", "imagenet"


class ResNetBody(nn.Module):
    """The ResNet's stem and four stages; ``forward`` returns the requested stages' outputs."""

    # taken over from the torchvision ResNet with setattr: declared so that their types are known
    conv1: nn.Conv2d
    bn1: nn.Module
    relu: nn.Module
    maxpool: nn.Module
    #: channels of each returned stage, set by whoever builds the body into a model
    num_channels: list[int]

    def __init__(self, resnet: torchvision.models.ResNet, return_stages: tuple[str, ...]):
        super().__init__()
        for name in ("conv1", "bn1", "relu", "maxpool", *STAGES):
            setattr(self, name, getattr(resnet, name))
        self.return_stages = return_stages

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        out = []
        for name in STAGES:
            x = getattr(self, name)(x)
            if name in self.return_stages:
                out.append(x)
        return out


class Backbone(nn.Module):
    """Args:
        name: one of ``resnet18|34|50|101``.
        return_interm_layers: return all four strides (the mask head needs them), else stride 32 only.
        trainable_layers: stages that train, counted from ``layer4`` (5 = the stem too).
        frozen_bn: ``FrozenBatchNorm2d`` (public layout) instead of ``BatchNorm2d``.
        weights: see ``load_resnet_weights``.
    """

    def __init__(self, name: str, return_interm_layers: bool, trainable_layers: int, frozen_bn: bool,
                 weights: str | Path | None = None):
        super().__init__()
        if name not in _CHANNELS:
            raise ValueError(f"unknown backbone {name!r}; known: {sorted(_CHANNELS)}")
        norm = FrozenBatchNorm2d if frozen_bn else nn.BatchNorm2d
        resnet = getattr(torchvision.models, name)(weights=None, norm_layer=norm)
        load_resnet_weights(resnet, name, weights)
        train_prefixes = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable_layers]
        if trainable_layers == 5:
            train_prefixes.append("bn1")
        for pname, p in resnet.named_parameters():
            p.requires_grad_(any(pname.startswith(s) for s in train_prefixes))
        stages = STAGES if return_interm_layers else STAGES[-1:]
        self.body = ResNetBody(resnet, stages)
        self.strides = STRIDES if return_interm_layers else STRIDES[-1:]
        self.num_channels = _CHANNELS[name] if return_interm_layers else _CHANNELS[name][-1:]

    def forward(self, images: torch.Tensor, pixel_mask: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """``images`` ``[B, 3, H, W]`` float, ``pixel_mask`` ``[B, H, W]`` bool (True = padding) ->
        (features ``[B, C_i, ~H/s_i, ~W/s_i]`` for each stride s_i, masks ``[B, ~H/s_i, ~W/s_i]`` bool)."""
        feats = self.body(images)
        masks = [F.interpolate(pixel_mask[None].float(), size=f.shape[-2:]).to(torch.bool)[0] for f in feats]
        return feats, masks


class Joiner(nn.Sequential):
    """``[0]`` the backbone, ``[1]`` the position encoding (the public names need this nesting)."""

    def __init__(self, backbone: Backbone, position_embedding: PositionEmbeddingSine):
        super().__init__(backbone, position_embedding)
        self.num_channels = backbone.num_channels
        self.strides = backbone.strides

    # Sequential's forward takes one input; this one takes the photo and its padding mask
    # (a Sequential for the public checkpoints' "0."/"1." names, not for chaining)
    def forward(self, images: torch.Tensor, pixel_mask: torch.Tensor):  # type: ignore[override]
        """Returns (features, masks, pos) where ``pos`` ``[B, hidden_dim, h, w]`` is the position
        encoding of the last (stride 32) level only, the one the transformer reads."""
        feats, masks = self[0](images, pixel_mask)
        pos = self[1](masks[-1]).to(feats[-1].dtype)
        return feats, masks, pos


def cached_weights_path(name: str) -> Path:
    """Where torchvision's cache keeps the ImageNet (V1, as DETR used) weights of ``name``."""
    weights = getattr(torchvision.models, _WEIGHTS[name]).IMAGENET1K_V1
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def load_resnet_weights(resnet: nn.Module, name: str, weights: str | Path | None) -> str:
    """Load ImageNet weights into a torchvision ResNet; returns where they came from.

    ``weights``: None or ``"none"``: keep the random init. ``"auto"``: torchvision's cache if
    the file is there, else random init (logged). ``"imagenet"``: the cache, else a download
    (only this value, which the user chose, ever reaches the network). Anything else: a file holding a
    ResNet state dict (``fc.*`` may be present or not). Raises ``CheckpointError``.
    """
    if weights is None or weights == WEIGHTS_NONE:
        return "random"
    if weights in (WEIGHTS_AUTO, WEIGHTS_IMAGENET):
        path = cached_weights_path(name)
        if not path.is_file():
            if weights == WEIGHTS_AUTO:
                log.info("no cached ImageNet weights for %s at %s; the backbone starts random", name, path)
                return "random"
            url = getattr(torchvision.models, _WEIGHTS[name]).IMAGENET1K_V1.url
            log.info("downloading ImageNet weights for %s from %s", name, url)
            try:
                state = torch.hub.load_state_dict_from_url(url, progress=False, map_location="cpu",
                                                           check_hash=True, weights_only=True)
            except Exception as e:  # network errors have many types (URLError, socket, HTTP)
                raise CheckpointError(f"could not download ImageNet weights for {name}: {e}", url,
                                      hint="check the connection, or copy the file into " + str(path.parent)) from e
            source = url
        else:
            state, source = _read_state(path), str(path)
    else:
        state, source = _read_state(Path(weights)), str(weights)
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    try:
        result = resnet.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches raise even when not strict
        raise CheckpointError(f"not a {name} state dict: {str(e).splitlines()[-1].strip()}", source) from e
    missing = [k for k in result.missing_keys
               if not k.startswith("fc.") and not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise CheckpointError(f"not a {name} state dict: missing {missing[:5]}, unexpected "
                              f"{result.unexpected_keys[:5]}", source)
    log.info("backbone %s: ImageNet weights from %s", name, source)
    return source


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    from core.model.checkpoint import safe_torch_load

    obj = safe_torch_load(path)
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError("the file does not hold a state dict of tensors", path)
    return obj


def build_backbone(name: str, hidden_dim: int, *, with_masks: bool, trainable_layers: int, frozen_bn: bool,
                   weights: str | Path | None = None) -> Joiner:
    backbone = Backbone(name, return_interm_layers=with_masks, trainable_layers=trainable_layers,
                        frozen_bn=frozen_bn, weights=weights)
    return Joiner(backbone, build_position_encoding(hidden_dim))
