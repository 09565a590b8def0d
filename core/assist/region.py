"""Region tools for areas (spalls, efflorescence, corrosion): grow from a click, or GrabCut a box.

``grow_region`` finds the region around a click in three steps:

1. **Grow**: the pixels whose smoothed colour and texture lie within ``tolerance`` of the
   click's neighbourhood (the mean over a disk of ``SEED_RADIUS``), the tolerance widened per
   feature by ``SPREAD_WEIGHT`` times that feature's spread over the disk (an adaptive tolerance:
   a spall's floor varies a lot around the click, smooth concrete little), shaped in three steps:

   * *leak guard*: an opening of radius ``NECK_RADIUS`` cuts thin necks, so the region cannot
     escape along a crack (1-5 px) that leaves the spall and is as dark and rough as its floor;
   * the part connected to the click, holes filled; its inscribed radius (distance-transform
     maximum) is the spall's scale;
   * *bridging*: a closing of radius ``BRIDGE_SCALE`` x that scale joins the compartments that
     exposed bars or a crack across the floor cut a spall into (a bar's colour is nothing like the
     floor's, so without it the region stays in the clicked compartment) and takes the bars in;
     its scale follows the spall, as bars are thicker in larger spalls. The rim the opening
     rounded off is given back within ``NECK_RADIUS`` of the result.

   Features per pixel: CIE Lab colour
   after a Gaussian blur of ``SMOOTH_SIGMA`` (distances in Lab follow perceived colour
   differences, so one tolerance serves grey concrete and rust alike) and ``roughness``, the log
   of the local gradient energy (a spall's broken floor is several times rougher than sound
   concrete or a stain), weighted by ``TEXTURE_WEIGHT``.
2. **Refine**: OpenCV's GrabCut started from that region (inside "probably foreground", a box
   around it "probably background", farther out "background"), on a picture of lightness,
   roughness and yellow-blue (``feature_image``) rather than the photo: its mixtures and graph
   cut follow a rim that one threshold misses, and with texture as a channel they hold a floor
   of dark pits and lit stones as one against smooth concrete.
3. **Trim, split, other materials**: parts of GrabCut's result narrower than about twice ``TRIM_SCALE`` of
   the spall's scale are cut off (``trim_thin``: a crack GrabCut followed out of the spall);
   touching spalls are split: a region whose inscribed-radius map has two significant peaks is
   cut along the saddle between them (``split_touching``, a watershed), and one whose parts a
   wall runs between, where the junction is as wide as the spalls, along that wall
   (``split_at_wall``); the click's part stays. Then the parts of another colour (a*, b*), e.g.
   exposed bars, are left out (``other_material``): a bar is a segment of its own.

How each step was chosen, measured with ``bench/bench_annotation.py`` (one click at the deepest
point of every generated spall, default tolerance; share of spalls at IoU >= 0.7):

* the leak guard and the bridging: set A 40 -> 50 %, set B 27 -> 40 % (10 photos each);
* the adaptive tolerance: A 39 -> 39 %, B 31 -> 47 % (20 photos each, same run);
* GrabCut on the feature picture instead of the photo, then the split: on 20 photos per set and
  20 more held out (other seeds), A 42 / 42 % -> 53 / 58 %, B 47 / 52 % -> 50 / 52 %;
* the trim and the split at a wall, over three seed ranges of 20 photos: set A 53 / 49 / 52 % ->
  55 / 62 / 62 % (mean 51 -> 60 %), set B 50 / 54 / 57 % -> 59 / 57 / 57 % (mean 53 -> 58 %);
  the click as its own part's centre in the wall split is what set B needed (a small spall
  beside a large one; with it the ratio had to rise from 2 to 2.5, or lines along a bar's edges
  cut lobes off): with ratio 2 and no click marker A 55 / 62 / 60 %, B 56 / 57 / 53 %.
* leaving out other materials (the bars, which the spall's truth leaves out as the bars'
  own segments; most of the spalls at IoU 0.6-0.7 were spalls with bars): set A 55 / 62 / 62 %
  -> 74 / 81 / 71 % (mean 60 -> 75 %), set B 59 / 57 / 57 % -> 69 / 75 / 80 % (mean 58 -> 75 %).
  Most of what is left: touching spalls with no wall the blur keeps between them, a rim in
  shadow left out or concrete taken in along it.

Tried and dropped: an automatic tolerance from the region's growth curve (the area of a spall
grows in jumps of its own as its floor fills in); keeping every GrabCut component inside the grown
region (set A 32 %); a median reference or median filters for the features (no change);
confining GrabCut's growth to a band around the grown region (worse: it must grow the rim);
merging split parts of like colour back (took back most of the split's gain).
A GrabCut result that keeps under ``MIN_KEPT`` of the
grown region is a collapse and is dropped. ``rim_only`` (the Fill) lets GrabCut place the rim only,
on the photo (a fill of the surface itself has no touching spalls to split).

The photo is worked at most ``WORK_SIDE`` px on its longer side (a 24 MP photo at a quarter): an
outline does not need more, the cost stays that of a crop, and texture that a closer camera
enlarges is smoothed over the same share of the scene. ``RegionGrower`` holds the features of
one click so that a new tolerance (the tool's wheel or drag) costs only steps 1-2, not the features.
``grabcut_box`` runs GrabCut in a dragged box.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import ndimage

from core.assist.region_features import feature_image, roughness
from core.assist.region_shape import (clicked_component, closing, dilate, erode, inside_distance, opening,
                                     split_at_wall, split_touching, trim_thin)

from core.assist.trace import check_rgb
from core.editing.geometry import Box
from core.errors import AssistError

#: Longest side (px) of the image the region is grown on.
WORK_SIDE = 1536
#: Gaussian blur (px at the working size) before colours are compared.
SMOOTH_SIGMA = 4.0
#: How many Lab units a factor e of roughness counts for.
TEXTURE_WEIGHT = 15.0
#: Radius (working px) of the disk around the click whose features' mean is the reference and
#: whose spread (standard deviation per feature) widens the tolerance ...
SEED_RADIUS = 12
#: ... by this many standard deviations.
SPREAD_WEIGHT = 1.0
#: Radius (working px) of the disk around the click that GrabCut must keep.
CLICK_RADIUS = 4
#: Leak guard: radius (working px) of the opening that cuts necks up to about twice as wide ...
NECK_RADIUS = 2
#: ... and at least this fraction of the grown region's inscribed radius.
NECK_SCALE = 0.15
#: Bridging: radius of the closing as a multiple of the grown region's inscribed radius.
BRIDGE_SCALE = 1.0
#: ... at most this share of the working image's longer side.
BRIDGE_MAX_SHARE = 0.1
#: Trim: after GrabCut, parts narrower than about twice this share of the grown region's inscribed
#: radius are cut off (a crack GrabCut followed out of the spall).
TRIM_SCALE = 0.15
#: Another material inside the region (exposed bars: rust against grey): pixels whose colour (a*,
#: b* of Lab, blurred by ``MATERIAL_SIGMA`` working px) lies farther than this from the click's ...
MATERIAL_CHROMA = 12.0
MATERIAL_SIGMA = 1.5
#: ... in pieces of at least this many working px, are left out of the region.
MATERIAL_AREA = 30
#: Default tolerance (Lab units of feature distance): measured on generated spalls with
#: ``bench/bench_annotation.py`` (see README, annotation aids).
DEFAULT_TOLERANCE = 12.0
#: Tolerances the tools offer.
MIN_TOLERANCE, MAX_TOLERANCE = 1.0, 100.0
#: Longest side (px) of a GrabCut box's working copy (GrabCut's cost grows with its pixels).
GRABCUT_SIDE = 400
#: The grown region's box is widened by this fraction of its size on each side; within it GrabCut
#: may add pixels to the region ("probably background"), beyond it not.
BOX_GROWTH = 1.0
#: Width (working px) of the band along the rim that the rim-only GrabCut decides: the reach of the
#: features' blur (``SMOOTH_SIGMA``, ``region_features.TEXTURE_SIGMA``) across an edge.
RIM_BAND = 16.0
#: GrabCut's result is kept only if it holds at least this share of the grown region's area.
MIN_KEPT = 0.1
#: GrabCut iterations.
GRABCUT_ITERATIONS = 5


def _factor(shape: tuple[int, int], side: int) -> int:
    """Integer downscale factor that brings the longer side to at most ``side``."""
    return max(1, math.ceil(max(shape) / side))


def _upscale(small: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """A working-size bool mask at full size: bilinear coverage > 1/2 (smooth, not blocky, edges)."""
    if factor == 1:
        return small[:shape[0], :shape[1]].copy()
    big = cv2.resize(small.astype(np.float32), (small.shape[1] * factor, small.shape[0] * factor),
                     interpolation=cv2.INTER_LINEAR)
    return big[:shape[0], :shape[1]] > 0.5


class RegionGrower:
    """Features of one photo at the working size, and the region around one click.

    Args:
        rgb: ``[H, W, 3]`` uint8 photo.
        seed_xy: the click ``(x, y)`` in photo pixels.
        neck_radius: the leak guard's opening radius (working px); 0 turns it off, and the
            trim after GrabCut with it.
        bridge_scale: the bridging closing's radius per inscribed radius; 0 turns it off.
    Raises:
        AssistError: bad photo, or a click outside it.
    """

    def __init__(self, rgb: np.ndarray, seed_xy, *, neck_radius: float = NECK_RADIUS,
                 bridge_scale: float = BRIDGE_SCALE):
        self.neck_radius, self.bridge_scale = float(neck_radius), float(bridge_scale)
        rgb = check_rgb(rgb)
        self.shape: tuple[int, int] = rgb.shape[:2]
        try:
            x, y = float(seed_xy[0]), float(seed_xy[1])
        except (TypeError, ValueError, IndexError) as e:
            raise AssistError(f"a click must be an (x, y) pair, got {seed_xy!r}") from e
        if not (math.isfinite(x) and math.isfinite(y) and 0 <= x < self.shape[1] and 0 <= y < self.shape[0]):
            raise AssistError(f"the click ({x:g}, {y:g}) is outside the {self.shape[1]} x {self.shape[0]} photo")
        self.seed_xy = (x, y)
        self.factor = _factor(self.shape, WORK_SIDE)
        f = self.factor
        small = rgb if f == 1 else cv2.resize(rgb, (math.ceil(self.shape[1] / f), math.ceil(self.shape[0] / f)),
                                              interpolation=cv2.INTER_AREA)
        self.seed = (min(int(y // f), small.shape[0] - 1), min(int(x // f), small.shape[1] - 1))  # (row, col)
        self.small = small
        self.distance = self._distance(small)

    def _distance(self, small: np.ndarray) -> np.ndarray:
        """``[h, w]`` float32 feature distance of every working pixel to the click's reference."""
        lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
        smooth = cv2.GaussianBlur(lab, (0, 0), SMOOTH_SIGMA)
        rough = roughness(lab[..., 0])
        feats = np.concatenate([smooth, (TEXTURE_WEIGHT * rough)[..., None]], axis=2)
        self.features = feature_image(lab, rough)
        self._ab = cv2.GaussianBlur(lab[..., 1:], (0, 0), MATERIAL_SIGMA)
        y, x = self.seed
        r = SEED_RADIUS
        y0, x0 = max(y - r, 0), max(x - r, 0)
        patch = feats[y0:y + r + 1, x0:x + r + 1]
        yy, xx = np.mgrid[y0:y0 + patch.shape[0], x0:x0 + patch.shape[1]]
        near = patch[(yy - y) ** 2 + (xx - x) ** 2 <= r * r]
        ref, spread = near.mean(0), near.std(0)
        self._ab_ref = ref[1:3]
        # Adaptive tolerance: per feature, what varies that much around the click already counts
        # as "like the click". A spall's floor mixes shadowed pits, lit stones and walls; a
        # reference from a few pixels, compared with one fixed tolerance, grows over the ones
        # like the clicked pixel only. Smooth concrete has little spread and keeps the tolerance
        # as it is.
        excess = np.maximum(np.abs(feats - ref) - SPREAD_WEIGHT * spread, 0.0)
        return np.sqrt((excess ** 2).sum(2))

    def grown(self, tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
        """``[h, w]`` bool: the pixels within ``tolerance`` around the click, thin necks cut, the
        compartments of one spall bridged, holes filled (working size; the first step of
        ``small_mask``, see the module docstring)."""
        tol = _check_tolerance(tolerance)
        within = self.distance <= max(tol, float(self.distance[self.seed]))
        opened = opening(within, self.neck_radius)
        opened[self.seed] = True
        scale = float(inside_distance(clicked_component(opened, self.seed)).max())
        self.scale = scale  # the trim after GrabCut follows it too
        neck = max(self.neck_radius, NECK_SCALE * scale) if self.neck_radius > 0 else 0.0
        if neck > self.neck_radius:
            # The blur behind the features widens a crack to a band; the neck it makes grows with the
            # spall's scale as much as with the crack.
            opened = opening(within, neck)
            opened[self.seed] = True
        # Capped: a region as large as the concrete around the defects (the Fill) would otherwise be
        # closed with a disk hundreds of px wide, leaving round arcs across its concave edges.
        radius = min(self.bridge_scale * scale, BRIDGE_MAX_SHARE * max(within.shape))
        bridged = closing(opened, max(self.neck_radius, radius))
        bridged[self.seed] = True
        region = clicked_component(bridged, self.seed)
        region |= within & dilate(region, neck)
        return ndimage.binary_fill_holes(region)

    def small_mask(self, tolerance: float = DEFAULT_TOLERANCE, refine: bool = True,
                   rim_only: bool = False) -> np.ndarray:
        """``[h, w]`` bool region at the working size (see the module docstring); ``rim_only``:
        GrabCut places the rim only (``RIM_BAND``), the interior stays (see ``grow_region``)."""
        region = self.grown(tolerance)
        if refine and rim_only:
            region = _refine_rim(self.small, region, self.seed, RIM_BAND)
        elif refine:
            refined = _refine(self.features, region, self.seed)
            if self.neck_radius > 0:
                refined = trim_thin(refined, self.seed, max(self.neck_radius, TRIM_SCALE * self.scale))
            region = split_at_wall(split_touching(refined, self.seed), self.seed, self.features[..., 0])
            region = region & ~self.other_material(region)
        return region

    def other_material(self, region: np.ndarray) -> np.ndarray:
        """``[h, w]`` bool: the parts of ``region`` of another colour than the click's (a*, b*
        farther than ``MATERIAL_CHROMA``), at least ``MATERIAL_AREA`` px each, the click never.

        The bridging takes exposed bars in so that the compartments they cut a spall into stay one
        region; but a bar is a segment of its own (exposed rebar), not part of the spall, and a
        panoptic annotation gives each pixel one segment. Its colour tells it: rust against the
        grey of a spall's floor, whose dark pits and lit stones differ in lightness, not in hue.
        """
        d = np.hypot(self._ab[..., 0] - self._ab_ref[0], self._ab[..., 1] - self._ab_ref[1])
        other = region & (d > MATERIAL_CHROMA)
        lab, n = ndimage.label(other)
        if n == 0:
            return other
        sizes = np.bincount(lab.ravel(), minlength=n + 1)
        big = sizes >= MATERIAL_AREA
        big[0] = False
        out = big[lab]
        out[self.seed] = False
        return out

    def mask(self, tolerance: float = DEFAULT_TOLERANCE, refine: bool = True, rim_only: bool = False) -> np.ndarray:
        """``[H, W]`` bool region at the photo's size."""
        return _upscale(self.small_mask(tolerance, refine, rim_only), self.factor, self.shape)


def _refine_rim(rgb: np.ndarray, region: np.ndarray, seed: tuple[int, int], band: float) -> np.ndarray:
    """GrabCut on a band of ``band`` px either side of a grown region's rim only: ``[h, w]`` bool.

    The region eroded by the band is "foreground", the band inside "probably foreground", outside
    "probably background", beyond "background". The features' blur places a threshold's edge up
    to ``band`` px off the real one (most at a sharp edge, where the gradient energy spreads); the
    graph cut puts it back on the colour edge, while the interior, however large, stays.
    """
    h, w = region.shape
    grown = dilate(region, band)
    ys, xs = np.nonzero(grown)
    m = int(math.ceil(band))
    cy0, cy1 = max(int(ys.min()) - m, 0), min(int(ys.max()) + 1 + m, h)
    cx0, cx1 = max(int(xs.min()) - m, 0), min(int(xs.max()) + 1 + m, w)
    win = (slice(cy0, cy1), slice(cx0, cx1))
    gc = np.full((cy1 - cy0, cx1 - cx0), cv2.GC_BGD, np.uint8)
    gc[grown[win]] = cv2.GC_PR_BGD
    gc[region[win]] = cv2.GC_PR_FGD
    gc[erode(region, band)[win]] = cv2.GC_FGD
    if not ((gc == cv2.GC_BGD) | (gc == cv2.GC_PR_BGD)).any():
        return region  # the region fills the photo: no rim to place
    crop = rgb[win]
    f = _factor(crop.shape[:2], GRABCUT_SIDE * 2)
    if f > 1:
        size = (math.ceil(crop.shape[1] / f), math.ceil(crop.shape[0] / f))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        gc = cv2.resize(gc, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_NEAREST)
    sy, sx = min((seed[0] - cy0) // f, gc.shape[0] - 1), min((seed[1] - cx0) // f, gc.shape[1] - 1)
    gc[sy, sx] = cv2.GC_FGD
    if not ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).sum() or not ((gc == cv2.GC_BGD) | (gc == cv2.GC_PR_BGD)).any():
        return region
    return _cut_from_labels(crop, gc, (sy, sx), f, (h, w), win, seed)


def _cut_from_labels(crop: np.ndarray, gc: np.ndarray, click: tuple[int, int], f: int, shape: tuple[int, int],
                     win: tuple[slice, slice], seed: tuple[int, int]) -> np.ndarray:
    """GrabCut started from the label map ``gc`` (``cv2.GC_*``, updated in place) on ``crop``
    (RGB, the window ``win`` of the photo shrunk by ``f``): ``shape`` bool, the cut's part
    connected to ``click`` (row, col in the crop) with its holes filled, grown back into the
    window; the photo's ``seed`` pixel always in."""
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut seeds its colour models by k-means from OpenCV's (per-thread) generator: seeded here,
    # the same click on the same photo gives the same region whatever ran before.
    cv2.setRNGSeed(0)
    # The rectangle is ignored when starting from a mask.
    cv2.grabCut(np.ascontiguousarray(crop[..., ::-1]), gc, (0, 0, 1, 1), bgd, fgd, GRABCUT_ITERATIONS,
                cv2.GC_INIT_WITH_MASK)
    fg = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    lab, _ = ndimage.label(fg)
    fg = ndimage.binary_fill_holes(lab == lab[click])
    out = np.zeros(shape, bool)
    out[win] = _upscale(fg, f, (win[0].stop - win[0].start, win[1].stop - win[1].start))
    out[seed] = True
    return out


def _refine(rgb: np.ndarray, region: np.ndarray, seed: tuple[int, int]) -> np.ndarray:
    """GrabCut started from a grown region: ``[h, w]`` bool, the part connected to ``seed``.

    Inside the region is "probably foreground", a box half the region's size again around it
    "probably background", farther out "background" (GrabCut learns the surround's colours
    there), the clicked disk "foreground". Colour mixtures and the graph cut's smooth boundary fix
    most of what a single threshold gets wrong: a spall's floor holds bright stones and dark
    shadows at once, and its rim blends into the concrete.
    """
    h, w = region.shape
    ys, xs = np.nonzero(region)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    my, mx = max(8, int(BOX_GROWTH * (y1 - y0))), max(8, int(BOX_GROWTH * (x1 - x0)))
    by0, by1, bx0, bx1 = max(y0 - my, 0), min(y1 + my, h), max(x0 - mx, 0), min(x1 + mx, w)
    m = max(my, mx)
    cy0, cy1, cx0, cx1 = max(by0 - m, 0), min(by1 + m, h), max(bx0 - m, 0), min(bx1 + m, w)
    gc = np.full((cy1 - cy0, cx1 - cx0), cv2.GC_BGD, np.uint8)
    gc[by0 - cy0:by1 - cy0, bx0 - cx0:bx1 - cx0] = cv2.GC_PR_BGD
    gc[region[cy0:cy1, cx0:cx1]] = cv2.GC_PR_FGD
    crop = rgb[cy0:cy1, cx0:cx1]
    f = _factor(crop.shape[:2], GRABCUT_SIDE)
    if f > 1:
        size = (math.ceil(crop.shape[1] / f), math.ceil(crop.shape[0] / f))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        gc = cv2.resize(gc, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_NEAREST)
    sy, sx = (seed[0] - cy0) // f, (seed[1] - cx0) // f
    cv2.circle(gc, (sx, sy), max(1, CLICK_RADIUS // f), cv2.GC_FGD, -1)
    if not ((gc == cv2.GC_BGD) | (gc == cv2.GC_PR_BGD)).any():
        return region  # the region fills the photo: nothing to learn the background from
    out = _cut_from_labels(crop, gc, (sy, sx), f, (h, w), (slice(cy0, cy1), slice(cx0, cx1)), seed)
    if out.sum() < MIN_KEPT * region.sum():
        # A collapse, not a refinement: with a region that fills most of its box (the concrete
        # around painted defects, for the Fill) GrabCut has little background to learn from and
        # can shrink to a few pixels around the click.
        return region
    return out


def _check_tolerance(tolerance) -> float:
    try:
        t = float(tolerance)
    except (TypeError, ValueError) as e:
        raise AssistError(f"a tolerance must be a number, got {tolerance!r}") from e
    if not math.isfinite(t) or t < 0:
        raise AssistError(f"a tolerance must be >= 0, got {tolerance!r}")
    return t


def grow_region(rgb: np.ndarray, seed_xy, tolerance: float = DEFAULT_TOLERANCE, refine: bool = True,
                rim_only: bool = False) -> np.ndarray:
    """The region of similar colour and texture connected to ``seed_xy``.

    Args:
        rgb: ``[H, W, 3]`` uint8 photo.
        seed_xy: the click ``(x, y)`` in photo pixels.
        tolerance: largest feature distance (Lab units, roughness included) from the click's
            neighbourhood; larger grows further. ``DEFAULT_TOLERANCE`` suits typical photos.
        refine: the GrabCut step.
        rim_only: GrabCut decides only a band of ``RIM_BAND`` px along the grown region's rim; the
            interior stays. For a fill of the surface itself (the concrete around the defects):
            GrabCut separates an object from its surround, and a region that is most of the photo
            has no surround to learn from (let free, it carves an arbitrary part out of it).
    Returns:
        ``[H, W]`` bool mask, holes filled (but for parts of another colour, such as exposed
        bars, left out with ``refine``); always holds the clicked pixel.
    Raises:
        AssistError: bad photo, click or tolerance.
    """
    return RegionGrower(rgb, seed_xy).mask(tolerance, refine, rim_only)


def grabcut_box(rgb: np.ndarray, box: Box, iterations: int = GRABCUT_ITERATIONS) -> np.ndarray:
    """Foreground inside ``box`` by OpenCV's GrabCut (colour models of the box and its surround).

    Args:
        rgb: ``[H, W, 3]`` uint8 photo.
        box: ``(y0, x0, y1, x1)`` end-exclusive, in photo pixels (clipped to the photo).
        iterations: GrabCut's iterations.
    Returns:
        ``[H, W]`` bool mask, empty outside the box, holes filled.
    Raises:
        AssistError: bad photo, or a box smaller than 4 x 4 px inside the photo.
    """
    rgb = check_rgb(rgb)
    h, w = rgb.shape[:2]
    y0, x0, y1, x1 = (int(round(v)) for v in box)
    y0, x0, y1, x1 = max(min(y0, y1), 0), max(min(x0, x1), 0), min(max(y0, y1), h), min(max(x0, x1), w)
    if y1 - y0 < 4 or x1 - x0 < 4:
        raise AssistError(f"a GrabCut box needs at least 4 x 4 px inside the photo, got {box!r}")
    # Context around the box: GrabCut learns the background's colours from it.
    m = max(8, (max(y1 - y0, x1 - x0)) // 4)
    cy0, cx0, cy1, cx1 = max(y0 - m, 0), max(x0 - m, 0), min(y1 + m, h), min(x1 + m, w)
    crop = rgb[cy0:cy1, cx0:cx1]
    f = _factor(crop.shape[:2], GRABCUT_SIDE)
    small = crop if f == 1 else cv2.resize(crop, (math.ceil(crop.shape[1] / f), math.ceil(crop.shape[0] / f)),
                                           interpolation=cv2.INTER_AREA)
    rect = ((x0 - cx0) // f, (y0 - cy0) // f, max((x1 - x0) // f, 2), max((y1 - y0) // f, 2))
    gc = np.zeros(small.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # OpenCV wants BGR; the colour models do not care, but keep its convention.
    cv2.grabCut(np.ascontiguousarray(small[..., ::-1]), gc, rect, bgd, fgd, int(iterations), cv2.GC_INIT_WITH_RECT)
    fg = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    fg = ndimage.binary_fill_holes(fg)
    big = _upscale(fg, f, crop.shape[:2])
    out = np.zeros((h, w), bool)
    out[y0:y1, x0:x1] = big[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
    return out
