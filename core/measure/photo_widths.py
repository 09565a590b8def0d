"""Crack widths read from the photo for a photo's measurements (``measure_annotation(image=...)``).

Each crack segment is cropped with a margin (``PROFILE_PAD``) from the photo and its id map and
measured by ``profile_width`` (through ``photo_cracks.widths_with_reference``, so thin cracks
borrow the interior contrast read on the photo's wider ones); its mask-count width is kept beside.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.errors import AnnotationError
from core.measure.photo_cracks import WidthCache, widths_with_reference
from core.measure.roles import Role
from core.measure.measurement import Measurement
from core.progress import CancelFlag

#: Widths read on crops before: the window measures a photo again after every edit, and most
#: of its cracks have not changed.
_CACHE = WidthCache()


#: Margin (px) around a crack's box that its width profiles may reach into: the mask's half-width
#: plus the profile's margin and background windows (``profile_width``) fit for masks up to ~80 px.
PROFILE_PAD = 48


def with_photo_widths(measurements: list[Measurement], id_map: np.ndarray, image: np.ndarray,
                      cancel: CancelFlag | None = None) -> list[Measurement]:
    """Replace the mask-count widths of the cracks by widths read from the photo.

    Args:
        measurements: of one photo (``measure_annotation``'s); id_map: its ``[H, W]`` id map;
        image: the photo, ``[H, W]`` grey or ``[H, W, 3]`` RGB, same size.
    Raises:
        AnnotationError: the photo's size differs from the id map's.
        CancelledError: ``cancel`` was set between cracks.
    """
    from core.measure.profile_width import METHOD_MASK, to_gray

    if image.shape[:2] != id_map.shape:
        raise AnnotationError(f"the photo is {image.shape[1]}x{image.shape[0]} px but its annotation is "
                              f"{id_map.shape[1]}x{id_map.shape[0]} px")
    cracks = [k for k, m in enumerate(measurements) if m.role == Role.CRACK and m.length_px is not None]
    if not cracks:
        return measurements
    h, w = id_map.shape
    items, origins = [], []
    for k in cracks:
        x, y, bw, bh = measurements[k].bbox_px
        y0, x0 = max(y - PROFILE_PAD, 0), max(x - PROFILE_PAD, 0)
        y1, x1 = min(y + bh + PROFILE_PAD, h), min(x + bw + PROFILE_PAD, w)
        crop = image[y0:y1, x0:x1]
        items.append((to_gray(crop) if crop.ndim == 3 else crop, id_map[y0:y1, x0:x1] == measurements[k].segment_id))
        origins.append((x0, y0))
    widths = widths_with_reference(items, cancel, _CACHE)
    out = list(measurements)
    for k, cw, (x0, y0) in zip(cracks, widths, origins):
        m = out[k]
        if cw.method == METHOD_MASK:
            out[k] = replace(m, width_method=METHOD_MASK)
            continue
        low, high = cw.width_range if cw.width_range is not None else (None, None)
        out[k] = replace(m, width_px=cw.median, width_spread_px=cw.iqr, width_method=cw.method,
                         width_low_px=low, width_high_px=high,
                         mean_width_px=cw.mean, max_width_px=cw.max, max_xy=(cw.max_xy[0] + x0, cw.max_xy[1] + y0),
                         mask_width_px=m.mean_width_px)
    return out
