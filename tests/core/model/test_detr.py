"""Output shapes and dtypes, and the masks-only-for-survivors inference path."""
import math

import pytest
import torch

from core.model import MASK_FILL, select_queries


def _batch(h=96, w=128, pad_cols=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(2, 3, h, w, generator=g)
    pixel_mask = torch.zeros(2, h, w, dtype=torch.bool)
    pixel_mask[1, :, w - pad_cols:] = True  # the second image is narrower, padded on the right
    images[1, :, pixel_mask[1]] = 0
    return images, pixel_mask


@pytest.mark.parametrize("h, w", [(96, 128), (100, 75)])
def test_panoptic_outputs_have_the_documented_shapes_and_dtypes(build_tiny, tiny_config, h, w):
    model, _, _ = build_tiny()
    images, pixel_mask = _batch(h, w, pad_cols=10)
    out = model(images, pixel_mask)
    q, k = tiny_config.num_queries, 5
    assert out["pred_logits"].shape == (2, q, k + 1) and out["pred_logits"].dtype == torch.float32
    assert out["pred_boxes"].shape == (2, q, 4) and out["pred_boxes"].dtype == torch.float32
    boxes = out["pred_boxes"].detach()
    assert float(boxes.min()) >= 0 and float(boxes.max()) <= 1
    assert out["pred_masks"].shape == (2, q, math.ceil(h / 4), math.ceil(w / 4))
    assert out["pred_masks"].dtype == torch.float32
    assert len(out["aux_outputs"]) == tiny_config.dec_layers - 1
    for aux in out["aux_outputs"]:
        assert set(aux) == {"pred_logits", "pred_boxes"}
        assert aux["pred_logits"].shape == (2, q, k + 1) and aux["pred_boxes"].shape == (2, q, 4)


def test_forward_returns_the_same_keys_in_train_and_eval_mode(build_tiny):
    model, _, _ = build_tiny()
    images, pixel_mask = _batch()
    train_keys = set(model.train()(images, pixel_mask))
    with torch.no_grad():
        eval_keys = set(model.eval()(images, pixel_mask))
    assert train_keys == eval_keys == {"pred_logits", "pred_boxes", "pred_masks", "aux_outputs"}


def test_detector_without_masks_and_without_aux(build_tiny):
    model, _, _ = build_tiny(with_masks=False, aux_loss=False)
    out = model(*_batch())
    assert set(out) == {"pred_logits", "pred_boxes", "aux_outputs"} and out["aux_outputs"] == []


def test_no_pixel_mask_means_no_padding(build_tiny):
    model, _, _ = build_tiny()
    model.eval()
    images, _ = _batch()
    with torch.no_grad():
        a = model(images)
        b = model(images, torch.zeros(images.shape[0], *images.shape[-2:], dtype=torch.bool))
    assert torch.equal(a["pred_masks"], b["pred_masks"]) and torch.equal(a["pred_logits"], b["pred_logits"])


def test_a_wrong_pixel_mask_is_refused(build_tiny):
    model, _, _ = build_tiny()
    images, pixel_mask = _batch()
    with pytest.raises(ValueError, match="pixel_mask"):
        model(images, pixel_mask[:, :-1])


@pytest.mark.slow
def test_predict_computes_masks_only_for_survivors_and_they_equal_the_full_path(build_tiny):
    model, _, _ = build_tiny()
    model.eval()
    with torch.no_grad():  # every query's best class a real one; the threshold then keeps half
        model.detr.class_embed.bias[-1] = -10.0
    images, pixel_mask = _batch()
    with torch.no_grad():
        full = model(images, pixel_mask)
    probs = full["pred_logits"].softmax(-1).max(-1).values
    min_score = float(probs.flatten().kthvalue(probs.numel() // 2).values)
    fast = model.predict(images, pixel_mask, min_score=min_score)
    keep = fast["mask_keep"]
    assert keep.dtype == torch.bool and keep.shape == full["pred_logits"].shape[:2]
    assert fast["pred_masks"].shape == full["pred_masks"].shape and fast["pred_masks"].dtype == torch.float32
    assert torch.equal(keep, select_queries(full["pred_logits"], min_score))
    assert int(keep.sum()) == keep.numel() // 2
    torch.testing.assert_close(fast["pred_logits"], full["pred_logits"])
    torch.testing.assert_close(fast["pred_boxes"], full["pred_boxes"])
    torch.testing.assert_close(fast["pred_masks"][keep], full["pred_masks"][keep], atol=1e-4, rtol=1e-4)
    assert bool((fast["pred_masks"][~keep] == MASK_FILL).all())
    assert fast["aux_outputs"] == [] and fast["mask_min_score"] == min_score


def test_predict_equals_forward_when_every_query_is_kept(build_tiny):
    model, _, _ = build_tiny()
    model.eval()
    images, pixel_mask = _batch()
    with torch.no_grad():
        full = model(images, pixel_mask)
    fast = model.predict(images, pixel_mask)  # no min_score: all queries
    assert bool(fast["mask_keep"].all())
    torch.testing.assert_close(fast["pred_masks"], full["pred_masks"], atol=1e-4, rtol=1e-4)


def test_predict_with_no_survivor_gives_empty_panoptic_results(build_tiny):
    model, _, post = build_tiny()
    images, pixel_mask = _batch()
    out = model.predict(images, pixel_mask, min_score=0.999)
    assert not out["mask_keep"].any()
    anns = post(out, [(96, 128), (96, 104)], [(192, 256), (48, 52)], threshold=0.999)
    assert [a.shape for a in anns] == [(192, 256), (48, 52)]
    assert all(a.segments == {} and not a.id_map.any() for a in anns)


def test_predict_leaves_the_training_mode_as_it_was(build_tiny):
    model, _, _ = build_tiny()
    model.train()
    out = model.predict(*_batch(), min_score=0.1)
    assert model.training and not out["pred_logits"].requires_grad


def test_postprocessor_refuses_a_threshold_below_the_one_masks_were_computed_for(build_tiny):
    model, _, post = build_tiny()
    out = model.predict(*_batch(), min_score=0.5)
    with pytest.raises(ValueError, match="below"):
        post(out, [(96, 128), (96, 104)], threshold=0.3)


@pytest.mark.slow
def test_predict_between_training_steps_changes_nothing_in_training(build_tiny):
    # predict runs under inference_mode and lays the weights out channels-last on the CPU; the
    # weights must stay trainable and training must compute bit for bit what it would without
    # the prediction (validation during training; a resumed run repeats the same losses).
    images, pixel_mask = _batch()
    targets = [{"labels": torch.tensor([0]), "boxes": torch.tensor([[0.5, 0.5, 0.2, 0.2]]),
                "masks": torch.ones(1, 96, 128, dtype=torch.bool)}] * 2
    weights = []
    for with_predict in (False, True):
        model, criterion, _ = build_tiny()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        for step in range(2):
            model.train()
            optimizer.zero_grad()
            criterion(model(images, pixel_mask), targets)["loss"].backward()
            optimizer.step()
            if with_predict and step == 0:
                model.predict(images, pixel_mask, min_score=0.5)
        weights.append(model.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
