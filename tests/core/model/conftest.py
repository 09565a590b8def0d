"""Tiny model configurations shared by the model tests (seconds each on a 2-core CPU)."""
import pytest
import torch

from core.categories import default_categories
from core.model import build_model, get_preset


@pytest.fixture
def categories():
    return default_categories()


@pytest.fixture
def tiny_config():
    """ResNet-18, hidden 32, one encoder and two decoder layers (so there is one aux output)."""
    return get_preset("cpu_small").replace(hidden_dim=32, nheads=4, enc_layers=1, dec_layers=2,
                                           dim_feedforward=64, num_queries=6)


@pytest.fixture
def build_tiny(tiny_config, categories):
    """``build_tiny(**config_changes) -> (model, criterion, postprocessor)``, seeded, random backbone."""

    def build(**changes):
        torch.manual_seed(0)
        return build_model(tiny_config.replace(**changes), categories, backbone_weights=None)

    return build
