"""The fast-converging panoptic DETR (``architecture="mask_detr"``), for training from scratch.

Still a DETR: a fixed set of learned queries, one prediction per query (class incl. "no object",
box, mask), bipartite matching in the loss, no anchors, no NMS, the same output dict and the same
panoptic post-processing as ``DETRPanoptic``. What changes is how fast it learns (see
``bench/bench_convergence.py`` for the measured effect of each change):

* masks are the dot product of a query embedding with stride-4 pixel embeddings from an FPN
  (``PixelDecoder``), so every decoder layer predicts masks cheaply and gets a mask loss;
* the decoder uses masked attention over multi-scale features (``MaskedDecoderLayer``);
* matching uses mask costs (dice + BCE) besides class and box costs, and masks train jointly
  from the first step (no separate box stage);
* a narrow random-init ResNet with learning batch norms (``NarrowResNet``) or a torchvision ResNet.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from core.model.detr import MLP
from core.model.mask_decoder import MaskedDecoderLayer, attention_mask_from
from core.model.pixel_decoder import PixelDecoder
from core.model.position_encoding import PositionEmbeddingSine
from core.model.postprocess import MASK_FILL, select_queries
from core.model.thin_head import ThinHead

if TYPE_CHECKING:
    from core.model.backbone import ResNetBody
    from core.model.efficientnet_lite import EfficientNetLite0
    from core.model.small_resnet import NarrowResNet

    #: The feature extractors a MaskDETR is built on (each sets ``num_channels``).
    FeatureBackbone = NarrowResNet | EfficientNetLite0 | ResNetBody


class MaskDETR(nn.Module):
    """Args:
        backbone: module mapping ``[B,3,H,W]`` to features at strides 4/8/16/32, with a
            ``num_channels`` list.
        num_classes: real classes; logits have one more ("no object").
        num_queries, hidden_dim, nheads, dec_layers, dim_feedforward, dropout: the decoder.
        mask_dim: channels of the stride-4 mask embedding.
        masked_attention: restrict cross-attention to each query's previous mask.
        thin_head: add the dense thin-structure head (``core.model.thin_head``).
        thin_context: its dilated residual blocks at stride 2 (``ModelConfig.thin_head_context``).

    ``forward(images [B,3,H,W], pixel_mask [B,H,W] True on padding) -> dict``:
    pred_logits ``[B,Q,K+1]``, pred_boxes ``[B,Q,4]`` (cxcywh in [0,1] of the padded input),
    pred_masks ``[B,Q,ceil(H/4),ceil(W/4)]`` logits, aux_outputs: one dict with the same three
    keys per earlier prediction (the initial queries' and every decoder layer's but the last);
    with the thin head also pred_thin ``[B,K,H,W]``: per-class logits at the input resolution.
    """

    def __init__(self, backbone: FeatureBackbone, num_classes: int, num_queries: int, hidden_dim: int, nheads: int,
                 dec_layers: int, dim_feedforward: int, mask_dim: int, dropout: float = 0.0,
                 masked_attention: bool = True, aux_loss: bool = True, thin_head: bool = False,
                 thin_context: int = 0):
        super().__init__()
        self.backbone = backbone
        self.pixel_decoder = PixelDecoder(list(backbone.num_channels), hidden_dim, mask_dim)
        self.position = PositionEmbeddingSine(hidden_dim // 2, normalize=True)
        self.level_embed = nn.Embedding(3, hidden_dim)
        self.query_feat = nn.Embedding(num_queries, hidden_dim)
        self.query_pos = nn.Embedding(num_queries, hidden_dim)
        self.layers = nn.ModuleList(MaskedDecoderLayer(hidden_dim, nheads, dim_feedforward, dropout)
                                    for _ in range(dec_layers))
        self.decoder_norm = nn.LayerNorm(hidden_dim)
        self.class_embed = nn.Linear(hidden_dim, num_classes + 1)
        self.bbox_embed = MLP(hidden_dim, hidden_dim, 4, 3)
        self.mask_embed = MLP(hidden_dim, hidden_dim, mask_dim, 3)
        self.num_classes = num_classes
        self.num_queries = num_queries
        self.nheads = nheads
        self.masked_attention = masked_attention
        self.aux_loss = aux_loss
        self.thin_head = ThinHead(mask_dim, num_classes, context=thin_context) if thin_head else None

    # --- pieces ---------------------------------------------------------------------------------
    def _memory(self, images: torch.Tensor, pixel_mask: torch.Tensor):
        feats = self.backbone(images)
        mask_features, levels = self.pixel_decoder(feats)
        memories, positions, paddings, sizes = [], [], [], []
        for i, level in enumerate(levels):
            h, w = level.shape[-2:]
            pad = F.interpolate(pixel_mask[:, None].float(), size=(h, w))[:, 0] > 0.5
            memories.append(level.flatten(2).transpose(1, 2) + self.level_embed.weight[i])
            positions.append(self.position(pad).flatten(2).transpose(1, 2))
            paddings.append(pad.flatten(1) if pad.any() else None)
            sizes.append((h, w))
        return mask_features, memories, positions, paddings, sizes

    def _predict(self, q: torch.Tensor, mask_features: torch.Tensor, rows: torch.Tensor | None = None) -> dict:
        """Heads on decoder output ``q [B,Q,D]``; masks only for ``rows`` ``[B,Q]`` when given."""
        qn = self.decoder_norm(q)
        out = {"pred_logits": self.class_embed(qn), "pred_boxes": self.bbox_embed(qn).sigmoid()}
        emb = self.mask_embed(qn)
        if rows is None:
            out["pred_masks"] = torch.einsum("bqc,bchw->bqhw", emb, mask_features)
        else:
            b, q_, _ = emb.shape
            masks = mask_features.new_full((b, q_) + tuple(mask_features.shape[-2:]), MASK_FILL)
            for i in range(b):
                idx = rows[i].nonzero().squeeze(1)
                if idx.numel():
                    masks[i, idx] = torch.einsum("qc,chw->qhw", emb[i, idx], mask_features[i])
            out["pred_masks"] = masks
        return out

    def _decode(self, images: torch.Tensor, pixel_mask: torch.Tensor | None, final_rows_min_score: float | None):
        if pixel_mask is None:
            pixel_mask = torch.zeros(images.shape[0], *images.shape[-2:], dtype=torch.bool, device=images.device)
        mask_features, memories, positions, paddings, sizes = self._memory(images, pixel_mask)
        thin = None if self.thin_head is None else self.thin_head(mask_features, images)
        b = images.shape[0]
        q = self.query_feat.weight[None].expand(b, -1, -1)
        q_pos = self.query_pos.weight[None].expand(b, -1, -1)
        outputs = [self._predict(q, mask_features)]
        for i, layer in enumerate(self.layers):
            level = i % len(memories)
            attn = None
            if self.masked_attention:
                attn = attention_mask_from(outputs[-1]["pred_masks"], sizes[level], self.nheads, paddings[level])
            elif paddings[level] is not None:
                attn = paddings[level][:, None, :].expand(b, q.shape[1], -1).repeat_interleave(self.nheads, 0)
            q = layer(q, q_pos, memories[level], positions[level], attn)
            last = i == len(self.layers) - 1
            if last and final_rows_min_score is not None:
                rows = select_queries(self.class_embed(self.decoder_norm(q)), final_rows_min_score)
                outputs.append(self._predict(q, mask_features, rows) | {"mask_keep": rows})
            else:
                outputs.append(self._predict(q, mask_features))
        if thin is not None:
            outputs[-1]["pred_thin"] = thin
        return outputs

    # --- public ---------------------------------------------------------------------------------
    def forward(self, images: torch.Tensor, pixel_mask: torch.Tensor | None = None) -> dict:
        outputs = self._decode(images, pixel_mask, None)
        out = dict(outputs[-1])
        out["aux_outputs"] = outputs[:-1] if self.aux_loss else []
        return out

    def predict_thin(self, images: torch.Tensor) -> torch.Tensor:
        """The thin head alone (eval mode, ``torch.inference_mode``): ``[B, C, H, W]`` logits for
        ``images`` ``[B, 3, H, W]`` (unpadded), without the query decoder. For a second look at a
        photo at a finer scale than the queries need (``core.inference.predictor``)."""
        if self.thin_head is None:
            raise ValueError("the model has no thin head")
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                pixel_mask = torch.zeros(images.shape[0], *images.shape[-2:], dtype=torch.bool, device=images.device)
                mask_features = self._memory(images, pixel_mask)[0]
                return self.thin_head(mask_features, images)
        finally:
            self.train(was_training)

    def predict(self, images: torch.Tensor, pixel_mask: torch.Tensor | None = None,
                min_score: float | None = None) -> dict:
        """Inference (eval mode, ``torch.inference_mode``): ``forward``'s keys with empty
        aux_outputs; the last layer's masks are computed only for queries that can survive
        ``min_score`` (others hold ``MASK_FILL``), plus mask_keep ``[B,Q]`` and mask_min_score."""
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                score = float("-inf") if min_score is None else float(min_score)
                out = dict(self._decode(images, pixel_mask, min_score)[-1])
                if min_score is None:
                    out["mask_keep"] = torch.ones(out["pred_logits"].shape[:2], dtype=torch.bool, device=images.device)
        finally:
            self.train(was_training)
        out["aux_outputs"] = []
        out["mask_min_score"] = score
        return out
