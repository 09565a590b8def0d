"""The fast-converging architecture (``mask_detr``, preset ``cpu_fast``): the output contract, mask-
aware matching, losses on the stride-4 grid and per decoder layer, and its checkpoints."""
import pytest
import torch

from core.categories import default_categories
from core.model import MaskDETR, build_model, get_preset, load_model_from_checkpoint, save_checkpoint
from core.model.matcher import HungarianMatcher, mask_costs

SMALL = get_preset("cpu_fast").replace(backbone_width=8, hidden_dim=32, nheads=2, dim_feedforward=64,
                                       num_queries=6, mask_dim=16)


def _targets(size=64):
    masks = torch.zeros(2, size, size, dtype=torch.bool)
    masks[0, : size // 2] = True
    masks[1, size // 2:, : size // 4] = True
    boxes = torch.tensor([[0.5, 0.25, 1.0, 0.5], [0.125, 0.75, 0.25, 0.5]])
    return {"labels": torch.tensor([0, 2]), "boxes": boxes, "masks": masks}


def test_outputs_follow_the_detr_contract_with_masks_at_every_layer():
    model, criterion, _ = build_model(SMALL, 3, backbone_weights=None)
    assert isinstance(model, MaskDETR)
    out = model(torch.randn(2, 3, 64, 96))
    assert out["pred_logits"].shape == (2, 6, 4)
    assert out["pred_boxes"].shape == (2, 6, 4) and 0 <= out["pred_boxes"].min() <= out["pred_boxes"].max() <= 1
    assert out["pred_masks"].shape == (2, 6, 16, 24)
    assert len(out["aux_outputs"]) == SMALL.dec_layers  # the initial queries' prediction and each layer but the last
    assert all(a["pred_masks"].shape == out["pred_masks"].shape for a in out["aux_outputs"])
    losses = criterion(out, [_targets(64) | {"masks": torch.nn.functional.pad(_targets(64)["masks"], (0, 32))},
                             {"labels": torch.zeros(0, dtype=torch.int64), "boxes": torch.zeros(0, 4),
                              "masks": torch.zeros(0, 64, 96, dtype=torch.bool)}])
    # Deep supervision of masks: every earlier prediction has its own mask and dice terms.
    for i in range(SMALL.dec_layers):
        assert f"loss_mask_{i}" in losses and f"loss_dice_{i}" in losses
    losses["loss"].backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0  # the random backbone learns too


def test_predict_computes_masks_only_for_queries_that_can_survive():
    model, _, _ = build_model(SMALL, 3, backbone_weights=None)
    x = torch.randn(1, 3, 64, 64)
    full = model.predict(x, None, min_score=None)
    some = model.predict(x, None, min_score=0.3)
    keep = some["mask_keep"][0]
    torch.testing.assert_close(some["pred_masks"][0, keep], full["pred_masks"][0, keep])
    assert torch.equal(some["pred_logits"], full["pred_logits"]) and some["aux_outputs"] == []


def test_matching_by_mask_picks_the_query_that_segments_the_object():
    """Two queries with the same class score and box; only one's mask covers the target: box
    costs alone cannot tell them apart, the mask costs do."""
    target = torch.zeros(1, 16 * 16)
    target[0, :128] = 1.0
    good = torch.where(target[0] > 0, 8.0, -8.0)
    bad = -good
    outputs = {"pred_logits": torch.zeros(1, 2, 3), "pred_boxes": torch.full((1, 2, 4), 0.5),
               "pred_masks": torch.stack([bad, good]).view(1, 2, 16, 16)}
    targets = [{"labels": torch.tensor([0]), "boxes": torch.tensor([[0.5, 0.5, 0.5, 0.5]]), "grid_masks": target}]
    rows, cols = HungarianMatcher(cost_mask=5.0, cost_dice=5.0)(outputs, targets)[0]
    assert rows.tolist() == [1] and cols.tolist() == [0]
    bce, dice = mask_costs(outputs["pred_masks"][0].flatten(1), target)
    assert bce[1, 0] < bce[0, 0] and dice[1, 0] < 0.01 < 0.99 < dice[0, 0]


def test_grid_targets_are_the_mask_coverage_of_each_stride4_cell():
    _, criterion, _ = build_model(SMALL, 3, backbone_weights=None)
    t = _targets(32)
    t["masks"][1] = False
    t["masks"][1, 0:2, 0:4] = True  # half of the first 4x4 cell
    out = {"pred_masks": torch.zeros(1, 6, 8, 8)}
    grid = criterion.grid_targets(out, [t])[0]["grid_masks"]
    assert grid.shape == (2, 64)
    assert grid[0].view(8, 8)[:4].eq(1).all() and grid[0].view(8, 8)[4:].eq(0).all()
    assert grid[1, 0] == pytest.approx(0.5) and grid[1, 1:].eq(0).all()


def test_checkpoint_round_trip_rebuilds_the_same_network(tmp_path):
    cats = default_categories()
    model, _, _ = build_model(SMALL, cats, backbone_weights=None)
    path = tmp_path / "fast.pt"
    save_checkpoint(path, model, SMALL, cats)
    loaded = load_model_from_checkpoint(path)
    assert loaded.config == SMALL and isinstance(loaded.model, MaskDETR)
    x = torch.randn(1, 3, 64, 64)
    model.eval()
    torch.testing.assert_close(loaded.model.predict(x)["pred_logits"], model.predict(x)["pred_logits"])


def test_config_refuses_combinations_that_cannot_work():
    with pytest.raises(ValueError, match="narrow_resnet18"):
        get_preset("cpu_small").replace(backbone="narrow_resnet18")
    with pytest.raises(ValueError, match="with_masks"):
        SMALL.replace(with_masks=False)
    with pytest.raises(ValueError, match="mask_loss_stride"):
        SMALL.replace(mask_loss_stride=2)
    # An older checkpoint's config (no architecture key) is still the published DETR.
    old = {k: v for k, v in get_preset("detr_r50").to_dict().items() if k not in ("architecture", "mask_dim")}
    assert type(get_preset("detr_r50")).from_dict(old).architecture == "detr"
