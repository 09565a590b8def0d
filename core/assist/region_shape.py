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
#: Touching spalls whose junction is as wide as they are (no saddle in their shape): split where a
#: wall runs between them, i.e. where the watershed line between the click's part and another
#: part's centre has a median lightness gradient at least ``WALL_RATIO`` times the region's ...
WALL_RATIO = 2.5
#: ... the gradient taken after a blur of this sigma (working px): the broken floor's grain fades,
#: a wall's shading or its cast shadow (a ramp several px wide) stays ...
WALL_SIGMA = 4.0
#: ... the line measured farther than this many ``WALL_SIGMA`` inside the region (near its rim
#: the region's own wall runs along any line) ...
WALL_RIM = 3.0
#: ... between the click and the centres of other parts: inscribed-radius peaks rising this share
#: of the highest peak above their surround, and at least ``WALL_DEEP`` of its height (a lobe's
#: tip is no centre).
WALL_PEAK = 0.1
WALL_DEEP = 0.3


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


def trim_thin(region: np.ndarray, seed: tuple[int, int], radius: float) -> np.ndarray:
    """``region`` ``[h, w]`` bool without its parts narrower than about ``2 * radius``: the clicked
    component of its opening, with the rim the opening rounded off given back within ``radius``.
    A crack that leaves a spall is as dark and rough as the floor, and GrabCut follows it out; a
    spall's own parts are several times wider than its cracks."""
    opened = opening(region, radius)
    opened[seed] = True
    core = clicked_component(opened, seed)
    return ndimage.binary_fill_holes(core | (region & dilate(core, radius)))


def split_touching(region: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """The part of ``region`` ``[h, w]`` bool around ``seed`` when it is two spalls that touch.

    Two spalls side by side have the same texture, so colour and roughness grow them as one; their
    union has two peaks in its inscribed-radius map with a saddle between. A watershed of that
    map from its significant peaks (``SPLIT_DEPTH``; shallower ones are lobes of one spall) splits
    it; the part with the click stays. The map is taken on the region closed at ``SPLIT_CLOSE``
    of its radius: exposed bars cut a spall into compartments joined by thin necks, which are
    not two spalls.
    """
    box = _box_of(region)
    if box is None:
        return region
    # Worked in the region's box (the reconstruction behind h_maxima visits every pixel it gets).
    y0, y1, x0, x1 = box
    out = region.copy()
    out[y0:y1, x0:x1] = _split_box(region[y0:y1, x0:x1], (seed[0] - y0, seed[1] - x0))
    return out


def _box_of(region: np.ndarray, margin: int = 2) -> tuple[int, int, int, int] | None:
    """``(y0, y1, x0, x1)`` of ``region``'s pixels with ``margin`` px around, inside the map;
    None for an empty region."""
    ys, xs = np.nonzero(region)
    if len(ys) == 0:
        return None
    return (max(int(ys.min()) - margin, 0), min(int(ys.max()) + margin + 1, region.shape[0]),
            max(int(xs.min()) - margin, 0), min(int(xs.max()) + margin + 1, region.shape[1]))


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


def split_at_wall(region: np.ndarray, seed: tuple[int, int], light: np.ndarray) -> np.ndarray:
    """The part of ``region`` ``[h, w]`` bool around ``seed`` when a wall runs across it.

    A spall is a recess: along its rim a wall, lit on one side and in shadow on the other, and a
    cast shadow. Two touching spalls alike in colour and texture, joined along a junction as
    wide as they are, have no neck for ``split_touching`` to find, but the later one's wall runs
    across the union. The region is cut by a watershed of the lightness gradient ``light``
    (``[h, w]``, any scale) from the centres of its parts (peaks of the inscribed-radius map);
    the click is its own part's centre. The cut is kept only when the line around the click's
    part, well inside the region (``WALL_RIM``), follows a gradient ``WALL_RATIO`` times
    stronger than the region's typical one. A line through a
    spall's floor finds no such wall (the floor's grain is fine and fades in the blur).
    """
    box = _box_of(region)
    if box is None:
        return region
    y0, y1, x0, x1 = box
    out = region.copy()
    out[y0:y1, x0:x1] = _wall_box(region[y0:y1, x0:x1], (seed[0] - y0, seed[1] - x0),
                                  light[y0:y1, x0:x1].astype(np.float32))
    return out


def _wall_box(region: np.ndarray, seed: tuple[int, int], light: np.ndarray) -> np.ndarray:
    """``split_at_wall`` on a crop holding the whole region."""
    from skimage.morphology import h_maxima
    from skimage.segmentation import find_boundaries, watershed

    if not (0 <= seed[0] < region.shape[0] and 0 <= seed[1] < region.shape[1]):
        return region
    depth = inside_distance(region)
    peak = float(depth.max())
    if peak < 4:
        return region
    tops = ndimage.binary_dilation(h_maxima(depth, max(1.0, WALL_PEAK * peak)).astype(bool))
    tops &= depth >= WALL_DEEP * peak
    markers, n = ndimage.label(tops, structure=np.ones((3, 3)))
    # The click is the centre of its own part (a small spall beside a large one has no peak deep
    # enough to count), marked by a disk of half its depth; a peak whose inscribed disk holds the
    # click is that same part.
    keep = np.zeros(n + 1, bool)
    for k, (py, px) in enumerate(ndimage.maximum_position(depth, markers, range(1, n + 1)), start=1):
        keep[k] = math.hypot(py - seed[0], px - seed[1]) >= depth[py, px]
    markers = np.where(keep[markers], markers + 1, 0)
    if not keep.any():
        return region
    yy, xx = np.ogrid[:region.shape[0], :region.shape[1]]
    rs = max(2.0, 0.5 * float(depth[seed]))
    markers[((yy - seed[0]) ** 2 + (xx - seed[1]) ** 2 <= rs * rs) & region] = 1
    g = cv2.GaussianBlur(light, (0, 0), WALL_SIGMA)
    edge = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))
    parts = watershed(edge, markers, mask=region)
    if parts[seed] == 0:
        return region
    mine = parts == parts[seed]
    # The cut only: the part's outline inside the region, away from the region's own rim (whose
    # wall is there whether or not the cut is right).
    cut = find_boundaries(mine, mode="inner") & (depth > WALL_RIM * WALL_SIGMA)
    if cut.sum() < 5:
        return region
    typical = float(np.median(edge[region & ~ndimage.binary_dilation(cut, iterations=3)]))
    if float(np.median(edge[cut])) < WALL_RATIO * (typical + 1e-6):
        return region
    return ndimage.binary_fill_holes(mine)
