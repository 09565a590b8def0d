"""Batching: pad photos to a common size, mark the padding, and express targets as DETR wants.

Boxes are ``cx, cy, w, h`` normalised to the *padded* batch size and masks are padded to it, as
the model contract asks (the model sees the padded tensor and predicts in its frame).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from core.data.dataset import Sample
from core.panoptic import PanopticAnnotation


@dataclass
class Batch:
    """A padded batch.

    Attributes:
        images: ``[B, 3, H, W]`` float32, normalised; zero (the mean) on padding.
        pixel_mask: ``[B, H, W]`` bool, True on PADDING.
        targets: ``B`` dicts ``{"labels": int64 [N], "boxes": float32 [N, 4] cxcywh in [0, 1] of
            (W, H), "masks": bool [N, H, W]}``.
        image_sizes: ``(h, w)`` of each unpadded image.
        orig_sizes: ``(H, W)`` of each photo file.
        indices: dataset positions.
        gts: ground truth at ``image_sizes`` (evaluation datasets only), else empty.
        dropped: unreadable samples left out of this batch.
    """

    images: torch.Tensor
    pixel_mask: torch.Tensor
    targets: list[dict[str, torch.Tensor]]
    image_sizes: list[tuple[int, int]]
    orig_sizes: list[tuple[int, int]]
    indices: list[int]
    gts: list[PanopticAnnotation] = field(default_factory=list)
    dropped: int = 0

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def to(self, device, non_blocking: bool = False) -> Batch:
        mv = lambda t: t.to(device, non_blocking=non_blocking)  # noqa: E731 - one line, used five times below
        return Batch(mv(self.images), mv(self.pixel_mask),
                     [{k: mv(v) for k, v in t.items()} for t in self.targets],
                     self.image_sizes, self.orig_sizes, self.indices, self.gts, self.dropped)

    def pin_memory(self) -> Batch:
        """Called by ``DataLoader(pin_memory=True)`` for faster host-to-GPU copies."""
        return Batch(self.images.pin_memory(), self.pixel_mask.pin_memory(),
                     [{k: v.pin_memory() for k, v in t.items()} for t in self.targets],
                     self.image_sizes, self.orig_sizes, self.indices, self.gts, self.dropped)


def collate(samples: list[Sample | None], size_divisor: int = 32) -> Batch | None:
    """Pad ``samples`` to the largest height/width rounded up to ``size_divisor``.

    ``None`` items (unreadable photos) are dropped; returns ``None`` when nothing is left.
    """
    good = [s for s in samples if s is not None]
    dropped = len(samples) - len(good)
    if not good:
        return None
    h = max(s.image.shape[1] for s in good)
    w = max(s.image.shape[2] for s in good)
    h = int(math.ceil(h / size_divisor) * size_divisor)
    w = int(math.ceil(w / size_divisor) * size_divisor)
    images = torch.zeros((len(good), 3, h, w), dtype=torch.float32)
    pixel_mask = torch.ones((len(good), h, w), dtype=torch.bool)
    scale = torch.tensor([w, h, w, h], dtype=torch.float32)
    targets = []
    for b, s in enumerate(good):
        sh, sw = s.image.shape[1:]
        images[b, :, :sh, :sw] = s.image
        pixel_mask[b, :sh, :sw] = False
        masks = torch.zeros((s.masks.shape[0], h, w), dtype=torch.bool)
        masks[:, :sh, :sw] = s.masks
        x0, y0, x1, y1 = s.boxes.unbind(-1)
        boxes = torch.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dim=-1) / scale
        targets.append({"labels": s.labels, "boxes": boxes.reshape(-1, 4), "masks": masks})
    return Batch(images, pixel_mask, targets, [(int(s.image.shape[1]), int(s.image.shape[2])) for s in good],
                 [s.orig_size for s in good], [s.index for s in good],
                 [s.gt for s in good if s.gt is not None], dropped)
