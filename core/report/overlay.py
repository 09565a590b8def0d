"""The report's picture of a photo: downscaled, defects tinted in their category colour, numbered.

Drawn at the output size, not the photo's: a 3-px crack of a 6000-px photo is half a pixel wide
at 1200 px, so each category's mask is area-averaged down (its *coverage*) and the tint's opacity
grows with coverage, boosted, so hairline cracks stay visible instead of vanishing as they would
under nearest-neighbour sampling. Surfaces (stuff such as concrete) get a faint tint only. (Full-size
pictures are drawn by ``core.overlay``.)
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.categories import CategorySet
from core.measure.measurement import Measurement
from core.overlay import ink_colour
from core.panoptic import PanopticAnnotation

#: Opacity of a fully covered defect pixel, and of a surface pixel.
DEFECT_ALPHA, SURFACE_ALPHA = 0.55, 0.12
#: A pixel covered to this fraction already gets the full defect opacity (thin cracks).
COVERAGE_FULL = 0.3


def output_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    if width <= max_width:
        return width, height
    return max_width, max(1, round(height * max_width / width))


def _shrink(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Coverage (0..1, float32) of a bool mask area-averaged to ``size`` = (width, height)."""
    import cv2

    cover = mask.astype(np.float32)
    if (mask.shape[1], mask.shape[0]) == size:
        return cover
    return cv2.resize(cover, size, interpolation=cv2.INTER_AREA)


#: Lightness factors cycled over a category's defects (by number) so neighbours differ.
_SHADES = (1.0, 0.72, 1.25)


def _shade(rgb: Sequence[int], label: int | None) -> np.ndarray:
    f = _SHADES[((label or 1) - 1) % len(_SHADES)]
    c = np.asarray(rgb, np.float32)
    return np.clip(c * f if f <= 1 else c + (255 - c) * (f - 1), 0, 255)


def render_overlay(rgb: np.ndarray | None, annotation: PanopticAnnotation, categories: CategorySet,
                   measurements: Sequence[Measurement], max_width: int = 1200) -> np.ndarray:
    """Draw the overlay of one photo.

    Args:
        rgb: ``[H, W, 3]`` uint8 photo in the annotation's frame, or None (a grey canvas).
        annotation: ``[H, W]`` id map + segments (after any threshold).
        categories: colours and thing/stuff flags.
        measurements: the photo's measurements; defects with a ``label`` get a numbered badge.
        max_width: width of the result; smaller photos keep their size.
    Returns:
        ``[h, w, 3]`` uint8 RGB with ``w <= max_width``.
    """
    import cv2

    h, w = annotation.shape
    ow, oh = output_size(w, h, max_width)
    base: np.ndarray
    if rgb is None:
        base = np.full((oh, ow, 3), 128, np.uint8)
    else:
        if rgb.shape[:2] != (h, w):
            raise ValueError(f"photo is {rgb.shape[1]}x{rgb.shape[0]} but the annotation is {w}x{h}")
        base = cv2.resize(rgb, (ow, oh), interpolation=cv2.INTER_AREA) if (ow, oh) != (w, h) else rgb.copy()
    out = base.astype(np.float32)
    scale = ow / float(w)
    defect_ids = {m.segment_id for m in measurements if m.is_defect}
    # Surfaces: one faint tint per category.
    surface_ids = [sid for sid in annotation.segments if sid not in defect_ids]
    if surface_ids:
        semantic = np.where(np.isin(annotation.id_map, list(defect_ids)), 0, annotation.semantic())
        for cat in categories:
            mask = semantic == cat.id
            if not mask.any():
                continue
            cover = _shrink(mask, (ow, oh))
            out += (cover * SURFACE_ALPHA)[..., None] * (np.asarray(cat.color, np.float32) - out)
    # Defects: each segment on its own, so touching defects of one class stay apart (alternating
    # shades, own outline); worked on its bounding box only.
    for m in measurements:
        if not m.is_defect or m.segment_id not in annotation.segments:
            continue
        colour = _shade(categories.by_id(m.category_id).color, m.label)
        x, y, bw, bh = m.bbox_px
        ox0, oy0 = int(x * scale), int(y * scale)
        ox1, oy1 = min(ow, int(np.ceil((x + bw) * scale))), min(oh, int(np.ceil((y + bh) * scale)))
        fx0, fy0 = int(ox0 / scale), int(oy0 / scale)
        fx1, fy1 = min(w, int(np.ceil(ox1 / scale))), min(h, int(np.ceil(oy1 / scale)))
        crop = annotation.id_map[fy0:fy1, fx0:fx1] == m.segment_id
        cover = _shrink(crop, (ox1 - ox0, oy1 - oy0))
        alpha = (np.clip(cover / COVERAGE_FULL, 0.0, 1.0) * DEFECT_ALPHA)[..., None]
        region = out[oy0:oy1, ox0:ox1]
        region += alpha * (colour - region)
        solid = (cover >= 0.5).astype(np.uint8)
        if solid.any():  # a thin dark outline separates the defect from the photo and its neighbours
            contours, _ = cv2.findContours(solid, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=(ox0, oy0))
            tmp = np.clip(out, 0, 255).astype(np.uint8)
            cv2.drawContours(tmp, contours, -1, tuple(float(c) * 0.55 for c in colour), 1, cv2.LINE_AA)
            out = tmp.astype(np.float32)
    img = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    _draw_badges(img, measurements, categories, ow / float(w))
    return img


def _draw_badges(img: np.ndarray, measurements: Sequence[Measurement], categories: CategorySet,
                 scale: float) -> None:
    """Numbered discs at each defect's anchor; moved aside when they would cover one another."""
    import cv2

    oh, ow = img.shape[:2]
    radius = max(9, round(ow / 110))
    font, fscale = cv2.FONT_HERSHEY_SIMPLEX, radius / 22.0
    placed: list[tuple[float, float]] = []
    for m in measurements:
        if m.label is None or m.anchor_xy is None:
            continue
        x, y = m.anchor_xy[0] * scale, m.anchor_xy[1] * scale
        # Nudge away from badges already drawn (a cluster of small defects).
        for _ in range(12):
            if all((x - px) ** 2 + (y - py) ** 2 >= (2.1 * radius) ** 2 for px, py in placed):
                break
            y += 1.2 * radius
            if y > oh - radius:
                y, x = radius, x + 2.2 * radius
        x = min(max(x, radius + 1), ow - radius - 2)
        y = min(max(y, radius + 1), oh - radius - 2)
        placed.append((x, y))
        colour = tuple(int(c) for c in categories.by_id(m.category_id).color)
        centre = (int(round(x)), int(round(y)))
        cv2.circle(img, centre, radius + 2, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(img, centre, radius, colour, -1, cv2.LINE_AA)
        text = str(m.label)
        thickness = max(1, radius // 9)
        (tw, th), _ = cv2.getTextSize(text, font, fscale, thickness)
        org = (centre[0] - tw // 2, centre[1] + th // 2)
        cv2.putText(img, text, org, font, fscale, ink_colour(colour, cutoff=150.0), thickness, cv2.LINE_AA)
