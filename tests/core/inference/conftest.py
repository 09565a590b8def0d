"""A tiny panoptic checkpoint (ResNet-18, hidden 32, one encoder and one decoder layer, 16
queries, 96-px input) whose random weights are skewed so that its queries predict varied classes
and scores, and small synthetic photos. One torch thread: the CI machine has two shared cores."""
from __future__ import annotations

import pytest
import torch
from PIL import Image

from core.categories import default_categories
from core.model import build_model, get_preset, save_checkpoint
from core.synthetic.generator import generate_sample

TINY = get_preset("cpu_small").replace(hidden_dim=32, nheads=2, enc_layers=1, dec_layers=1, dim_feedforward=64,
                                       num_queries=16)
INPUT = 96


@pytest.fixture(autouse=True)
def _single_torch_thread(one_torch_thread):
    """See ``tests/conftest.py``."""


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


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """Saved as training saves it: the training config says it was evaluated at ``INPUT`` px."""
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    model, categories = tiny_model()
    training = {"train_config": {"eval_size": INPUT, "max_size": 128}}
    save_checkpoint(path, model, TINY, categories, {"training": training})
    return path


@pytest.fixture(scope="session")
def predictor(checkpoint):
    from core.inference import Predictor

    return Predictor.from_checkpoint(checkpoint, device="cpu")


def write_photo(path, seed: int, size=(200, 150), **save):
    """A synthetic concrete photo (``size`` = width, height); returns its RGB and truth."""
    rgb, truth = generate_sample(seed, size)
    Image.fromarray(rgb).save(path, **save)
    return rgb, truth


@pytest.fixture
def photos(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"photo_{i}.jpg"
        write_photo(p, i, (200 + 40 * i, 150), quality=95)
        paths.append(p)
    return paths
