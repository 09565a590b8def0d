"""FPN pixel decoder of the fast-converging model (``architecture="mask_detr"``).

Turns backbone features at strides 4/8/16/32 into (a) per-pixel mask embeddings at stride 4, the
space in which every query's mask is a dot product, and (b) three ``hidden_dim``-channel maps at
strides 32/16/8 that the decoder's queries attend to (coarse to fine, as in Mask2Former).
The stride-4 path is kept narrow (``mask_dim`` channels, a single 3x3 conv) because at stride 4 a
``hidden_dim`` 3x3 conv would cost more than the whole narrow backbone.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv_gn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(8, cout), nn.ReLU(inplace=True))


class PixelDecoder(nn.Module):
    """Args:
        in_channels: channels of the backbone's stride 4, 8, 16, 32 features.
        hidden_dim: channels of the multi-scale maps the decoder attends to.
        mask_dim: channels of the stride-4 mask embedding.
    ``forward(feats) -> (mask_features [B, mask_dim, H/4, W/4], [p32, p16, p8] each [B, hidden_dim, h, w])``.
    """

    def __init__(self, in_channels: list[int], hidden_dim: int, mask_dim: int):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, hidden_dim, 1) for c in in_channels[1:])
        self.output = nn.ModuleList(_conv_gn_relu(hidden_dim, hidden_dim) for _ in in_channels[1:])
        self.lateral4 = nn.Conv2d(in_channels[0], mask_dim, 1)
        self.reduce8 = nn.Conv2d(hidden_dim, mask_dim, 1)
        self.output4 = _conv_gn_relu(mask_dim, mask_dim)
        self.mask_proj = nn.Conv2d(mask_dim, mask_dim, 1)

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        c4, rest = feats[0], feats[1:]                      # stride 4; strides 8, 16, 32
        x = self.output[-1](self.lateral[-1](rest[-1]))
        levels = [x]
        for i in range(len(rest) - 2, -1, -1):              # top-down: 16, then 8
            x = self.lateral[i](rest[i]) + F.interpolate(x, size=rest[i].shape[-2:], mode="nearest")
            x = self.output[i](x)
            levels.append(x)
        y = self.lateral4(c4) + F.interpolate(self.reduce8(x), size=c4.shape[-2:], mode="nearest")
        return self.mask_proj(self.output4(y)), levels      # levels: stride 32, 16, 8
