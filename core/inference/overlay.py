"""Pictures of a prediction for people: category colours, outlines, "crack 0.92" labels.

The fill, the outlines and where a label goes come from ``core.overlay`` (shared with the
synthetic-data previews); this adds a "name score" label per segment.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.categories import CategorySet
from core.imageio import load_image
from core.inference.result import PanopticPrediction
from core.overlay import ink_colour, label_anchor, tint
from core.panoptic import PanopticAnnotation

#: Longer side of overlay pictures written for people (a 24 MP photo is not needed to judge them).
DEFAULT_OVERLAY_SIDE = 1600


def segment_label(annotation: PanopticAnnotation, categories: CategorySet, segment_id: int) -> str:
    """``"crack 0.92"`` (the score only for model segments that have one)."""
    seg = annotation.segments[segment_id]
    name = categories.by_id(seg.category_id).name if seg.category_id in categories else f"class {seg.category_id}"
    return name if seg.score is None else f"{name} {seg.score:.2f}"


def render_prediction_overlay(rgb: np.ndarray, annotation: PanopticAnnotation, categories: CategorySet,
                              alpha: float = 0.45, labels: bool = True) -> np.ndarray:
    """``rgb`` ``[H, W, 3]`` uint8 under the annotation: category colours at ``alpha``, segment
    outlines, and a "name score" tag per segment. Returns ``[H, W, 3]`` uint8 RGB."""
    import cv2

    if rgb.shape[:2] != annotation.shape:
        raise ValueError(f"photo is {rgb.shape[1]}x{rgb.shape[0]} but the annotation is "
                         f"{annotation.shape[1]}x{annotation.shape[0]}")
    out = tint(rgb, annotation, categories, alpha)
    if not labels:
        return out
    h, w = annotation.shape
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(0.35, min(h, w) / 900.0)
    thickness = max(1, round(scale * 1.5))
    for seg_id in sorted(annotation.segments):
        anchor = label_anchor(annotation.id_map == seg_id)
        if anchor is None:
            continue
        text = segment_label(annotation, categories, seg_id)
        cat = annotation.segments[seg_id].category_id
        colour = tuple(int(c) for c in categories.by_id(cat).color) if cat in categories else (255, 255, 255)
        (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
        # Centred on the anchor, kept inside the picture.
        x = int(min(max(anchor[0] - tw // 2, 2), max(2, w - tw - 2)))
        y = int(min(max(anchor[1] + th // 2, th + 2), max(th + 2, h - base - 2)))
        cv2.rectangle(out, (x - 2, y - th - 2), (x + tw + 2, y + base), colour, -1)
        cv2.putText(out, text, (x, y), font, scale, ink_colour(colour), thickness, cv2.LINE_AA)
    return out


def prediction_overlay(prediction: PanopticPrediction, photo: str | Path | np.ndarray, threshold: float,
                       max_side: int = DEFAULT_OVERLAY_SIDE) -> np.ndarray:
    """The overlay picture of a prediction at ``threshold``, longer side at most ``max_side``.

    ``photo``: the photo's path (decoded downscaled: cheap for big JPEGs) or its upright RGB array.
    The labels are computed at the picture's size straight from the prediction, so a 24 MP photo
    never needs a full-size id map here.
    """
    import cv2

    if isinstance(photo, np.ndarray):
        rgb = photo
        if max(rgb.shape[:2]) > max_side:
            f = max_side / max(rgb.shape[:2])
            rgb = cv2.resize(rgb, (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f))),
                             interpolation=cv2.INTER_AREA)
    else:
        rgb = load_image(photo, max_side=max_side)
    ann = prediction.panoptic(threshold, shape=rgb.shape[:2])
    return render_prediction_overlay(rgb, ann, prediction.categories)
