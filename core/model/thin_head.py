"""Dense thin-structure head: per-class logits at the input resolution, for cracks.

Query masks live on a stride-4 grid, so a 1-5 px crack is thinner than one mask cell: its
bilinear-upsampled mask is a ribbon several pixels wide, and its instance (one 8-connected crack
network) is whatever the queries happened to cover. This head draws thin classes per pixel
instead, from the pixel decoder's stride-4 embedding (what is where) fused with a small
convolutional stem on the input image itself at strides 2 and 1 (where exactly the dark line
runs). At panoptic assembly (``core.model.thin_fusion``) the connected components of its
thresholded map become the thin classes' segments, which is the instance definition the data
uses (docs/design.md, "Crack networks").

Every class gets an output channel (a semantic head), so the class rows follow the categories as
the class head's do when fine-tuning re-maps categories; only thin classes are trained and used.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Probability at which a pixel belongs to a thin class (the head is trained with per-pixel BCE).
THIN_PIXEL_THRESHOLD = 0.5


def _conv_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    # No normalisation at strides 1 and 2: a GroupNorm there cost as much as the convolution.
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.ReLU(inplace=True))


class DilatedResidual(nn.Module):
    """``x + conv(relu(norm(conv(x))))`` with 3 x 3 convolutions dilated by ``dilation``,
    ``[B, C, h, w] -> [B, C, h, w]``. The second convolution starts at zero: a block added to a
    trained head leaves its output as it was until fine-tuning finds a use for it."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation, bias=False)
        self.norm = nn.GroupNorm(4, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation)
        with torch.no_grad():
            self.conv2.weight.zero_()
            self.conv2.bias.zero_()  # type: ignore[union-attr]  # built with a bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.norm(self.conv1(x))))


class ThinHead(nn.Module):
    """Args:
        mask_dim: channels of the pixel decoder's stride-4 mask embedding.
        num_classes: real classes (one output channel each; no "no object").
        width: channels of the stride-2 fusion.
        stem: channels of the image stem at stride 1 (stride 2 has twice as many).
        context: ``DilatedResidual`` blocks after the stride-2 fusion, dilations 2, 4, 8, ...:
            the fusion alone sees a few pixels around each point and the stride-4 embedding
            beside it; a faint crack in textured concrete is told apart by its continuation
            along a line some ten pixels long.

    ``forward(mask_features [B, mask_dim, H/4, W/4], images [B, 3, H, W]) -> [B, num_classes, H, W]``
    logits (``H``, ``W`` the padded input; a multiple of 4 is not required).

    Cost, why it is this shape: at stride 1 only an 8-channel stem and a 3x3 output convolution
    run (a 384 px input has 147k pixels there), the one fusing 3x3 convolution at stride 2; the
    head adds about a fifth to a cpu_fast training step (two fusing layers of 24 channels and
    normalised stems had added half).
    """

    def __init__(self, mask_dim: int, num_classes: int, width: int = 16, stem: int = 8, context: int = 0):
        super().__init__()
        self.stem1 = _conv_relu(3, stem)                    # stride 1: edges of the dark line
        self.stem2 = _conv_relu(stem, 2 * stem, stride=2)   # stride 2
        self.reduce = nn.Conv2d(mask_dim, width, 1)         # stride 4 -> fusion width
        self.fuse = nn.Sequential(nn.Conv2d(width + 2 * stem, width, 3, padding=1, bias=False),
                                  nn.GroupNorm(4, width), nn.ReLU(inplace=True))
        self.context = nn.Sequential(*(DilatedResidual(width, 2 ** (i + 1)) for i in range(context)))
        self.logits2 = nn.Conv2d(width, num_classes, 1)
        self.detail = nn.Conv2d(stem, num_classes, 3, padding=1)
        # Start from "hardly anything is thin" (p = 0.12; a crack covers under 1 % of a photo): the
        # first steps learn where cracks are instead of un-learning a grey everywhere (RetinaNet's
        # prior; -4 learnt more slowly on the shipped model's features).
        with torch.no_grad():
            self.logits2.bias.fill_(-2.0)  # type: ignore[union-attr]  # built with a bias
            self.detail.weight.zero_()
            self.detail.bias.zero_()  # type: ignore[union-attr]

    def forward(self, mask_features: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        full = self.stem1(images)
        half = self.stem2(full)
        coarse = F.interpolate(self.reduce(mask_features), size=half.shape[-2:], mode="bilinear", align_corners=False)
        fused = self.context(self.fuse(torch.cat([coarse, half], 1)))
        logits = F.interpolate(self.logits2(fused), size=images.shape[-2:], mode="bilinear", align_corners=False)
        return logits + self.detail(full)
