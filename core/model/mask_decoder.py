"""Masked-attention query decoder of the fast-converging model (``architecture="mask_detr"``).

Each layer: the queries cross-attend to one feature level (strides 32, 16, 8 in turn), restricted
to the pixels inside the mask the previous layer predicted for them (masked attention,
Mask2Former); then self-attention among queries; then a feed-forward block; post-norm residuals.
Restricting attention to the predicted foreground is what makes the decoder learn in a few
thousand images instead of hundreds of epochs: a query no longer has to discover *where* to look
from a uniform attention over the whole image.
"""
from __future__ import annotations

import torch
from torch import nn


class MaskedDecoderLayer(nn.Module):
    """``forward(q [B,Q,D], q_pos [B,Q,D], memory [B,HW,D], mem_pos [B,HW,D], attn_mask) -> [B,Q,D]``.

    ``attn_mask``: None or BoolTensor ``[B*nheads, Q, HW]``, True where attention is NOT allowed.
    """

    def __init__(self, hidden_dim: int, nheads: int, dim_feedforward: int, dropout: float = 0.0):
        super().__init__()
        self.cross_attn = nn.MultiheadAttention(hidden_dim, nheads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(hidden_dim)
        self.self_attn = nn.MultiheadAttention(hidden_dim, nheads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(hidden_dim)
        self.ffn = nn.Sequential(nn.Linear(hidden_dim, dim_feedforward), nn.ReLU(inplace=True),
                                 nn.Dropout(dropout), nn.Linear(dim_feedforward, hidden_dim))
        self.norm3 = nn.LayerNorm(hidden_dim)

    def forward(self, q: torch.Tensor, q_pos: torch.Tensor, memory: torch.Tensor, mem_pos: torch.Tensor,
                attn_mask: torch.Tensor | None) -> torch.Tensor:
        attended = self.cross_attn(q + q_pos, memory + mem_pos, memory, attn_mask=attn_mask, need_weights=False)[0]
        q = self.norm1(q + attended)
        qk = q + q_pos
        q = self.norm2(q + self.self_attn(qk, qk, q, need_weights=False)[0])
        return self.norm3(q + self.ffn(q))


def attention_mask_from(mask_logits: torch.Tensor, size: tuple[int, int], nheads: int,
                        key_padding: torch.Tensor | None) -> torch.Tensor:
    """Predicted masks -> where each query may attend at the next level.

    Args:
        mask_logits: ``[B, Q, h4, w4]`` the previous prediction's mask logits.
        size: ``(h, w)`` of the level the next layer attends to.
        nheads: attention heads (the mask is repeated per head, as ``nn.MultiheadAttention`` wants).
        key_padding: ``[B, h*w]`` True on padding, or None.
    Returns:
        ``[B*nheads, Q, h*w]`` bool, True = not allowed. A query whose mask is empty may attend
        everywhere (else its softmax would be over nothing).
    """
    small = torch.nn.functional.interpolate(mask_logits, size=size, mode="bilinear", align_corners=False)
    blocked = small.flatten(2) < 0.0  # sigmoid < 0.5
    if key_padding is None:
        blocked = blocked & ~blocked.all(-1, keepdim=True)
    else:
        padding = key_padding[:, None, :].expand_as(blocked)
        blocked = blocked | padding
        blocked = torch.where(blocked.all(-1, keepdim=True), padding, blocked)
    return blocked.repeat_interleave(nheads, dim=0).detach()
