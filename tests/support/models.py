"""A tiny panoptic model (ResNet-18, hidden 32, one encoder and one decoder layer, 16 queries,
96-px input) whose random weights are skewed so that its queries predict varied classes and scores,
and small synthetic photos: for the tests that predict."""
from __future__ import annotations

import torch
from PIL import Image

from core.categories import default_categories
from core.model import build_model, get_preset
from core.synthetic.generator import generate_sample

TINY = get_preset("cpu_small").replace(hidden_dim=32, nheads=2, enc_layers=1, dec_layers=1, dim_feedforward=64,
                                       num_queries=16)
INPUT = 96


def tiny_model(seed: int = 0, config=TINY):
    """A random model whose class head is recentred so queries disagree (a random one gives every
    query the same class) and whose mask logits are large enough to draw distinct segments."""
    categories = default_categories()
    torch.manual_seed(seed)
    model, _, _ = build_model(config, categories, backbone_weights=None)
    if not config.with_masks:
        return model, categories
    model.eval()
    with torch.no_grad():
        model.detr.query_embed.weight.mul_(100)
        hs = model.detr.encode(torch.randn(1, 3, INPUT, INPUT)).hs[-1, 0]
        mu = hs.mean(0)
        weight = torch.randn(len(categories) + 1, hs.shape[1]) / ((hs - mu).std() * hs.shape[1] ** 0.5) * 2.5
        model.detr.class_embed.weight.copy_(weight)
        model.detr.class_embed.bias.copy_(-weight @ mu)
        model.mask_head.out_lay.weight.mul_(20)
    return model, categories


def write_photo(path, seed: int, size=(200, 150), **save):
    """A synthetic concrete photo (``size`` = width, height); returns its RGB and truth."""
    rgb, truth = generate_sample(seed, size)
    Image.fromarray(rgb).save(path, **save)
    return rgb, truth
