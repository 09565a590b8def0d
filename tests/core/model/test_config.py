import dataclasses
import json

import pytest

from core.model import PRESETS, ModelConfig, get_preset


def test_detr_r50_preset_has_the_public_hyper_parameters():
    c = get_preset("detr_r50")
    assert (c.backbone, c.hidden_dim, c.nheads, c.enc_layers, c.dec_layers) == ("resnet50", 256, 8, 6, 6)
    assert (c.dim_feedforward, c.num_queries, c.dropout, c.pre_norm) == (2048, 100, 0.1, False)
    assert c.frozen_bn and c.with_masks and c.aux_loss
    assert (c.class_loss_coef, c.bbox_loss_coef, c.giou_loss_coef, c.eos_coef) == (1.0, 5.0, 2.0, 0.1)
    assert (c.cost_class, c.cost_bbox, c.cost_giou) == (1.0, 5.0, 2.0)


def test_cpu_small_preset_is_small():
    c = get_preset("cpu_small")
    assert (c.backbone, c.hidden_dim, c.enc_layers, c.dec_layers, c.num_queries, c.dropout) == \
        ("resnet18", 128, 2, 2, 20, 0.0)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_config_round_trips_through_json(name):
    c = PRESETS[name]
    text = json.dumps(c.to_dict())
    assert ModelConfig.from_dict(json.loads(text)) == c


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_preset("cpu_small").hidden_dim = 64  # type: ignore[misc]


def test_unknown_preset_lists_the_known_names():
    with pytest.raises(ValueError) as e:
        get_preset("detr_r51")
    for name in PRESETS:
        assert name in str(e.value)


def test_from_dict_rejects_unknown_keys_and_wrong_types():
    with pytest.raises(ValueError, match="unknown model config keys.*'hiden_dim'"):
        ModelConfig.from_dict({"hiden_dim": 64})
    with pytest.raises(ValueError, match="'num_queries' must be int"):
        ModelConfig.from_dict({"num_queries": "20"})
    with pytest.raises(ValueError, match="'with_masks' must be bool"):
        ModelConfig.from_dict({"with_masks": 1})


@pytest.mark.parametrize("changes, message", [
    ({"hidden_dim": 100, "nheads": 8}, "multiple of nheads"),
    ({"backbone": "vgg16"}, "backbone must be one of"),
    ({"dropout": 1.5}, "dropout"),
    ({"num_queries": 0}, "num_queries"),
    ({"eos_coef": -0.1}, "eos_coef"),
    ({"trainable_backbone_layers": 6}, "trainable_backbone_layers"),
])
def test_invalid_configs_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        get_preset("cpu_small").replace(**changes)
