"""DETR's transformer encoder/decoder (post-norm by default), returning every decoder layer.

Parameter names follow the public checkpoints (``encoder.layers.0.self_attn.in_proj_weight``,
``decoder.norm``); attention is ``nn.MultiheadAttention`` called with ``need_weights=False`` so
that PyTorch runs its fused scaled-dot-product kernel instead of materialising averaged
attention weights nobody reads. Tensors are batch-first ``[B, S, C]`` throughout.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn


def _with_pos(x: torch.Tensor, pos: torch.Tensor | None) -> torch.Tensor:
    return x if pos is None else x + pos


class TransformerEncoderLayer(nn.Module):
    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float, normalize_before: bool):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.normalize_before = normalize_before

    def _ffn(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(F.relu(self.linear1(x))))

    def forward(self, src: torch.Tensor, key_padding_mask: torch.Tensor | None,
                pos: torch.Tensor | None) -> torch.Tensor:
        """``src``, ``pos``: ``[B, S, C]``; ``key_padding_mask``: ``[B, S]`` bool, True = padding."""
        if self.normalize_before:
            s = self.norm1(src)
            q = _with_pos(s, pos)
            src = src + self.dropout1(self.self_attn(q, q, s, key_padding_mask=key_padding_mask, need_weights=False)[0])
            return src + self.dropout2(self._ffn(self.norm2(src)))
        q = _with_pos(src, pos)
        src = self.norm1(src + self.dropout1(self.self_attn(q, q, src, key_padding_mask=key_padding_mask,
                                                            need_weights=False)[0]))
        return self.norm2(src + self.dropout2(self._ffn(src)))


class TransformerDecoderLayer(nn.Module):
    # Built like the encoder layer on purpose, not derived from it: the attribute names and
    # their creation order are the public checkpoints' keys and the seeded initialisation, and
    # the decoder adds cross-attention with its own norm and dropout between the two steps.
    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float, normalize_before: bool):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=True)
        self.multihead_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.normalize_before = normalize_before

    def _ffn(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.dropout(F.relu(self.linear1(x))))

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, memory_key_padding_mask: torch.Tensor | None,
                pos: torch.Tensor | None, query_pos: torch.Tensor | None) -> torch.Tensor:
        """``tgt``, ``query_pos``: ``[B, Q, C]``; ``memory``, ``pos``: ``[B, S, C]``;
        ``memory_key_padding_mask``: ``[B, S]`` bool."""
        key = _with_pos(memory, pos)
        if self.normalize_before:
            t = self.norm1(tgt)
            q = _with_pos(t, query_pos)
            tgt = tgt + self.dropout1(self.self_attn(q, q, t, need_weights=False)[0])
            t = self.norm2(tgt)
            tgt = tgt + self.dropout2(self.multihead_attn(_with_pos(t, query_pos), key, memory,
                                                          key_padding_mask=memory_key_padding_mask,
                                                          need_weights=False)[0])
            return tgt + self.dropout3(self._ffn(self.norm3(tgt)))
        q = _with_pos(tgt, query_pos)
        tgt = self.norm1(tgt + self.dropout1(self.self_attn(q, q, tgt, need_weights=False)[0]))
        tgt = self.norm2(tgt + self.dropout2(self.multihead_attn(_with_pos(tgt, query_pos), key, memory,
                                                                 key_padding_mask=memory_key_padding_mask,
                                                                 need_weights=False)[0]))
        return self.norm3(tgt + self.dropout3(self._ffn(tgt)))


class TransformerEncoder(nn.Module):
    def __init__(self, layer: TransformerEncoderLayer, num_layers: int, norm: nn.LayerNorm | None):
        super().__init__()
        self.layers = nn.ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])
        self.norm = norm

    def forward(self, src, key_padding_mask, pos):
        for layer in self.layers:
            src = layer(src, key_padding_mask, pos)
        return src if self.norm is None else self.norm(src)


class TransformerDecoder(nn.Module):
    """Returns ``[L, B, Q, C]``: the (final-normed) output of every layer, for auxiliary losses."""

    def __init__(self, layer: TransformerDecoderLayer, num_layers: int, norm: nn.LayerNorm):
        super().__init__()
        self.layers = nn.ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])
        self.norm = norm

    def forward(self, tgt, memory, memory_key_padding_mask, pos, query_pos) -> torch.Tensor:
        intermediate = []
        for layer in self.layers:
            tgt = layer(tgt, memory, memory_key_padding_mask, pos, query_pos)
            intermediate.append(self.norm(tgt))
        return torch.stack(intermediate)


class Transformer(nn.Module):
    """Encoder over the flattened stride-32 features, decoder over the object queries."""

    def __init__(self, d_model: int = 256, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 normalize_before: bool = False):
        super().__init__()
        enc_layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, normalize_before)
        # Post-norm encoders have no final norm (and the public checkpoints none in their state dict).
        self.encoder = TransformerEncoder(enc_layer, num_encoder_layers,
                                          nn.LayerNorm(d_model) if normalize_before else None)
        dec_layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, normalize_before)
        self.decoder = TransformerDecoder(dec_layer, num_decoder_layers, nn.LayerNorm(d_model))
        self.d_model = d_model
        self.nhead = nhead
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, src: torch.Tensor, mask: torch.Tensor, query_embed: torch.Tensor,
                pos_embed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args:
            src: ``[B, C, h, w]`` projected features; mask: ``[B, h, w]`` bool, True = padding;
            query_embed: ``[Q, C]`` learned queries; pos_embed: ``[B, C, h, w]``.
        Returns:
            hs ``[L, B, Q, C]`` (every decoder layer), memory ``[B, C, h, w]`` (the encoded image).
        """
        b, c, h, w = src.shape
        src = src.flatten(2).transpose(1, 2)
        pos = pos_embed.flatten(2).transpose(1, 2)
        key_padding_mask = mask.flatten(1)
        query_pos = query_embed.unsqueeze(0).expand(b, -1, -1)
        tgt = torch.zeros_like(query_pos)
        memory = self.encoder(src, key_padding_mask, pos)
        hs = self.decoder(tgt, memory, key_padding_mask, pos, query_pos)
        return hs, memory.transpose(1, 2).reshape(b, c, h, w)


def build_transformer(hidden_dim: int, nheads: int, enc_layers: int, dec_layers: int, dim_feedforward: int,
                      dropout: float, pre_norm: bool) -> Transformer:
    return Transformer(d_model=hidden_dim, nhead=nheads, num_encoder_layers=enc_layers,
                       num_decoder_layers=dec_layers, dim_feedforward=dim_feedforward, dropout=dropout,
                       normalize_before=pre_norm)
