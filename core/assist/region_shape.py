"""The shape of a grown region: morphology by distance transforms, the clicked component, and
the split of two touching spalls that colour and texture grow as one (``core.assist.region``).

Masks are ``[h, w]`` bool at the grower's working resolution; ``seed`` is ``(row, col)``.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage

#: Touching spalls: a peak of the region's inscribed-radius map is a part of its own when it rises
#: this share of the highest peak above the saddle towards it ...
SPLIT_DEPTH = 0.2
#: ... measured on the region closed at this share of its inscribed radius (a bar's cut is no part).
SPLIT_CLOSE = 0.3


def inside_distance(mask: np.ndarray) -> np.ndarray:
    """``[h, w]`` float32 Euclidean distance of every pixel of ``mask`` to the nearest pixel outside."""
    return cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def dilate(mask: np.ndarray, radius: float) -> np.ndarray:
    """Dilation by a disk of ``radius`` via a distance transform (linear time at any radius: the
    bridging radius can be tens of pixels, where a kernel would cost its area per pixel)."""
    return inside_distance(~mask) <= radius


def erode(mask: np.ndarray, radius: float) -> np.ndarray:
    return inside_distance(mask) > radius


def opening(mask: np.ndarray, radius: float) -> np.ndarray:
    return dilate(erode(mask, radius), radius)


def closing(mask: np.ndarray, radius: float) -> np.ndarray:
    return erode(dilate(mask, radius), radius)


def clicked_component(mask: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """``[h, w]`` bool: the 4-connected part of ``mask`` that holds ``seed``, holes filled."""
    lab, _ = ndimage.label(mask)
    return ndimage.binary_fill_holes(lab == lab[seed])


def split_touching(region: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """The part of ``region`` ``[h, w]`` bool around ``seed`` when it is two spalls that touch.

    Two spalls side by side have the same texture, so colour and roughness grow them as one; their
    union has two peaks in its inscribed-radius map with a saddle between. A watershed of that
    map from its significant peaks (``SPLIT_DEPTH``; shallower ones are lobes of one spall) splits
    it; the part with the click stays. The map is taken on the region closed at ``SPLIT_CLOSE``
    of its radius: exposed bars cut a spall into compartments joined by thin necks, which are
    not two spalls.
    """
    ys, xs = np.nonzero(region)
    if len(ys) == 0:
        return region
    # Worked in the region's box (the reconstruction behind h_maxima visits every pixel it gets).
    m = 2
    y0, x0 = max(int(ys.min()) - m, 0), max(int(xs.min()) - m, 0)
    y1, x1 = min(int(ys.max()) + m + 1, region.shape[0]), min(int(xs.max()) + m + 1, region.shape[1])
    out = region.copy()
    out[y0:y1, x0:x1] = _split_box(region[y0:y1, x0:x1], (seed[0] - y0, seed[1] - x0))
    return out


def _split_box(region: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """``_split`` on a crop holding the whole region."""
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    if not (0 <= seed[0] < region.shape[0] and 0 <= seed[1] < region.shape[1]):
        return region
    peak = float(inside_distance(region).max())
    if peak < 4:
        return region
    # The closing only joins what lies within its radius: a margin that wide around the box,
    # continuing the crop's edge (at the photo's edge the region goes on, as on the whole photo).
    r = int(math.ceil(SPLIT_CLOSE * peak)) + 1
    padded = np.pad(region, r, mode="edge")
    shape = (closing(padded, SPLIT_CLOSE * peak) | padded)[r:-r, r:-r]
    depth = inside_distance(shape)
    # One peak can come out as a few touching pixels: joined (8-connected, a pixel apart) first.
    tops = ndimage.binary_dilation(h_maxima(depth, SPLIT_DEPTH * float(depth.max())).astype(bool))
    markers, n = ndimage.label(tops, structure=np.ones((3, 3)))
    if n < 2:
        return region
    parts = watershed(-depth, markers, mask=shape)
    parts[~region] = 0
    if parts[seed] == 0:
        return region
    return ndimage.binary_fill_holes(parts == parts[seed])
