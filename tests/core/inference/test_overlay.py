"""Overlay pictures for people: colours, outlines, "class score" labels inside their segment."""
from __future__ import annotations

import numpy as np

from core.categories import default_categories
from core.inference.overlay import render_prediction_overlay, segment_label
from core.overlay import label_anchor
from core.panoptic import SOURCE_MODEL, PanopticAnnotation, Segment

CATS = default_categories()


def test_label_sits_inside_a_curved_segment_whose_centroid_is_outside():
    yy, xx = np.mgrid[:100, :100]
    ring = np.abs(np.hypot(yy - 50, xx - 50) - 35) < 4  # a ring: centroid (50, 50) is not on it
    x, y = label_anchor(ring)
    assert ring[y, x]
    assert label_anchor(np.zeros((5, 5), bool)) is None


def test_overlay_tints_segments_and_writes_their_labels():
    ids = np.zeros((120, 160), np.int32)
    ids[:, :] = 1
    ids[30:90, 40:120] = 2
    ann = PanopticAnnotation(ids, {1: Segment(1, 4, source=SOURCE_MODEL, score=0.97),
                                   2: Segment(2, 2, source=SOURCE_MODEL, score=0.5)})
    grey = np.full((120, 160, 3), 128, np.uint8)
    plain = render_prediction_overlay(grey, ann, CATS, labels=False)
    labelled = render_prediction_overlay(grey, ann, CATS)
    spalling = np.array(CATS.by_id(2).color, float)
    # Fill: the spalling area moved towards its colour.
    centre = plain[60, 60].astype(float)
    assert np.linalg.norm(centre - spalling) < np.linalg.norm(np.array([128.0] * 3) - spalling)
    # Labels: drawn over the segment's interior; text says class and score.
    changed = np.abs(labelled.astype(int) - plain.astype(int)).sum(-1) > 0
    assert changed[30:90, 40:120].any() and changed.sum() > 100
    assert segment_label(ann, CATS, 2) == "spalling 0.50"
    assert labelled.shape == grey.shape and labelled.dtype == np.uint8
