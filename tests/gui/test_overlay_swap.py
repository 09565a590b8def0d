"""The prediction overlay swapped in place (the confidence slider): what the canvas shows after a
swap equals a fresh render of the new result pixel for pixel, at every zoom level, and tiles that
did not change are not rendered again."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsScene

from core.categories import default_categories
from core.inference.label_maps import expand_nearest
from core.panoptic import PanopticAnnotation, Segment
from gui.canvas.annotation_item import AnnotationItem, ExpandedFrom
from gui.canvas.colour_table import OverlayStyle
from gui.canvas.overlay_diff import changed_boxes, stable_pixels

FULL = (750, 1000)  # (H, W): not a multiple of the small map's size, as photos are not


def small_maps(seed: int, drop: int | None):
    """A model-size map with a few rectangles of thing and stuff categories, and the same map
    after dropping segment ``drop`` (its pixels go to the segment beside it) and renumbering the
    rest 1..n, as re-thresholding does."""
    rng = np.random.default_rng(seed)
    cats = [c.id for c in default_categories()]
    small = np.zeros((48, 64), np.uint8)
    segs = {}
    for i in range(1, 9):
        y, x = int(rng.integers(0, 40)), int(rng.integers(0, 56))
        small[y:y + int(rng.integers(3, 12)), x:x + int(rng.integers(3, 12))] = i
        segs[i] = Segment(i, cats[i % len(cats)], False)
    present = sorted(set(np.unique(small)) - {0})
    segs = {i: segs[i] for i in present}
    if drop is None:
        return small, segs
    drop = present[drop % len(present)]
    new = small.copy()
    ys, xs = np.nonzero(small == drop)
    new[small == drop] = small[max(0, ys.min() - 1), xs.min()] if ys.min() > 0 else 0
    keep = sorted(set(np.unique(new)) - {0})
    lut = np.zeros(256, np.uint8)
    lut[keep] = np.arange(1, len(keep) + 1)
    return lut[new], {k: Segment(k, segs[old].category_id, False) for k, old in enumerate(keep, start=1)}


def annotation(small, segs) -> PanopticAnnotation:
    return PanopticAnnotation(expand_nearest(small, *FULL), dict(segs))


def render(item: AnnotationItem, scale: float) -> np.ndarray:
    """What the item paints at ``scale`` (zoom): ``[h, w]`` uint32 ARGB."""
    scene = QGraphicsScene()
    scene.addItem(item)
    h, w = FULL
    img = QImage(int(w * scale), int(h * scale), QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(0)
    painter = QPainter(img)
    scene.render(painter, QRectF(0, 0, img.width(), img.height()), QRectF(0, 0, w, h),
                 Qt.AspectRatioMode.IgnoreAspectRatio)
    painter.end()
    scene.removeItem(item)
    return np.array(img.constBits(), np.uint8).view(np.uint32).reshape(img.height(), -1)[:, :img.width()].copy()


@pytest.mark.parametrize("outline_only", [True, False])
@pytest.mark.parametrize("scale", [1.0, 0.5, 0.25])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_swap_equals_a_fresh_render(qapp, seed, scale, outline_only):
    style = OverlayStyle(opacity=0.3, outline_only=outline_only)
    cats = default_categories()
    old_small, old_segs = small_maps(seed, None)
    new_small, new_segs = small_maps(seed, drop=seed)
    item = AnnotationItem(annotation(old_small, old_segs), cats, style)
    item.source = ExpandedFrom(old_small)
    render(item, scale)  # its tiles are cached now
    before = item.tiles_rendered
    new = annotation(new_small, new_segs)
    assert item.swap_annotation(new, ExpandedFrom(new_small))
    shown = render(item, scale)
    fresh = render(AnnotationItem(new, cats, style), scale)
    assert np.array_equal(shown, fresh)
    assert item.tiles_rendered == before  # recoloured in place, no tile made again


def test_a_redrawn_box_is_coloured_again(qapp):
    """A result whose thin segments were redrawn at full resolution differs from its small map
    inside the box it names: swapping from or to it must colour that box again."""
    cats = default_categories()
    small, segs = small_maps(3, None)
    fine_ids = expand_nearest(small, *FULL)
    sid = next(iter(segs))
    fine_ids[300:310, 100:400] = sid  # a crack redrawn across the photo
    fine = PanopticAnnotation(fine_ids, dict(segs))
    item = AnnotationItem(fine, cats)
    item.source = ExpandedFrom(small, (300, 100, 310, 400))
    render(item, 1.0)
    coarse = annotation(small, segs)
    assert item.swap_annotation(coarse, ExpandedFrom(small))
    assert np.array_equal(render(item, 1.0), render(AnnotationItem(coarse, cats), 1.0))


def test_swap_refused_without_a_known_source(qapp):
    cats = default_categories()
    small, segs = small_maps(4, None)
    item = AnnotationItem(annotation(small, segs), cats)  # e.g. the stored result when a photo opens
    other_small, other_segs = small_maps(4, drop=1)
    assert not item.swap_annotation(annotation(other_small, other_segs), ExpandedFrom(other_small))
    assert item.annotation.segments == segs


def test_nothing_changed_means_no_box():
    small, segs = small_maps(5, None)
    colours = {i: (i, i) for i in segs}
    relabelled = np.where(small > 0, small + 10, 0).astype(np.uint8)  # same partition, other ids
    shifted = {i + 10: c for i, c in colours.items()}
    assert stable_pixels(small, relabelled, colours, shifted).all()
    assert changed_boxes(small, relabelled, colours, shifted, FULL) == []
    # The same partition with another colour for one segment: exactly that segment's box.
    recoloured = dict(shifted)
    first = next(iter(segs))
    recoloured[first + 10] = (999, 999)
    boxes = changed_boxes(small, relabelled, colours, recoloured, FULL)
    full = expand_nearest(small, *FULL)
    covered = np.zeros(FULL, bool)
    for y0, x0, y1, x1 in boxes:
        covered[y0:y1, x0:x1] = True
    assert covered[full == first].all()
    assert not covered[(full != first) & (full != 0)].all()


@pytest.mark.parametrize("step", [1, 2, 4, 8])
def test_tiles_read_from_the_small_map_are_the_expanded_ids(step):
    from gui.canvas.colour_table import sample_expanded, sample_with_margin

    small, _ = small_maps(6, None)
    full = expand_nearest(small, *FULL)
    for y0, x0, y1, x1 in [(0, 0, 256 * step, 256 * step), (500, 700, 750, 1000), (37, 11, 300, 250)]:
        y1, x1 = min(y1, FULL[0]), min(x1, FULL[1])
        assert np.array_equal(sample_expanded(small, FULL, y0, x0, y1, x1, step),
                              sample_with_margin(full, y0, x0, y1, x1, step))


def test_a_lazy_result_is_drawn_without_its_full_map(qapp):
    """The slider shows a result before its 12 MP map is made: the canvas draws it from the small
    map, pixel for pixel as the made map, and the map is made only when something reads it."""
    from gui.prediction.lazy_annotation import ExpandedAnnotation

    cats = default_categories()
    old_small, old_segs = small_maps(7, None)
    new_small, new_segs = small_maps(7, drop=2)
    item = AnnotationItem(annotation(old_small, old_segs), cats, OverlayStyle(outline_only=True))
    item.source = ExpandedFrom(old_small)
    render(item, 0.5)
    lazy = ExpandedAnnotation(new_small, dict(new_segs), FULL)
    assert item.swap_annotation(lazy, ExpandedFrom(new_small))
    shown = render(item, 0.5)
    assert not lazy.expanded
    assert lazy.shape == FULL
    assert np.array_equal(lazy.id_map, expand_nearest(new_small, *FULL)) and lazy.expanded
    assert np.array_equal(shown, render(AnnotationItem(annotation(new_small, new_segs), cats,
                                                       OverlayStyle(outline_only=True)), 0.5))
