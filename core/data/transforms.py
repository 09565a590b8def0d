"""Paired photo + mask augmentation with ``torchvision.transforms.v2`` and ``tv_tensors``.

The pipeline moves one ``tv_tensors.Image`` (uint8 ``[3, H, W]``) and one ``tv_tensors.Mask``
(the compact index map, ``[1, H, W]``) together, so geometry stays in line; per-segment masks and
boxes are cut from the transformed map afterwards (``core.data.targets``). Sizes are given for
the photo's *longer* side: on a CPU this bounds the work per image whatever the aspect ratio.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Sequence

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

#: ImageNet statistics the backbones were trained with (RGB, on [0, 1] inputs).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def scale_steps(min_size: int, max_size: int, step: int = 32) -> list[int]:
    """Longer-side sizes from ``min_size`` to ``max_size`` in steps of ``step`` (both included)."""
    if min_size <= 0 or max_size < min_size:
        raise ValueError(f"bad image size range {min_size}..{max_size}")
    sizes = list(range(min_size, max_size + 1, step))
    if sizes[-1] != max_size:
        sizes.append(max_size)
    return sizes


class LongSideResize(v2.Transform):
    """Resize so that the longer side is one of ``sizes`` (chosen at random), keeping the aspect.

    Masks are resized with nearest neighbour (``v2`` does that for ``tv_tensors.Mask``).
    """

    def __init__(self, sizes: Sequence[int], antialias: bool = True):
        super().__init__()
        self.sizes = [int(s) for s in sizes]
        self.antialias = antialias

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        i = int(torch.randint(len(self.sizes), ()).item()) if len(self.sizes) > 1 else 0
        return {"size": self.sizes[i]}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        h, w = inpt.shape[-2:]
        if max(h, w) == params["size"]:
            return inpt  # already there: skip an interpolation that would only blur
        return self._call_kernel(F.resize, inpt, size=None, max_size=params["size"],
                                 antialias=self.antialias)


class RandomSizeCrop(v2.Transform):
    """Crop a window whose height and width are each a random fraction in ``[min_frac, max_frac]``
    of the input's, at a random place (DETR's ``RandomSizeCrop``, relative to the input size)."""

    def __init__(self, min_frac: float = 0.6, max_frac: float = 1.0):
        super().__init__()
        if not 0 < min_frac <= max_frac <= 1:
            raise ValueError(f"bad crop fractions {min_frac}..{max_frac}")
        self.min_frac, self.max_frac = min_frac, max_frac

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        h, w = v2.query_size(flat_inputs)
        fr = torch.empty(2).uniform_(self.min_frac, self.max_frac)
        ch, cw = max(1, int(h * fr[0])), max(1, int(w * fr[1]))
        top = int(torch.randint(h - ch + 1, ()).item())
        left = int(torch.randint(w - cw + 1, ()).item())
        return {"top": top, "left": left, "height": ch, "width": cw}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._call_kernel(F.crop, inpt, **params)


class NativeWindow(v2.Transform):
    """A window of at most ``side`` x ``side`` px at a random place, not resized: the photo's
    detail at the scale it was decoded at (the whole photo when it is no larger)."""

    def __init__(self, side: int):
        super().__init__()
        self.side = int(side)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        h, w = v2.query_size(flat_inputs)
        ch, cw = min(h, self.side), min(w, self.side)
        top = int(torch.randint(h - ch + 1, ()).item())
        left = int(torch.randint(w - cw + 1, ()).item())
        return {"top": top, "left": left, "height": ch, "width": cw}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._call_kernel(F.crop, inpt, **params)


class NativeOrScaled(v2.Transform):
    """A ``NativeWindow`` of every photo decoded at its own size (long side under ``decoded_at``),
    and with probability ``prob`` of the others (photos larger than the decode size, shrunk to
    it); else ``scaled`` (a resize to the training sizes).

    Why photos at their own size always give a window: inference reads thin structures of a photo
    up to the decode size at its own size (``core.native_scale``), so a window shows the model the
    photo as it will be read, and a downscaled view only shows cracks thinner than it will ever
    see them (UAV75, 512 px, fine-tuning the shipped model for 10 CPU-minutes: crack centreline F1
    51.7 with half the samples downscaled, 54.6 with none). A larger photo is read downscaled to
    the model's input, so both views of it are trained on."""

    def __init__(self, window: NativeWindow, scaled: v2.Transform, prob: float, decoded_at: int):
        super().__init__()
        self.window, self.scaled, self.prob, self.decoded_at = window, scaled, float(prob), int(decoded_at)

    def forward(self, *inputs: Any) -> Any:
        # Called as transform(image, mask) by Compose, or with one (image, mask) tuple.
        flat = list(inputs[0]) if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)) else list(inputs)
        h, w = v2.query_size(flat)
        own_size = max(h, w) < self.decoded_at
        return self.window(*inputs) if own_size or float(torch.rand(())) < self.prob else self.scaled(*inputs)


def build_train_transforms(min_size: int, max_size: int, *, hflip: bool = True, vflip: bool = False,
                           crop_prob: float = 0.5, crop_frac: tuple[float, float] = (0.6, 1.0),
                           jitter: float = 0.2, native_crop_prob: float = 0.0,
                           decoded_at: int = 0) -> v2.Compose:
    """Multi-scale training augmentation.

    Flip, then with probability ``crop_prob`` a random-size crop (as DETR's recipe does half of
    the time), then a resize of the longer side to a random multiple of 32 in
    ``[min_size, max_size]``, photometric jitter (brightness/contrast/saturation ``jitter``,
    hue ``jitter / 10``), conversion to float and ImageNet normalisation.

    ``native_crop_prob``: the share of samples that are instead a ``max_size`` window of the photo
    at the resolution it was decoded at (``NativeWindow``; the dataset decodes at
    ``TrainConfig.decode_size``). Why: resizing a 384-px photo to 256-320 px (or a 12-MP one to
    320) thins a 1-2 px crack into a faint smear, and a per-pixel thin head then learns a constant
    map; the windows show cracks at their own width for the same pixels per step. With
    ``decoded_at`` (the decode size), a photo smaller than it (decoded at its own size) is always
    a window (``NativeOrScaled``).

    Input: ``(tv_tensors.Image uint8 [3, H, W], tv_tensors.Mask [1, H, W])``; output: the image
    as float32 ``[3, h, w]`` normalised, the mask resized with nearest neighbour.
    """
    steps: list[Any] = []
    if hflip:
        steps.append(v2.RandomHorizontalFlip(0.5))
    if vflip:  # photos of walls and slabs have no "up" for defects; off by default all the same
        steps.append(v2.RandomVerticalFlip(0.5))
    scaled: list[Any] = []
    if crop_prob > 0:
        scaled.append(v2.RandomApply([RandomSizeCrop(*crop_frac)], p=crop_prob))
    scaled.append(LongSideResize(scale_steps(min_size, max_size)))
    if native_crop_prob > 0:
        steps.append(NativeOrScaled(NativeWindow(max_size), v2.Compose(scaled), native_crop_prob, decoded_at))
    else:
        steps += scaled
    if jitter > 0:
        steps.append(v2.ColorJitter(brightness=jitter, contrast=jitter, saturation=jitter,
                                    hue=min(jitter / 10, 0.5)))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return v2.Compose(steps)


def build_eval_transforms(size: int) -> v2.Compose:
    """Deterministic: longer side to ``size``, float, ImageNet normalisation."""
    return v2.Compose([LongSideResize([size]), v2.ToDtype(torch.float32, scale=True),
                       v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
