"""The detr_r50 preset has exactly the public checkpoints' layout, and such checkpoints load."""
import json
from pathlib import Path

import pytest
import torch

from core.errors import CheckpointError
from core.model import build_model, get_preset, load_public_detr

# Names and shapes of the two public checkpoints' state dicts (a copy of the shared fixture, so
# the test runs wherever the repository does).
FIXTURE = Path(__file__).resolve().parent / "data" / "detr_official_state_dict_shapes.json"


@pytest.fixture(scope="module")
def fixture():
    return json.loads(FIXTURE.read_text())


def _shapes(model):
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def _random_state(spec, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=g) for k, shape in spec["params"].items()}


@pytest.fixture(scope="module")
def panoptic_r50(fixture):
    model, _, _ = build_model(get_preset("detr_r50"), fixture["detr_r50_coco_panoptic"]["num_classes_logits"] - 1,
                              backbone_weights=None)
    return model


def test_panoptic_model_has_the_public_names_and_shapes(fixture, panoptic_r50):
    assert _shapes(panoptic_r50) == fixture["detr_r50_coco_panoptic"]["params"]


def test_detector_has_the_public_names_and_shapes(fixture):
    spec = fixture["detr_r50_coco_detection"]
    model, _, _ = build_model(get_preset("detr_r50_detection"), spec["num_classes_logits"] - 1, backbone_weights=None)
    assert _shapes(model) == spec["params"]


@pytest.mark.slow
def test_public_panoptic_checkpoint_file_loads_completely(fixture, panoptic_r50, tmp_path):
    state = _random_state(fixture["detr_r50_coco_panoptic"])
    path = tmp_path / "detr-r50-panoptic.pth"
    torch.save({"model": state}, path)
    report = load_public_detr(path, panoptic_r50)
    assert len(report.loaded) == len(state) - sum(k.endswith("num_batches_tracked") for k in state)
    assert report.reinitialised == () and report.kept == () and report.unused == ()
    own = panoptic_r50.state_dict()
    assert all(torch.equal(own[k], v) for k, v in state.items())


@pytest.mark.slow
def test_public_checkpoint_into_four_classes_reinitialises_only_the_class_head(fixture):
    torch.manual_seed(0)
    model, _, _ = build_model(get_preset("detr_r50"), 4, backbone_weights=None)
    state = _random_state(fixture["detr_r50_coco_panoptic"], seed=1)
    report = load_public_detr({"model": state}, model)
    assert set(report.reinitialised) == {"detr.class_embed.weight", "detr.class_embed.bias"}
    own = model.state_dict()
    assert own["detr.class_embed.weight"].shape == (5, 256)
    for k, v in state.items():
        if not k.startswith("detr.class_embed."):
            assert torch.equal(own[k], v), k
    assert set(report.loaded) == set(state) - set(report.reinitialised)
    assert "re-initialised" in report.summary()


@pytest.mark.slow
def test_detection_checkpoint_without_prefix_goes_into_the_panoptic_model(fixture):
    torch.manual_seed(0)
    model, _, _ = build_model(get_preset("detr_r50"), 4, backbone_weights=None)
    head_before = model.mask_head.lay1.weight.clone()
    state = _random_state(fixture["detr_r50_coco_detection"], seed=2)
    report = load_public_detr({"model": state}, model)
    assert all(k.startswith("detr.") for k in report.loaded)
    assert {k.split(".")[0] for k in report.kept} == {"bbox_attention", "mask_head"}
    assert torch.equal(model.detr.input_proj.weight, state["input_proj.weight"])
    assert torch.equal(model.mask_head.lay1.weight, head_before)


@pytest.mark.slow
def test_panoptic_checkpoint_into_the_detector_leaves_the_mask_head_unused(fixture):
    model, _, _ = build_model(get_preset("detr_r50_detection"), 91, backbone_weights=None)
    state = _random_state(fixture["detr_r50_coco_panoptic"], seed=3)
    report = load_public_detr({"model": state}, model)
    assert {k.split(".")[0] for k in report.unused} == {"bbox_attention", "mask_head"}
    assert set(report.reinitialised) == {"class_embed.weight", "class_embed.bias"}  # 250 vs 91 classes
    assert torch.equal(model.query_embed.weight, state["detr.query_embed.weight"])


def test_public_weights_refused_by_a_model_of_other_hyper_parameters(fixture):
    model, _, _ = build_model(get_preset("cpu_small"), 4, backbone_weights=None)
    with pytest.raises(CheckpointError, match="detr_r50"):
        load_public_detr({"model": _random_state(fixture["detr_r50_coco_detection"])}, model)


def test_public_loader_refuses_non_checkpoints(tmp_path):
    model, _, _ = build_model(get_preset("cpu_small").replace(hidden_dim=32, nheads=4, num_queries=4,
                                                              dim_feedforward=32, enc_layers=1, dec_layers=1),
                              2, backbone_weights=None)
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="not a DETR checkpoint"):
        load_public_detr(path, model)


class _NotWeights:
    pass


def test_public_file_with_detr_training_args_loads_but_other_objects_are_refused(tmp_path):
    import argparse

    model, _, _ = build_model(get_preset("cpu_small").replace(hidden_dim=32, nheads=4, num_queries=4,
                                                              dim_feedforward=32, enc_layers=1, dec_layers=1),
                              2, backbone_weights=None)
    state = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    path = tmp_path / "with-args.pth"
    torch.save({"model": state, "args": argparse.Namespace(lr=1e-4, backbone="resnet18"), "epoch": 299}, path)
    report = load_public_detr(path, model)
    assert report.reinitialised == () and torch.equal(model.detr.query_embed.weight, state["detr.query_embed.weight"])
    torch.save({"model": state, "extra": _NotWeights()}, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_public_detr(path, model)
