"""Sine position encoding of a feature map (DETR's ``PositionEmbeddingSine``, normalised).

Coordinates are counted over the non-padded pixels only, so an image gets the same encoding
whatever padding the batch adds to it. No parameters: nothing appears in the state dict.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class PositionEmbeddingSine(nn.Module):
    """Args:
        num_pos_feats: channels per axis (``hidden_dim // 2``); output has twice as many.
        temperature: wavelength base of the sines.
        normalize: scale coordinates to ``[0, scale]`` over the valid region.
    """

    def __init__(self, num_pos_feats: int = 128, temperature: float = 10000.0, normalize: bool = True,
                 scale: float = 2 * math.pi):
        super().__init__()
        self.num_pos_feats = num_pos_feats
        self.temperature = temperature
        self.normalize = normalize
        self.scale = scale

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        """``mask``: BoolTensor ``[B, h, w]``, True on padding -> FloatTensor ``[B, 2*num_pos_feats, h, w]``
        (y encodings first, then x, as in the public checkpoints)."""
        not_mask = ~mask
        y_embed = not_mask.cumsum(1, dtype=torch.float32)
        x_embed = not_mask.cumsum(2, dtype=torch.float32)
        if self.normalize:
            eps = 1e-6
            y_embed = y_embed / (y_embed[:, -1:, :] + eps) * self.scale
            x_embed = x_embed / (x_embed[:, :, -1:] + eps) * self.scale
        dim_t = torch.arange(self.num_pos_feats, dtype=torch.float32, device=mask.device)
        dim_t = self.temperature ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / self.num_pos_feats)
        pos_x = x_embed[:, :, :, None] / dim_t
        pos_y = y_embed[:, :, :, None] / dim_t
        pos_x = torch.stack((pos_x[:, :, :, 0::2].sin(), pos_x[:, :, :, 1::2].cos()), dim=4).flatten(3)
        pos_y = torch.stack((pos_y[:, :, :, 0::2].sin(), pos_y[:, :, :, 1::2].cos()), dim=4).flatten(3)
        return torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)


def build_position_encoding(hidden_dim: int) -> PositionEmbeddingSine:
    return PositionEmbeddingSine(hidden_dim // 2, normalize=True)
