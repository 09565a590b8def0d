"""A narrow ResNet-18 for training from random weights on a CPU.

ResNet-18's layout (2 basic blocks per stage, strides 4/8/16/32) with every stage's width scaled
by ``width / 64``. ImageNet weights do not exist for it; it exists because a random-init
backbone has to learn everything from a few hundred photos, where a quarter of ResNet-18's
channels train ~4x faster per image and lose little on concrete textures (bench/bench_convergence.py).
Batch norms are ordinary ``BatchNorm2d`` that learn: frozen statistics would leave a random stem.
"""
from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock


class NarrowResNet(nn.Module):
    """``forward(x [B,3,H,W]) -> [c2, c3, c4, c5]`` at strides 4, 8, 16, 32 with
    ``num_channels = [w, 2w, 4w, 8w]`` channels."""

    def __init__(self, width: int = 32, blocks: tuple[int, int, int, int] = (2, 2, 2, 2)):
        super().__init__()
        self._inplanes = width
        self.stem = nn.Sequential(nn.Conv2d(3, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        self.layer1 = self._stage(width, blocks[0], 1)
        self.layer2 = self._stage(width * 2, blocks[1], 2)
        self.layer3 = self._stage(width * 4, blocks[2], 2)
        self.layer4 = self._stage(width * 8, blocks[3], 2)
        self.num_channels = [width, width * 2, width * 4, width * 8]
        self.strides = [4, 8, 16, 32]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for m in self.modules():  # zero-init the last BN of each block: each block starts as identity
            if isinstance(m, BasicBlock):
                nn.init.zeros_(m.bn2.weight)

    def _stage(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        down = None
        if stride != 1 or self._inplanes != planes:
            down = nn.Sequential(nn.Conv2d(self._inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self._inplanes, planes, stride, down)]
        self._inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        return [c2, c3, c4, self.layer4(c4)]
