"""Thin-aware mask losses: point sampling aligned across resolutions, uncertainty sampling,
soft skeletons and clDice, and what they do for a thin crack in the criterion."""
from __future__ import annotations

import torch

from core.model.criterion import SetCriterion
from core.model.mask_losses import cldice_loss, point_sample, soft_skeleton, uncertain_points
from core.model.matcher import HungarianMatcher


def _cell_centre(col: int, row: int, w: int, h: int) -> tuple[float, float]:
    return (col + 0.5) / w, (row + 0.5) / h


def test_a_point_addresses_the_same_place_on_the_stride4_grid_and_the_full_mask():
    full = torch.zeros(1, 1, 32, 32)
    full[0, 0, 13, 21] = 1.0  # one pixel inside stride-4 cell (row 3, col 5)
    grid = torch.zeros(1, 1, 8, 8)
    grid[0, 0, 3, 5] = 7.0
    coords = torch.tensor([[_cell_centre(21, 13, 32, 32), _cell_centre(22, 13, 32, 32)]])
    assert point_sample(full, coords).tolist() == [[1.0, 0.0]]
    # The pixel (21, 13) lies inside cell (5, 3); bilinear on the grid reads mostly that cell.
    on_grid = point_sample(grid, coords)[0, 0].item()
    assert on_grid > 0.5 * 7.0


def test_uncertain_points_gather_where_the_logits_are_near_zero():
    logits = torch.full((1, 1, 40, 40), 8.0)
    logits[0, 0, :, 18:22] = 0.0  # an undecided band, 10 % of the area
    gen = torch.Generator().manual_seed(0)
    pts = uncertain_points(logits, 200, oversample=3.0, importance=0.75, generator=gen)
    assert pts.shape == (1, 200, 2)
    x = pts[0, :, 0]
    in_band = ((x > 17.5 / 40) & (x < 22.5 / 40)).float().mean().item()
    assert in_band > 0.25  # uniform sampling would put ~10 % there


def test_soft_skeleton_of_a_thick_bar_is_its_centre_line():
    bar = torch.zeros(1, 1, 21, 30)
    bar[0, 0, 8:13, 3:27] = 1.0  # 5 rows thick
    skel = soft_skeleton(bar, iterations=3)[0, 0]
    rows = skel[:, 10:20].sum(1)
    assert rows.argmax().item() == 10  # the middle row carries the skeleton
    assert rows[8].item() < 0.2 * rows[10].item() and rows[12].item() < 0.2 * rows[10].item()


def test_the_fast_erosion_and_dilation_are_min_and_max_pooling_with_their_gradients():
    import torch.nn.functional as F

    def reference(prob, iterations=3):  # the textbook form: pooling for both
        def erode(x):
            return torch.minimum(-F.max_pool2d(-x, (3, 1), 1, (1, 0)), -F.max_pool2d(-x, (1, 3), 1, (0, 1)))
        skel = F.relu(prob - F.max_pool2d(erode(prob), 3, 1, 1))
        x = prob
        for _ in range(iterations):
            x = erode(x)
            delta = F.relu(x - F.max_pool2d(erode(x), 3, 1, 1))
            skel = skel + F.relu(delta - skel * delta)
        return skel

    torch.manual_seed(0)
    x = torch.rand(3, 1, 23, 17)
    assert torch.equal(soft_skeleton(x), reference(x))  # no autograd: the target's path
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    weights = torch.rand_like(x)
    (soft_skeleton(a) * weights).sum().backward()
    (reference(b) * weights).sum().backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-5)


def test_cldice_counts_a_missed_branch_and_forgives_thickness():
    crack = torch.zeros(1, 1, 40, 40)
    crack[0, 0, 20, 5:35] = 1.0            # the main line
    crack[0, 0, 5:20, 20] = 1.0            # a branch, half its length
    main_only = torch.zeros_like(crack)
    main_only[0, 0, 20, 5:35] = 1.0
    thick = torch.zeros_like(crack)
    thick[0, 0, 19:22, 5:35] = 1.0
    thick[0, 0, 5:20, 19:22] = 1.0
    perfect = cldice_loss(crack, crack).item()
    assert perfect < 0.05
    assert cldice_loss(main_only, crack).item() > perfect + 0.1  # the missed branch costs recall
    assert cldice_loss(thick, crack).item() < 0.1  # a 3-px mask of a 1-px crack is still on its line


def _crack_batch(size=64):
    """One 2-px horizontal crack (class 0) on a ``size`` image; logits [1, 1, size/4, size/4] at 0."""
    masks = torch.zeros(1, size, size, dtype=torch.bool)
    masks[0, 30:32, 4:60] = True
    target = {"labels": torch.tensor([0]), "boxes": torch.tensor([[0.5, 0.48, 0.875, 0.04]]), "masks": masks}
    logits = torch.zeros(1, 1, size // 4, size // 4, requires_grad=True)
    outputs = {"pred_logits": torch.zeros(1, 1, 2), "pred_boxes": torch.tensor([[[0.5, 0.48, 0.875, 0.04]]]),
               "pred_masks": logits}
    return outputs, [target], logits


def _criterion(**kw) -> SetCriterion:
    weights = {"loss_ce": 1.0, "loss_bbox": 1.0, "loss_giou": 1.0, "loss_mask": 1.0, "loss_dice": 1.0,
               "loss_cldice": kw.pop("cldice", 0.0)}
    return SetCriterion(1, HungarianMatcher(), weights, mask_loss="bce", **kw)


def test_a_thin_crack_keeps_a_full_target_under_point_losses_not_under_the_grid_loss():
    """On the stride-4 grid a 2-px crack is a target of 0.5 (its cells are half crack) and a 1-px
    one 0.25: the grid loss is satisfied by an undecided or background mask there. Points read the
    target at full resolution: the crack's own points are targets of 1, and a mask that is still
    undecided gets its points along the crack."""
    torch.manual_seed(0)
    crit = _criterion(mask_loss_points=512)
    outputs, targets, logits = _crack_batch()
    grid = crit.grid_targets(outputs, targets)[0]["grid_masks"].view(16, 16)
    assert grid.max().item() == 0.5
    matched = [(torch.tensor([0]), torch.tensor([0]))]
    src, tgt = crit.point_pairs(logits[0], crit.grid_targets(outputs, targets), matched)
    assert src.shape == tgt.shape == (1, 512)
    assert tgt.max().item() == 1.0
    # Undecided everywhere except confident background away from the crack's rows: the points
    # that matter gather on the crack's band.
    with torch.no_grad():
        logits.fill_(-8.0)
        logits[0, 0, 6:9] = 0.0
    _, tgt = crit.point_pairs(logits[0], crit.grid_targets(outputs, targets), matched)
    assert (tgt > 0.5).float().mean().item() > 0.1  # the crack is 3 % of the image


def test_cldice_term_only_for_thin_classes_and_only_when_weighted():
    outputs, targets, _ = _crack_batch()
    assert "loss_cldice" not in _criterion(mask_loss_stride=4)(outputs, targets)
    assert "loss_cldice" not in _criterion(mask_loss_stride=4, cldice=1.0)(outputs, targets)  # no thin class
    with_thin = _criterion(mask_loss_stride=4, cldice=2.0, thin_classes={0})(outputs, targets)
    assert with_thin["loss_cldice"].item() > 0
    assert torch.isfinite(with_thin["loss"])
    not_thin = _criterion(mask_loss_stride=4, cldice=2.0, thin_classes={5})(outputs, targets)
    assert not_thin["loss_cldice"].item() == 0.0
