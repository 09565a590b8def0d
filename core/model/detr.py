"""The DETR detector (class + box heads, auxiliary outputs) and the panoptic model around it.

``forward`` is the full training path and returns the same dict in train and eval mode.
``predict`` is the inference path: no auxiliary heads and, for the panoptic model, masks only for
the queries that can survive the caller's lowest threshold; for those queries its outputs equal
``forward``'s within float tolerance.

State-dict names: ``DETR`` has exactly the names of the public detection checkpoint, and
``DETRPanoptic`` those of the public panoptic one (the detector under ``detr.``).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from core.model.backbone import Joiner, ResNetBody
from core.model.mask_head import MaskHeadSmallConv, MHAttentionMap
from core.model.postprocess import MASK_FILL, select_queries
from core.model.transformer import Transformer


class MLP(nn.Module):
    """A few linear layers with ReLU between them (``layers.0`` ... the public names)."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int):
        super().__init__()
        dims = [input_dim] + [hidden_dim] * (num_layers - 1)
        self.layers = nn.ModuleList(nn.Linear(n, k) for n, k in zip(dims, dims[1:] + [output_dim]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else F.relu(layer(x))
        return x


class Encoded(NamedTuple):
    """What the detector computes before its heads; the mask head reads it too.

    features: backbone maps, stride 32 last (all four strides when the backbone returns them);
    masks: ``[B, h_i, w_i]`` bool padding per level; src_proj: ``[B, C, h, w]`` projected
    stride-32 features; memory: ``[B, C, h, w]`` encoder output; hs: ``[L, B, Q, C]`` decoder layers.
    """

    features: list[torch.Tensor]
    masks: list[torch.Tensor]
    src_proj: torch.Tensor
    memory: torch.Tensor
    hs: torch.Tensor


def _default_mask(images: torch.Tensor, pixel_mask: torch.Tensor | None) -> torch.Tensor:
    if pixel_mask is None:
        b, _, h, w = images.shape
        return torch.zeros((b, h, w), dtype=torch.bool, device=images.device)
    if pixel_mask.dtype != torch.bool or pixel_mask.shape != (images.shape[0], *images.shape[-2:]):
        raise ValueError(f"pixel_mask must be a bool tensor [B, H, W] matching images {tuple(images.shape)}, "
                         f"got {pixel_mask.dtype} {tuple(pixel_mask.shape)}")
    return pixel_mask


def _set_conv_layout(model: nn.Module, detr: DETR, channels_last: bool) -> None:
    """Lay the model's 4-D weights out channels-last or back, in place (same Parameter objects,
    same values: an optimizer holding them is unaffected). Outside ``inference_mode``, so the
    weights stay trainable."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    body = detr.backbone[0].body
    assert isinstance(body, ResNetBody)  # DETR's backbone is a torchvision ResNet's
    if not body.conv1.weight.is_contiguous(memory_format=fmt):
        with torch.inference_mode(False), torch.no_grad():
            model.to(memory_format=fmt)


def _channels_last_on_cpu(model: nn.Module, detr: DETR, images: torch.Tensor) -> torch.Tensor:
    """On the CPU, ``predict`` runs convolutions channels-last (measured: detr_r50 at 800 x 1066
    on 2 threads 2.4 s -> 1.6 s, outputs equal within 1e-4). The weights stay that way while the
    model is in eval mode (repeated predictions pay the conversion once) and go back to the
    default layout on ``train()``, so training computes exactly what it would have without
    predictions in between (a resumed run repeats the same losses bit for bit)."""
    if images.device.type != "cpu":
        return images
    _set_conv_layout(model, detr, channels_last=True)
    return images.contiguous(memory_format=torch.channels_last)


class _EvalMode:
    """Run a block in eval mode and restore the previous mode afterwards."""

    def __init__(self, module: nn.Module):
        self.module, self.was_training = module, module.training

    def __enter__(self):
        self.module.eval()

    def __exit__(self, *exc):
        self.module.train(self.was_training)


class DETR(nn.Module):
    """Args:
        backbone: ``Joiner`` (ResNet + position encoding).
        transformer: ``Transformer``.
        num_classes: real classes; logits have ``num_classes + 1`` entries, the last is "no object".
        num_queries: object queries.
        aux_loss: also return the heads' outputs on every earlier decoder layer.
    """

    def __init__(self, backbone: Joiner, transformer: Transformer, num_classes: int, num_queries: int,
                 aux_loss: bool = True):
        super().__init__()
        hidden_dim = transformer.d_model
        self.num_queries = num_queries
        self.num_classes = num_classes
        self.transformer = transformer
        self.class_embed = nn.Linear(hidden_dim, num_classes + 1)
        self.bbox_embed = MLP(hidden_dim, hidden_dim, 4, 3)
        self.query_embed = nn.Embedding(num_queries, hidden_dim)
        self.input_proj = nn.Conv2d(backbone.num_channels[-1], hidden_dim, kernel_size=1)
        self.backbone = backbone
        self.aux_loss = aux_loss

    def train(self, mode: bool = True) -> DETR:
        if mode:
            _set_conv_layout(self, self, channels_last=False)
        return super().train(mode)

    def encode(self, images: torch.Tensor, pixel_mask: torch.Tensor | None = None) -> Encoded:
        pixel_mask = _default_mask(images, pixel_mask)
        feats, masks, pos = self.backbone(images, pixel_mask)
        src_proj = self.input_proj(feats[-1])
        hs, memory = self.transformer(src_proj, masks[-1], self.query_embed.weight, pos)
        return Encoded(feats, masks, src_proj, memory, hs)

    def heads(self, hs: torch.Tensor, aux: bool) -> dict:
        """``hs`` ``[L, B, Q, C]`` -> pred_logits ``[B, Q, K+1]``, pred_boxes ``[B, Q, 4]`` (cxcywh in
        [0, 1] of the padded input) and aux_outputs (one dict per earlier layer when ``aux``)."""
        if not aux:
            hs = hs[-1:]
        logits = self.class_embed(hs)
        boxes = self.bbox_embed(hs).sigmoid()
        aux_outputs = [{"pred_logits": a, "pred_boxes": b} for a, b in zip(logits[:-1], boxes[:-1])]
        return {"pred_logits": logits[-1], "pred_boxes": boxes[-1], "aux_outputs": aux_outputs}

    def forward(self, images: torch.Tensor, pixel_mask: torch.Tensor | None = None) -> dict:
        """``images`` ``[B, 3, H, W]`` float (ImageNet-normalised), ``pixel_mask`` ``[B, H, W]`` bool,
        True on padding (None: no padding). Returns pred_logits ``[B, Q, K+1]``, pred_boxes
        ``[B, Q, 4]`` and aux_outputs (a list, empty when ``aux_loss`` is off)."""
        return self.heads(self.encode(images, pixel_mask).hs, self.aux_loss)

    def predict(self, images: torch.Tensor, pixel_mask: torch.Tensor | None = None,
                min_score: float | None = None) -> dict:
        """Inference (eval mode, no autograd): ``forward``'s keys with empty aux_outputs."""
        del min_score  # boxes and classes are cheap for every query
        images = _channels_last_on_cpu(self, self, images)
        with _EvalMode(self), torch.inference_mode():
            return self.heads(self.encode(images, pixel_mask).hs, aux=False)


class DETRPanoptic(nn.Module):
    """DETR plus the mask head: ``forward`` adds pred_masks ``[B, Q, ceil(H/4), ceil(W/4)]`` logits."""

    def __init__(self, detr: DETR, bbox_attention: MHAttentionMap, mask_head: MaskHeadSmallConv):
        super().__init__()
        self.detr = detr
        self.bbox_attention = bbox_attention
        self.mask_head = mask_head

    def train(self, mode: bool = True) -> DETRPanoptic:
        if mode:  # the mask head's convolutions too, not only the detector's
            _set_conv_layout(self, self.detr, channels_last=False)
        return super().train(mode)

    @property
    def num_queries(self) -> int:
        return self.detr.num_queries

    @property
    def num_classes(self) -> int:
        return self.detr.num_classes

    def _masks(self, enc: Encoded, b: int, q_index: torch.Tensor | None) -> torch.Tensor:
        """Mask logits ``[K, h_4, w_4]`` of image ``b``'s queries ``q_index`` (all when None)."""
        hs = enc.hs[-1, b:b + 1]
        if q_index is not None:
            hs = hs[:, q_index]
        att = self.bbox_attention(hs, enc.memory[b:b + 1], mask=enc.masks[-1][b:b + 1])[0]
        fpns = [enc.features[2][b], enc.features[1][b], enc.features[0][b]]
        return self.mask_head(enc.src_proj[b], att, fpns)

    def forward(self, images: torch.Tensor, pixel_mask: torch.Tensor | None = None) -> dict:
        """As ``DETR.forward`` plus pred_masks ``[B, Q, h_4, w_4]`` float logits at stride 4."""
        enc = self.detr.encode(images, pixel_mask)
        out = self.detr.heads(enc.hs, self.detr.aux_loss)
        out["pred_masks"] = torch.stack([self._masks(enc, b, None) for b in range(images.shape[0])])
        return out

    def predict(self, images: torch.Tensor, pixel_mask: torch.Tensor | None = None,
                min_score: float | None = None) -> dict:
        """Inference path (eval mode, ``torch.inference_mode``).

        Classes and boxes come first; masks are computed only for queries whose best class is not
        "no object" and whose score exceeds ``min_score`` (all queries when None), the rule the
        post-processor applies, so any threshold >= ``min_score`` gives the same segments as the
        full computation. Returns ``forward``'s keys (aux_outputs empty) where pred_masks rows of
        skipped queries hold ``MASK_FILL``, plus mask_keep ``[B, Q]`` bool (rows computed) and
        mask_min_score (float; -inf when None).
        """
        images = _channels_last_on_cpu(self, self.detr, images)
        with _EvalMode(self), torch.inference_mode():
            enc = self.detr.encode(images, pixel_mask)
            out = self.detr.heads(enc.hs, aux=False)
            b, q = out["pred_logits"].shape[:2]
            if min_score is None:
                keep = torch.ones((b, q), dtype=torch.bool, device=images.device)
            else:
                keep = select_queries(out["pred_logits"], min_score)
            h4, w4 = enc.features[0].shape[-2:]
            masks = torch.full((b, q, h4, w4), MASK_FILL, dtype=enc.src_proj.dtype, device=images.device)
            for i in range(b):
                idx = keep[i].nonzero().squeeze(1)
                if idx.numel():
                    masks[i, idx] = self._masks(enc, i, idx)
            out["pred_masks"] = masks
            out["mask_keep"] = keep
            out["mask_min_score"] = float("-inf") if min_score is None else float(min_score)
            return out
