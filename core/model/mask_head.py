"""The panoptic mask head: each query's attention map over the encoded image, then an FPN-style
upsampling conv head (group norm) that turns it into one stride-4 mask logit map per query.

Names and shapes follow the public DETR panoptic checkpoint (``bbox_attention.q_linear``,
``mask_head.lay1`` .. ``out_lay``, ``adapter1..3``). The head works one image at a time over any
subset of that image's queries: every layer treats each query independently (convolutions,
group norm per sample), so masks computed for a few selected queries equal the masks the full
computation gives those queries, and backbone features are broadcast rather than copied per query.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _groups(channels: int) -> int:
    # The public head uses 8 groups everywhere; narrower presets may have channel counts 8 does
    # not divide, and then the largest divisor of 8 that fits keeps group norm defined.
    return math.gcd(8, channels)


class MHAttentionMap(nn.Module):
    """Attention weights of each query over the encoded image (no values: only the map).

    The softmax runs jointly over heads and pixels, exactly as the public model does.
    """

    def __init__(self, query_dim: int, hidden_dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.q_linear = nn.Linear(query_dim, hidden_dim)
        self.k_linear = nn.Linear(query_dim, hidden_dim)
        nn.init.zeros_(self.k_linear.bias)
        nn.init.zeros_(self.q_linear.bias)
        nn.init.xavier_uniform_(self.k_linear.weight)
        nn.init.xavier_uniform_(self.q_linear.weight)
        self.normalize_fact = float(hidden_dim / num_heads) ** -0.5

    def forward(self, q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``q`` ``[B, Q, C]`` query features, ``k`` ``[B, C, h, w]`` encoded image, ``mask``
        ``[B, h, w]`` bool (True = padding) -> ``[B, Q, nheads, h, w]`` float weights."""
        q = self.q_linear(q)
        k = F.conv2d(k, self.k_linear.weight[:, :, None, None], self.k_linear.bias)
        head_dim = self.hidden_dim // self.num_heads
        qh = q.view(q.shape[0], q.shape[1], self.num_heads, head_dim)
        kh = k.view(k.shape[0], self.num_heads, head_dim, k.shape[-2], k.shape[-1])
        weights = torch.einsum("bqnc,bnchw->bqnhw", qh * self.normalize_fact, kh)
        if mask is not None:
            weights = weights.masked_fill(mask[:, None, None], float("-inf"))
        return F.softmax(weights.flatten(2), dim=-1).view(weights.shape)


class MaskHeadSmallConv(nn.Module):
    """Upsampling conv head. Args:
        dim: ``hidden_dim + nheads`` (projected features concatenated with the attention maps).
        fpn_dims: backbone channels at strides 16, 8, 4.
        context_dim: ``hidden_dim``; the layer widths are fractions of it.
    """

    def __init__(self, dim: int, fpn_dims: tuple[int, int, int], context_dim: int):
        super().__init__()
        inter = [dim, context_dim // 2, context_dim // 4, context_dim // 8, context_dim // 16]
        self.lay1 = nn.Conv2d(dim, dim, 3, padding=1)
        self.gn1 = nn.GroupNorm(_groups(dim), dim)
        self.lay2 = nn.Conv2d(dim, inter[1], 3, padding=1)
        self.gn2 = nn.GroupNorm(_groups(inter[1]), inter[1])
        self.lay3 = nn.Conv2d(inter[1], inter[2], 3, padding=1)
        self.gn3 = nn.GroupNorm(_groups(inter[2]), inter[2])
        self.lay4 = nn.Conv2d(inter[2], inter[3], 3, padding=1)
        self.gn4 = nn.GroupNorm(_groups(inter[3]), inter[3])
        self.lay5 = nn.Conv2d(inter[3], inter[4], 3, padding=1)
        self.gn5 = nn.GroupNorm(_groups(inter[4]), inter[4])
        self.out_lay = nn.Conv2d(inter[4], 1, 3, padding=1)
        self.adapter1 = nn.Conv2d(fpn_dims[0], inter[1], 1)
        self.adapter2 = nn.Conv2d(fpn_dims[1], inter[2], 1)
        self.adapter3 = nn.Conv2d(fpn_dims[2], inter[3], 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=1)
                if m.bias is not None:  # every conv here has one
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor, bbox_mask: torch.Tensor, fpns: list[torch.Tensor]) -> torch.Tensor:
        """One image. ``x`` ``[C, h, w]`` projected stride-32 features; ``bbox_mask``
        ``[K, nheads, h, w]`` attention maps of K queries; ``fpns`` the image's features at strides
        16, 8, 4 (``[C_i, h_i, w_i]``) -> ``[K, h_4, w_4]`` mask logits."""
        k = bbox_mask.shape[0]
        x = torch.cat([x.unsqueeze(0).expand(k, -1, -1, -1), bbox_mask], 1)
        x = F.relu(self.gn1(self.lay1(x)))
        x = F.relu(self.gn2(self.lay2(x)))
        for adapter, lay, gn, fpn in ((self.adapter1, self.lay3, self.gn3, fpns[0]),
                                      (self.adapter2, self.lay4, self.gn4, fpns[1]),
                                      (self.adapter3, self.lay5, self.gn5, fpns[2])):
            cur = adapter(fpn.unsqueeze(0))  # [1, C', h', w'], broadcast over the K queries
            x = cur + F.interpolate(x, size=cur.shape[-2:], mode="nearest")
            x = F.relu(gn(lay(x)))
        return self.out_lay(x).squeeze(1)


def build_mask_head(hidden_dim: int, nheads: int,
                    backbone_channels: tuple[int, ...]) -> tuple[MHAttentionMap, MaskHeadSmallConv]:
    """``backbone_channels``: channels at strides 4, 8, 16, 32."""
    attention = MHAttentionMap(hidden_dim, hidden_dim, nheads)
    head = MaskHeadSmallConv(hidden_dim + nheads, (backbone_channels[2], backbone_channels[1], backbone_channels[0]),
                             hidden_dim)
    return attention, head
