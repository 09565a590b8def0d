"""The dense thin-structure head: shapes, its loss, that it can draw a 2-px crack the stride-4 query
masks cannot, and panoptic assembly from its connected components (one crack network, one segment)."""
import numpy as np
import pytest
import torch

from core.categories import default_categories
from core.inference.result import PanopticPrediction, PredictionMeta
from core.model import build_model, get_preset
from core.model.thin_fusion import fuse_thin, thin_components
from core.model.thin_head import ThinHead
from core.panoptic import SOURCE_MODEL, Segment

SMALL = get_preset("cpu_fast").replace(backbone_width=8, hidden_dim=32, nheads=2, dim_feedforward=64,
                                       num_queries=6, mask_dim=16, thin_head=True)
CATS = default_categories()
CRACK = CATS.by_name("crack")
CRACK_INDEX = [c.id for c in CATS].index(CRACK.id)


def _crack_target(size=64, width=2):
    """A photo-sized target with one horizontal crack ``width`` px wide and one concrete region."""
    crack = torch.zeros(size, size, dtype=torch.bool)
    crack[size // 2: size // 2 + width, 4: size - 4] = True
    concrete_index = [c.id for c in CATS].index(CATS.by_name("concrete").id)
    boxes = torch.tensor([[0.5, 0.5, (size - 8) / size, width / size], [0.5, 0.5, 1.0, 1.0]])
    return {"labels": torch.tensor([CRACK_INDEX, concrete_index]), "boxes": boxes,
            "masks": torch.stack([crack, ~crack])}


def test_the_head_gives_per_class_logits_at_the_input_resolution_and_trains():
    model, criterion, _ = build_model(SMALL, CATS, backbone_weights=None)
    out = model(torch.randn(2, 3, 64, 96))
    assert out["pred_thin"].shape == (2, len(CATS), 64, 96)
    targets = [_crack_target(64) | {"masks": torch.nn.functional.pad(_crack_target(64)["masks"], (0, 32))},
               {"labels": torch.zeros(0, dtype=torch.int64), "boxes": torch.zeros(0, 4),
                "masks": torch.zeros(0, 64, 96, dtype=torch.bool)}]
    losses = criterion(out, targets)
    assert losses["loss_thin"].item() > 0 and torch.isfinite(losses["loss"])
    losses["loss"].backward()
    assert model.thin_head.stem1[0].weight.grad.abs().sum() > 0  # the full-resolution stem learns
    # A model without the head has neither the output nor the term.
    plain, plain_criterion, _ = build_model(SMALL.replace(thin_head=False), CATS, backbone_weights=None)
    plain_out = plain(torch.randn(1, 3, 64, 64))
    assert "pred_thin" not in plain_out
    assert "loss_thin" not in plain_criterion(plain_out, [_crack_target(64)])


def test_the_head_learns_to_draw_a_two_pixel_crack_that_a_stride4_cell_cannot():
    """The head alone (its stride-4 input carries no information here), trained with the
    criterion's thin loss on a dark 2-px line: it must find the line in the image at full resolution."""
    torch.manual_seed(0)
    _, criterion, _ = build_model(SMALL, CATS, backbone_weights=None)
    head = ThinHead(16, len(CATS))
    image = torch.zeros(1, 3, 32, 32)
    target = _crack_target(32, width=2)
    image[0, :, target["masks"][0]] = -2.0  # a dark line on grey
    coarse = torch.zeros(1, 16, 8, 8)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        criterion.loss_thin({"pred_thin": head(coarse, image)}, [target]).backward()
        opt.step()
    with torch.no_grad():
        prob = head(coarse, image)[0, CRACK_INDEX].sigmoid()
    drawn = prob > 0.5
    truth = target["masks"][0]
    iou = (drawn & truth).sum() / (drawn | truth).sum()
    assert iou > 0.6, f"IoU {iou:.2f}"
    # ... and it stays thin: the rows just outside the 2-px line are not crack.
    assert prob[14].max() < 0.5 and prob[18].max() < 0.5


def _probs(*masks_and_values):
    p = np.zeros((1, *masks_and_values[0][0].shape), np.uint8)
    for mask, value in masks_and_values:
        p[0][mask] = value
    return p


def test_one_eight_connected_network_is_one_segment_scored_by_its_mean_probability():
    a = np.zeros((40, 40), bool)
    a[5, 2:20] = True
    a[6:15, 20] = True  # joins the first line through a corner: one network
    for i in range(8):
        a[15 + i, 21 + i] = True  # a diagonal branch, 8-connected to the line above it
    b = np.zeros((40, 40), bool)
    b[30, 5:35] = True
    comps = thin_components(_probs((a, 230), (b, 150)), [CRACK.id], min_area=4)
    assert len(comps) == 2
    assert sorted(np.round(comps.scores * 255)) == [150, 230]
    tiny = np.zeros((40, 40), bool)
    tiny[35, 1:4] = True  # 3 px: at most min_area, dropped as the post-processor drops small segments
    assert len(thin_components(_probs((tiny, 250)), [CRACK.id], min_area=4)) == 0


def test_short_flecks_are_no_crack_however_confident_but_a_line_of_the_same_area_is():
    # A 384-px input: the shortest crack kept spans 4 % of it (15 px).
    fleck = np.zeros((384, 384), bool)
    fleck[100:106, 100:106] = True  # a pore's dark rim: 36 px, 8.5 px across
    line = np.zeros((384, 384), bool)
    line[300, 50:86] = True  # 36 px too, but a line 36 px long
    comps = thin_components(_probs((fleck, 250), (line, 200)), [CRACK.id])
    assert len(comps) == 1 and comps.scores[0] * 255 == pytest.approx(200)
    assert comps.labels[300, 60] > 0 and comps.labels[102, 102] == 0
    assert len(thin_components(_probs((fleck, 250), (line, 200)), [CRACK.id], min_extent=0.0)) == 2
    # Two pieces of one crack, each short, bridged into one long enough: kept whole.
    pieces = np.zeros((384, 384), bool)
    pieces[200, 100:110] = True
    pieces[200, 118:128] = True
    assert len(thin_components(_probs((pieces, 230)), [CRACK.id])) == 1


def test_a_crack_that_fades_for_a_few_pixels_stays_one_segment_scored_by_its_confident_core():
    strong = np.zeros((40, 60), bool)
    strong[20, 2:25] = True
    strong[20, 35:58] = True
    weak = np.zeros((40, 60), bool)
    weak[20, 25:35] = True  # a narrowing: the head is less sure there (0.3)
    comps = thin_components(_probs((strong, 230), (weak, 77)), [CRACK.id], grow=0.2)
    assert len(comps) == 1 and comps.scores[0] * 255 == pytest.approx(230)
    assert np.array_equal(comps.labels > 0, strong | weak)
    # One threshold alone cuts the crack in two (what the hysteresis is for).
    assert len(thin_components(_probs((strong, 230), (weak, 77)), [CRACK.id], grow=0.5, bridge=False)) == 2
    # Weak pixels with no confident pixel are no crack at all (beside one or alone).
    assert len(thin_components(_probs((weak, 77)), [CRACK.id], grow=0.2)) == 0
    far = np.zeros((40, 60), bool)
    far[5, 2:58] = True
    assert len(thin_components(_probs((strong, 230), (weak, 77), (far, 60)), [CRACK.id], grow=0.2)) == 1


def _pieces(*segments, shape=(60, 80)):
    """A probability map with 1-px straight pieces from (r0, c0) to (r1, c1)."""
    import cv2

    m = np.zeros(shape, np.uint8)
    for (r0, c0), (r1, c1) in segments:
        cv2.line(m, (c0, r0), (c1, r1), 1, 1)
    return _probs((m > 0, 230))


def test_pieces_of_one_crack_across_a_gap_are_joined_and_side_by_side_cracks_are_not():
    # One diagonal crack the head broke for 8 px: one segment, the gap drawn in.
    comps = thin_components(_pieces(((10, 5), (25, 25)), ((31, 33), (50, 58))), [CRACK.id])
    assert len(comps) == 1
    n, _ = __import__("cv2").connectedComponents((comps.labels > 0).astype(np.uint8), connectivity=8)
    assert n == 2  # one 8-connected network (the instance definition)
    # A crack that runs up to another one's flank and stops 6 px short: a branch, one network.
    assert len(thin_components(_pieces(((30, 5), (30, 75)), ((5, 40), (24, 40))), [CRACK.id])) == 1
    # Two cracks side by side, 6 px apart: neither ends toward the other, two segments.
    assert len(thin_components(_pieces(((20, 5), (20, 70)), ((26, 10), (26, 75))), [CRACK.id])) == 2
    # In line but 30 px apart: more than the gap tolerance (20 px), two segments.
    assert len(thin_components(_pieces(((30, 2), (30, 24)), ((30, 55), (30, 78))), [CRACK.id])) == 2
    # Crossing the gap at a right angle to both pieces' course: not one crack.
    assert len(thin_components(_pieces(((10, 10), (10, 40)), ((18, 10), (18, 40))), [CRACK.id])) == 2


def test_fusion_replaces_query_cracks_and_gives_their_ribbon_back_to_the_concrete():
    concrete = CATS.by_name("concrete").id
    labels = np.ones((40, 40), np.uint8)
    labels[18:23, 5:35] = 2  # the queries' crack: a 5-px ribbon
    segments = {1: Segment(1, concrete, False, SOURCE_MODEL, 0.9), 2: Segment(2, CRACK.id, False, SOURCE_MODEL, 0.8)}
    line = np.zeros((40, 40), bool)
    line[20, 5:35] = True
    comps = thin_components(_probs((line, 220)), [CRACK.id])
    out, segs = fuse_thin(labels, segments, comps, 0.5, [CRACK.id])
    cracks = [s for s in segs.values() if s.category_id == CRACK.id]
    assert len(cracks) == 1 and cracks[0].score == pytest.approx(220 / 255)  # the component, not the query
    assert np.array_equal(out == cracks[0].id, line)  # exactly the thin line
    assert (out[18:23] != 0).all() and set(np.unique(out)) == {1, cracks[0].id}  # ribbon -> concrete
    # Above the component's score the head shows nothing there: the queries' crack stays as drawn.
    out_high, segs_high = fuse_thin(labels, segments, comps, 0.9, [CRACK.id])
    assert segs_high == segments and np.array_equal(out_high, labels)


def test_a_query_crack_the_head_does_not_see_stays_and_a_new_one_is_added():
    concrete = CATS.by_name("concrete").id
    labels = np.ones((40, 40), np.uint8)
    labels[5:9, 5:35] = 2  # a crack only the queries found
    segments = {1: Segment(1, concrete, False, SOURCE_MODEL, 0.9), 2: Segment(2, CRACK.id, False, SOURCE_MODEL, 0.8)}
    line = np.zeros((40, 40), bool)
    line[30, 5:35] = True  # a crack only the head found
    out, segs = fuse_thin(labels, segments, thin_components(_probs((line, 220)), [CRACK.id]), 0.5, [CRACK.id])
    assert segs[2] == segments[2] and np.array_equal(out == 2, labels == 2)
    new = [s for s in segs.values() if s.category_id == CRACK.id and s.id != 2]
    assert len(new) == 1 and np.array_equal(out == new[0].id, line)


def test_a_prediction_with_thin_maps_rethresholds_round_trips_and_counts_components():
    concrete = CATS.by_name("concrete").id
    concrete_index = [c.id for c in CATS].index(concrete)
    logits = np.full((1, len(CATS) + 1), -5.0, np.float32)
    logits[0, concrete_index] = 5.0
    masks = np.full((1, 10, 10), 5.0, np.float16)
    line = np.zeros((40, 40), bool)
    line[20, 5:35] = True
    meta = PredictionMeta((80, 80), (40, 40), 0.3)
    pred = PanopticPrediction(logits, masks, CATS, meta, thin_probs=_probs((line, 200)),
                              thin_category_ids=[CRACK.id])
    assert pred.candidate_count(0.5) == 2 and pred.candidate_count(0.8) == 1
    assert round(200 / 255, 3) in [round(s, 3) for s in pred.score_levels()]
    ann = pred.panoptic(0.5)
    crack_ids = [s.id for s in ann.segments.values() if s.category_id == CRACK.id]
    assert len(crack_ids) == 1 and (ann.id_map == crack_ids[0]).sum() == 2 * 2 * 30  # 80 px photo: x2
    assert not any(s.category_id == CRACK.id for s in pred.panoptic(0.8).segments.values())
    back = PanopticPrediction.from_bytes(pred.to_bytes())
    assert np.array_equal(back.panoptic(0.5).id_map, ann.id_map)
    with pytest.raises(ValueError, match="thin_probs"):
        PanopticPrediction(logits, masks, CATS, meta, thin_probs=np.zeros((1, 39, 40), np.uint8),
                           thin_category_ids=[CRACK.id])


def test_refinement_searches_one_input_pixel_around_thin_head_cracks_not_a_stride4_cell():
    from core.inference.thin_refine import grid_cell

    logits = np.full((0, len(CATS) + 1), -5.0, np.float32)
    meta = PredictionMeta((400, 400), (40, 40), 0.3)
    coarse = PanopticPrediction(logits, np.zeros((0, 10, 10), np.float16), CATS, meta)
    fine = PanopticPrediction(logits, np.zeros((0, 10, 10), np.float16), CATS, meta,
                              thin_probs=np.zeros((1, 40, 40), np.uint8), thin_category_ids=[CRACK.id])
    assert grid_cell(coarse) == 40.0 and grid_cell(fine) == 10.0


def test_fine_tuning_adds_a_fresh_thin_head_and_a_new_category_gets_its_own_row():
    from core.categories import Category, CategorySet
    from core.training.weights import load_our_checkpoint

    plain, _, _ = build_model(SMALL.replace(thin_head=False), CATS, backbone_weights=None)
    ckpt = {"categories": CATS.to_json(), "model": plain.state_dict()}
    with_head, _, _ = build_model(SMALL, CATS, backbone_weights=None)
    message = load_our_checkpoint(with_head, ckpt, CATS, new_class_head=False, path="shipped.pt")
    assert "thin-crack head starts fresh" in message
    assert torch.equal(with_head.class_embed.weight, plain.class_embed.weight)  # the rest is the checkpoint's
    # A checkpoint with the head, fine-tuned on its categories plus a new one: the thin head's
    # class rows follow the categories by name, the new one starts fresh.
    trained = {"categories": CATS.to_json(), "model": with_head.state_dict()}
    more = CategorySet(tuple(CATS) + (Category(99, "efflorescence", True, (200, 200, 255)),))
    bigger, _, _ = build_model(SMALL, more, backbone_weights=None)
    load_our_checkpoint(bigger, trained, more, new_class_head=True, path="with_head.pt")
    rows = bigger.thin_head.logits2.weight
    assert rows.shape[0] == len(more)
    torch.testing.assert_close(rows[CRACK_INDEX], with_head.thin_head.logits2.weight[CRACK_INDEX])


def test_context_blocks_added_to_a_trained_head_start_from_what_it_drew_and_then_learn():
    from core.training.weights import load_our_checkpoint

    torch.manual_seed(0)
    trained, _, _ = build_model(SMALL, CATS, backbone_weights=None)
    ckpt = {"categories": CATS.to_json(), "model": trained.state_dict()}
    wider, criterion, _ = build_model(SMALL.replace(thin_head_context=2), CATS, backbone_weights=None)
    message = load_our_checkpoint(wider, ckpt, CATS, new_class_head=False, path="shipped.pt")
    assert "10 new tensors start fresh" in message
    images, pixel_mask = torch.rand(2, 3, 64, 64), torch.zeros(2, 64, 64, dtype=torch.bool)
    trained.eval(), wider.eval()
    with torch.no_grad():
        torch.testing.assert_close(wider(images, pixel_mask)["pred_thin"], trained(images, pixel_mask)["pred_thin"])
    # Training reaches the blocks (their last convolution starts at zero, the first then follows).
    wider.train()
    targets = [_crack_target(64), _crack_target(64)]
    opt = torch.optim.SGD(wider.thin_head.context.parameters(), lr=0.1)
    first = wider.thin_head.context[0].conv1.weight.detach().clone()
    for _ in range(3):
        opt.zero_grad()
        criterion(wider(images, pixel_mask), targets)["loss"].backward()
        opt.step()
    assert wider.thin_head.context[0].conv2.weight.abs().sum() > 0
    assert not torch.equal(wider.thin_head.context[0].conv1.weight, first)


def test_the_predictor_keeps_the_thin_maps_of_the_thin_categories():
    from core.inference.predictor import Predictor

    model, _, _ = build_model(SMALL, CATS, backbone_weights=None)
    predictor = Predictor(model, CATS, input_size=64, min_threshold=0.05)
    rgb = np.random.default_rng(0).integers(0, 255, (48, 96, 3), dtype=np.uint8)
    pred = predictor.predict(rgb)
    thin = [c.id for c in CATS if c.name in ("crack", "exposed_rebar")]
    assert pred.thin_probs is not None and pred.thin_probs.shape == (len(pred.thin_category_ids), 32, 64)
    assert sorted(pred.thin_category_ids) == sorted(thin)
    ann = pred.panoptic(0.05)
    assert ann.id_map.shape == (48, 96)
    back = PanopticPrediction.from_bytes(pred.to_bytes())
    assert np.array_equal(back.thin_probs, pred.thin_probs)


def test_a_photo_up_to_the_native_size_is_read_by_the_thin_head_at_its_own_size():
    """A model trained on native windows learnt cracks at their own width: a photo larger than the
    input but within the size it saw photos at is read by the thin head at its own size, and the
    segments are assembled there; a larger photo is not (its first result would cost too much)."""
    from core.inference.predictor import Predictor
    from core.inference.thin_refine import grid_cell
    from core.native_scale import native_size_of

    assert native_size_of({"max_size": 320, "native_crop_prob": 0.5}) == 640
    assert native_size_of({"max_size": 320, "native_crop_prob": 0.0}) == 0
    assert native_size_of(None) == 0
    torch.manual_seed(0)
    model, _, _ = build_model(SMALL, CATS, backbone_weights=None)
    predictor = Predictor(model, CATS, input_size=64, min_threshold=0.05, native_size=128)
    rgb = np.random.default_rng(0).integers(0, 255, (75, 100, 3), dtype=np.uint8)
    pred = predictor.predict(rgb)
    assert pred.input_size == (48, 64)                      # the queries still see the input size
    assert pred.thin_probs.shape[1:] == (75, 100) == pred.assembly_size
    x = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
    x = (x - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    expected = model.predict_thin(x[None])[0, [i for i, c in enumerate(CATS) if c.name in ("crack", "exposed_rebar")]]
    assert np.abs(pred.thin_probs.astype(int) - (expected.sigmoid() * 255).round().numpy()).max() <= 1
    small, _ = pred.label_map(0.05)
    assert small.shape == (75, 100) and pred.panoptic(0.05).id_map.shape == (75, 100)
    assert grid_cell(pred) == pytest.approx(1.0)            # refinement searches one photo pixel
    back = PanopticPrediction.from_bytes(pred.to_bytes())
    assert np.array_equal(back.thin_probs, pred.thin_probs) and back.assembly_size == (75, 100)
    # Larger than the native size, or no larger than the input: one pass at the input size.
    big = predictor.predict(np.zeros((150, 200, 3), np.uint8))
    assert big.thin_probs.shape[1:] == big.input_size == (48, 64)
    assert Predictor(model, CATS, input_size=64, native_size=0).predict(rgb).thin_probs.shape[1:] == (48, 64)
