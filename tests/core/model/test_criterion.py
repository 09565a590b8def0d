import pytest
import torch

H, W = 64, 96


def _images(b=2):
    return torch.randn(b, 3, H, W, generator=torch.Generator().manual_seed(0))


def _target(boxes_xyxy_px, labels):
    masks = torch.zeros(len(labels), H, W, dtype=torch.bool)
    boxes = []
    for i, (x0, y0, x1, y1) in enumerate(boxes_xyxy_px):
        masks[i, y0:y1, x0:x1] = True
        boxes.append([(x0 + x1) / 2 / W, (y0 + y1) / 2 / H, (x1 - x0) / W, (y1 - y0) / H])
    return {"labels": torch.tensor(labels, dtype=torch.int64),
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), "masks": masks}


def _empty():
    return _target([], [])


def test_losses_have_every_documented_term(build_tiny, tiny_config):
    model, criterion, _ = build_tiny()
    losses = criterion(model(_images()), [_target([(4, 4, 40, 30), (0, 0, W, H)], [0, 3]), _empty()])
    base = {"loss_ce", "loss_bbox", "loss_giou"}
    aux = {f"{k}_{i}" for k in base for i in range(tiny_config.dec_layers - 1)}
    assert set(losses) == base | aux | {"loss_mask", "loss_dice", "cardinality_error", "loss"}
    assert all(v.ndim == 0 and torch.isfinite(v) for v in losses.values())
    terms = sum(v for k, v in losses.items() if k not in ("loss", "cardinality_error"))
    torch.testing.assert_close(losses["loss"], terms)
    assert not losses["cardinality_error"].requires_grad


def test_terms_are_weighted_by_the_config(build_tiny):
    torch.manual_seed(0)
    model, criterion, _ = build_tiny()
    model.eval()
    targets = [_target([(4, 4, 40, 30)], [1]), _empty()]
    with torch.no_grad():
        out = model(_images())
    _, heavier, _ = build_tiny(bbox_loss_coef=10.0)
    a, b = criterion(out, targets), heavier(out, targets)
    torch.testing.assert_close(b["loss_bbox"], 2 * a["loss_bbox"])
    torch.testing.assert_close(b["loss_giou"], a["loss_giou"])


@pytest.mark.slow
def test_empty_targets_only_teach_no_object(build_tiny):
    model, criterion, _ = build_tiny()
    losses = criterion(model(_images()), [_empty(), _empty()])
    assert losses["loss_ce"].item() > 0
    for k in ("loss_bbox", "loss_giou", "loss_mask", "loss_dice"):
        assert losses[k].item() == 0.0
    losses["loss"].backward()
    class_grad = model.detr.class_embed.bias.grad
    assert class_grad is not None and float(class_grad[-1]) < 0  # pushes "no object" up


def test_perfect_predictions_have_no_box_loss_and_no_cardinality_error(categories):
    from core.model import build_model, get_preset

    _, criterion, _ = build_model(get_preset("cpu_small"), categories, backbone_weights=None)
    target = _target([(4, 4, 40, 30), (50, 10, 90, 60)], [0, 2])
    logits = torch.full((1, 3, 6), -10.0)
    logits[0, 0, 2] = logits[0, 1, 0] = logits[0, 2, 5] = 10.0  # query 2 says "no object"
    boxes = torch.stack([target["boxes"][1], target["boxes"][0], torch.tensor([0.5, 0.5, 0.1, 0.1])])[None]
    losses = criterion({"pred_logits": logits, "pred_boxes": boxes, "aux_outputs": []}, [target])
    assert float(losses["loss_bbox"]) == pytest.approx(0, abs=1e-6)
    assert float(losses["loss_giou"]) == pytest.approx(0, abs=1e-6)
    assert float(losses["loss_ce"]) < 1e-3 and float(losses["cardinality_error"]) == 0


def test_stages_select_the_terms_that_enter_the_loss(build_tiny):
    model, criterion, _ = build_tiny()
    targets = [_target([(4, 4, 40, 30)], [1]), _target([(0, 0, W, H)], [4])]
    out = model(_images())
    criterion.set_stage("detection")
    det = criterion(out, targets)
    box_terms = sum(v for k, v in det.items() if k.startswith(("loss_ce", "loss_bbox", "loss_giou")))
    torch.testing.assert_close(det["loss"], box_terms)
    assert not det["loss_mask"].requires_grad and det["loss_ce"].requires_grad
    criterion.set_stage("masks")
    masks = criterion(out, targets)
    torch.testing.assert_close(masks["loss"], masks["loss_mask"] + masks["loss_dice"])
    assert not masks["loss_ce"].requires_grad
    with pytest.raises(ValueError, match="joint"):
        criterion.set_stage("everything")


@pytest.mark.slow
def test_gradients_reach_every_trainable_parameter(build_tiny):
    model, criterion, _ = build_tiny()
    model.train()
    targets = [_target([(4, 4, 40, 30), (0, 0, W, H)], [0, 3]), _target([(20, 8, 90, 50)], [1])]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(2):  # after one step, parameters that only see zeros at init come alive too
        optimizer.zero_grad()
        criterion(model(_images()), targets)["loss"].backward()
        optimizer.step()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert any(n.startswith("detr.backbone.0.body.conv1") for n in trainable)  # cpu_small trains it all
    # DETR's first decoder layer self-attends over all-zero inputs: every value is the same
    # bias, so the query/key/value projections of that layer never receive a gradient (in the
    # public model too). Everything else must.
    dead = {"detr.transformer.decoder.layers.0.self_attn.in_proj_weight"}
    missing = [n for n, p in trainable.items() if n not in dead and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert missing == []


def test_frozen_backbone_stages_do_not_train(build_tiny):
    model, _, _ = build_tiny(trainable_backbone_layers=3, frozen_bn=True)
    trainable = {n.split(".")[4] for n, p in model.named_parameters()
                 if p.requires_grad and n.startswith("detr.backbone.")}
    assert trainable == {"layer2", "layer3", "layer4"}
