"""Sub-pixel crack width from the photo's grey profile across the crack.

Counting mask pixels gives a crack's width only to the nearest pixel, and it follows the mask, not
the crack: a mask one pixel wider on each side adds two pixels of width. This module reads the
width from the photo itself, along the mask's centreline:

1. **Profiles.** At every centreline pixel (``skeleton.centreline``) the local direction is the
   principal axis of the centreline pixels within ``skeleton.DIRECTION_RADIUS``; the grey profile
   perpendicular to it is sampled every ``STEP`` px with bilinear interpolation
   (``scipy.ndimage.map_coordinates``). Profiles of centreline pixels within ``ALONG_RADIUS`` px of
   each other are averaged, which divides the noise without moving the area of the dip.
2. **Background.** On each side, beyond the mask's local half-width plus ``MARGIN`` px, the median
   grey of a ``BG_LENGTH`` px window (pixels of the mask left out) is the surface level there; the
   straight line through the two side levels is the background under the crack, so a crack on a
   shading gradient is not read wider on its dark side.
3. **Width = dip area / crack contrast.** The area between the background line and the profile
   (grey levels x px) is what blur, interpolation and JPEG leave unchanged: a crack ``w`` px wide
   whose interior is ``d`` darker than the surface has area ``w * d`` however blurred. Contrast
   and area are taken relative to the surface's grey (light scales both). The width is that area
   over the contrast ``d`` of the crack's interior, which comes from, in this order:
   ``profile_fit.fit_contrast`` on this crack's aligned profiles when it pins ``d`` down (a crack
   about two blur sigmas wide or more somewhere: ``METHOD_PROFILE``); a reference the caller
   gives, read on the photo's other cracks (``METHOD_REFERENCE``); else the geometric middle of
   the contrasts the profiles allow (``METHOD_RANGE``): a crack thinner than the blur allows
   anything from its dip's own depth to black, and the middle of that range is at most its
   square root off (the dip's own depth, the *rectangle transform*, reads a 0.5 px crack under a
   0.7 px blur as ~2 px wide). A profile darker than that contrast uses its own depth.
4. **Fall-back.** A profile is unusable when it leaves the photo, touches black or white (clipped
   grey values hide part of the dip), has no surface on either side, lies along an edge (its two
   sides differ by more than its depth, ``MAX_STEP``), or its dip is not clearly above the noise
   (``MIN_SNR``) and ``MIN_CONTRAST`` grey levels. When at least ``MIN_READABLE`` of a crack's
   profiles are usable, the others are left out of its figures; otherwise the few usable ones are
   more likely texture than crack and the whole crack takes the mask's own local width
   (``skeleton.local_widths``); each sample says which it is.

Figures (``CrackWidth``): per-sample widths along the centreline, their mean, median, maximum (of
the widths smoothed over ``MAX_RADIUS`` px, so one noisy profile is not the maximum) and where it
is, and the spread (IQR and standard deviation) as the uncertainty. Samples in the end caps and
near junctions (where a profile crosses the crack's own tip or another branch) are left out of the
figures unless there is nothing else.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from core.measure.profile_fit import aligned_groups, fit_contrast
from core.measure.skeleton import DIRECTION_RADIUS, centreline

if TYPE_CHECKING:
    from scipy import sparse

#: Profile sampling step along the normal (px).
STEP = 0.25
#: Gap (px) between the mask's edge and the background windows: masks are often 1-2 px off.
MARGIN = 2.5
#: Length (px) of each side's background window.
BG_LENGTH = 4.0
#: Profiles of centreline pixels closer than this (px) are averaged.
ALONG_RADIUS = 3.0
#: The maximum width is taken over widths averaged within this radius (px) along the centreline.
MAX_RADIUS = 5.0
#: A profile is usable when its depth exceeds MIN_SNR times the noise of its mean...
MIN_SNR = 4.0
#: ...and this many 8-bit grey levels (scaled to the data's range).
MIN_CONTRAST = 6.0
#: A profile whose two sides differ by more than this many times its dip's depth lies along an
#: edge, not on a surface, and is not used.
MAX_STEP = 1.0
#: Share of a crack's profiles that must be readable for its width to come from the photo.
MIN_READABLE = 0.5
#: Values within this many 8-bit grey levels (scaled to the data's range) of its ends are clipped.
CLIP_MARGIN = 1.0

METHOD_PROFILE = "profile"        # area / contrast read on this crack's wide parts
METHOD_REFERENCE = "profile-ref"  # area / contrast given by the caller (other cracks of the photo)
METHOD_RANGE = "profile-range"    # area / the middle of the contrasts the profiles allow
METHOD_MASK = "mask"              # the mask's local width (profile unusable)
METHOD_MIXED = "mixed"            # some samples from profiles, some from the mask


@dataclass(frozen=True)
class CrackWidth:
    """Width of one crack along its centreline, in px of the photo.

    Attributes:
        points_xy: ``[N, 2]`` float64 ``(x, y)`` centreline sample positions in the photo.
        widths: ``[N]`` float64 width at each sample (px).
        methods: ``[N]`` str method of each sample (``METHOD_*``).
        counted: ``[N]`` bool samples the summary figures use (not in an end cap or at a junction).
        mean, median: of the counted widths; max: largest width smoothed along ``MAX_RADIUS`` px,
            at ``max_xy``; iqr, std: spread of the counted widths (the uncertainty).
        method: the method of the counted samples, ``METHOD_MIXED`` when more than one.
        profile_fraction: share of counted samples read from the photo (0..1).
        contrast: the crack interior's contrast as a fraction of the surface's grey (0..1) used
            by ``METHOD_PROFILE`` / ``METHOD_REFERENCE`` samples, None otherwise.
        mask_mean: the mask-count mean width (area / centreline length), for comparison.
        width_range: for ``METHOD_RANGE``, the median width at either end of the contrasts the
            profiles allow (px): how far off the width may be; None otherwise.
    """

    points_xy: np.ndarray
    widths: np.ndarray
    methods: np.ndarray
    counted: np.ndarray
    mean: float
    median: float
    max: float
    max_xy: tuple[float, float]
    iqr: float
    std: float
    method: str
    profile_fraction: float
    contrast: float | None
    mask_mean: float
    contrast_identified: bool = False
    width_range: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        """Summary figures as plain JSON types (no per-sample arrays)."""
        return {"mean_px": self.mean, "median_px": self.median, "max_px": self.max,
                "max_xy": list(self.max_xy), "iqr_px": self.iqr, "std_px": self.std,
                "method": self.method, "profile_fraction": self.profile_fraction,
                "contrast": self.contrast, "contrast_identified": self.contrast_identified,
                "width_range_px": None if self.width_range is None else list(self.width_range),
                "mask_mean_px": self.mask_mean}


def to_gray(image: np.ndarray) -> np.ndarray:
    """``[H, W]`` float64 grey of an ``[H, W]`` or ``[H, W, 3|4]`` image (ITU-R BT.601 luma)."""
    a = np.asarray(image)
    if a.ndim == 2:
        return a.astype(np.float64)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        rgb = a[..., :3].astype(np.float64)
        return rgb @ np.array([0.299, 0.587, 0.114])
    raise ValueError(f"expected an [H, W] or [H, W, 3] image, got shape {a.shape}")


def _directions(points: np.ndarray) -> np.ndarray:
    """``[N, 2]`` unit ``(dy, dx)`` local directions: principal axis of nearby centreline pixels."""
    from scipy.spatial import cKDTree

    n = len(points)
    p = points.astype(np.float64)
    cov = np.zeros((n, 3))  # syy, sxx, sxy
    if n > 1:
        pairs = cKDTree(p).query_pairs(DIRECTION_RADIUS, output_type="ndarray")
        d = p[pairs[:, 1]] - p[pairs[:, 0]]
        terms = np.stack([d[:, 0] ** 2, d[:, 1] ** 2, d[:, 0] * d[:, 1]], 1)
        for col in (0, 1):
            np.add.at(cov, pairs[:, col], terms)
    t = 0.5 * np.arctan2(2 * cov[:, 2], cov[:, 1] - cov[:, 0])  # angle from +x, y down
    return np.stack([np.sin(t), np.cos(t)], 1)


def _along_matrix(points: np.ndarray, radius: float) -> sparse.csr_matrix:
    """Row-normalised ``[N, N]`` sparse averaging matrix over centreline pixels within ``radius``."""
    from scipy import sparse
    from scipy.spatial import cKDTree

    n = len(points)
    tree = cKDTree(points.astype(np.float64))
    m = tree.sparse_distance_matrix(tree, radius, output_type="coo_matrix")
    rows = np.concatenate([m.row, np.arange(n)])
    cols = np.concatenate([m.col, np.arange(n)])
    keep = rows != cols
    keep[-n:] = True  # the diagonal once (the distance matrix stores no zero distances)
    a = sparse.csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(n, n))
    counts = np.asarray(a.sum(1)).ravel()
    return sparse.diags(1.0 / counts) @ a


def _junction_near(points: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """``[N]`` bool: centreline pixels within ``reach`` of a junction pixel (3+ neighbours)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(points.astype(np.float64))
    counts = np.array([len(x) - 1 for x in tree.query_ball_point(points.astype(np.float64), 1.5)])
    junctions = points[counts >= 3]
    if len(junctions) == 0:
        return np.zeros(len(points), bool)
    d, _ = cKDTree(junctions.astype(np.float64)).query(points.astype(np.float64))
    return d <= reach


def _value_range(gray: np.ndarray) -> tuple[float, float]:
    """The grey range clipped values sit at: the dtype's range for integers (0..255 for 8-bit
    data); for floats 0..1 when no value exceeds 1, else 0..255 (or the maximum above that)."""
    if np.issubdtype(gray.dtype, np.integer):
        info = np.iinfo(gray.dtype)
        return float(info.min), float(info.max)
    hi = float(np.nanmax(gray)) if gray.size else 255.0
    return 0.0, 1.0 if hi <= 1.0 else max(255.0, hi)


def measure_crack_width(image: np.ndarray, mask: np.ndarray, *,
                        reference_contrast: float | None = None) -> CrackWidth:
    """Width of the crack under ``mask`` read from ``image`` (see the module docstring).

    Args:
        image: ``[H, W]`` grey or ``[H, W, 3]`` RGB photo (any numeric dtype; 8-bit usual).
        mask: ``[H, W]`` bool, the crack (one connected crack, or a few treated as one).
        reference_contrast: the crack interior's contrast (fraction of the surface's grey, 0..1,
            as ``CrackWidth.contrast``) to use when this crack
            shows no wide part of its own, e.g. ``photo_contrast`` of the photo's other cracks.
    Returns:
        The ``CrackWidth``.
    Raises:
        ValueError: empty mask, or image and mask of different sizes.
    """
    gray_in = np.asarray(image)
    mask = np.asarray(mask, bool)
    if gray_in.shape[:2] != mask.shape:
        raise ValueError(f"image is {gray_in.shape[1]} x {gray_in.shape[0]} px, "
                         f"mask is {mask.shape[1]} x {mask.shape[0]} px")
    if not mask.any():
        raise ValueError("cannot measure an empty mask")
    lo_val, hi_val = _value_range(gray_in)
    level = (hi_val - lo_val) / 255.0  # one 8-bit grey level in the data's range
    ys, xs = np.nonzero(mask)
    y0, x0 = int(ys.min()), int(xs.min())
    c = centreline(mask[y0:ys.max() + 1, x0:xs.max() + 1])
    n = len(c.points)
    direction = _directions(c.points)
    normal = np.stack([-direction[:, 1], direction[:, 0]], 1)  # (dy, dx) across the crack
    # Mask width at each sample: a crack under a mask several px too wide still sits within it.
    half = np.maximum(c.width / 2.0, 0.5)
    core = half + MARGIN
    reach = float(core.max() + BG_LENGTH)
    # Work on a crop that holds every profile (a large photo is never converted whole); a profile
    # leaving the crop then leaves the photo.
    pad = int(np.ceil(reach)) + 2
    cy0, cx0 = max(y0 - pad, 0), max(x0 - pad, 0)
    cy1, cx1 = min(int(ys.max()) + pad + 1, mask.shape[0]), min(int(xs.max()) + pad + 1, mask.shape[1])
    gray = to_gray(gray_in[cy0:cy1, cx0:cx1])
    mask_c = mask[cy0:cy1, cx0:cx1]
    points = c.points + np.array([y0 - cy0, x0 - cx0])
    s = np.arange(-np.ceil(reach / STEP), np.ceil(reach / STEP) + 1) * STEP  # [M] offsets
    py = points[:, 0:1] + s[None, :] * normal[:, 0:1]
    px = points[:, 1:2] + s[None, :] * normal[:, 1:2]
    h, w = mask_c.shape
    values = ndimage.map_coordinates(gray, [py.ravel(), px.ravel()], order=1, mode="nearest").reshape(py.shape)
    inside = (py >= 0) & (py <= h - 1) & (px >= 0) & (px <= w - 1)
    on_mask = ndimage.map_coordinates(mask_c.astype(np.uint8), [py.ravel(), px.ravel()], order=0,
                                      mode="constant").reshape(py.shape).astype(bool)
    in_core = np.abs(s)[None, :] <= core[:, None]
    in_bg = ~in_core & (np.abs(s)[None, :] <= (core + BG_LENGTH)[:, None]) & ~on_mask & inside

    # Average profiles along the crack, then read background, area and depth per sample.
    avg = _along_matrix(points, ALONG_RADIUS)
    prof = avg @ values
    bg_left, bg_right = in_bg & (s[None, :] < 0), in_bg & (s[None, :] > 0)
    level_l, pos_l = _side_level(prof, bg_left, s)
    level_r, pos_r = _side_level(prof, bg_right, s)
    have_l, have_r = ~np.isnan(level_l), ~np.isnan(level_r)
    slope = np.where(have_l & have_r, (level_r - level_l) / np.where(have_l & have_r, pos_r - pos_l, 1.0), 0.0)
    base = np.where(have_l, level_l - slope * np.nan_to_num(pos_l), level_r)
    background = base[:, None] + slope[:, None] * s[None, :]
    dip = (background - prof) * in_core
    area = dip.sum(1) * STEP
    depth = _smoothed_max(dip)
    # Noise of a single photo sample from the background windows' spread (MAD), then of the mean.
    resid = np.where(in_bg, values - (base[:, None] + slope[:, None] * s[None, :]), np.nan)
    with _quiet():
        noise = 1.4826 * np.nanmedian(np.abs(resid - np.nanmedian(resid, 1, keepdims=True)), 1)
    noise = np.nan_to_num(noise, nan=0.0)
    n_avg = np.asarray((avg > 0).sum(1)).ravel()
    core_vals = np.where(in_core, values, np.nan)
    with _quiet():
        margin = CLIP_MARGIN * level
        clipped = ((np.nanmin(core_vals, 1) <= lo_val + margin)
                   | (np.nanmax(np.where(in_bg, values, np.nan), 1) >= hi_val - margin))
    left_photo = ~(inside | ~in_core).all(1)
    # A crack along an edge (one side much brighter than the other) is not a dip on a surface:
    # the line through the two sides does not give the surface under it.
    step = np.where(have_l & have_r, np.abs(np.nan_to_num(level_r) - np.nan_to_num(level_l)), 0.0)
    usable = ((have_l | have_r) & ~clipped & ~left_photo & (step <= MAX_STEP * depth)
              & (depth >= np.maximum(MIN_CONTRAST * level, MIN_SNR * noise / np.sqrt(np.maximum(n_avg, 1))))
              & (area > 0))

    usable &= base > 0
    # Contrast relative to the surface's brightness: light falling on the surface scales the
    # crack's interior and the surface alike, so the ratio holds along a shaded crack.
    safe_base = np.where(usable, base, 1.0)
    rel_area = area / safe_base
    rel_depth = depth / safe_base
    contrast: float | None = None
    allowed: tuple[float, float] | None = None
    method_prof = METHOD_MASK
    if usable.any():
        groups, group_area = aligned_groups(dip[usable] / safe_base[usable, None], s, rel_area[usable],
                                            points[usable], STEP)
        fit = fit_contrast(groups, group_area, s, min_contrast=float(groups.max()))
        if fit.identified:
            contrast, method_prof = fit.contrast, METHOD_PROFILE
        elif reference_contrast is not None and reference_contrast > 0:
            contrast, method_prof = float(reference_contrast), METHOD_REFERENCE
        else:
            contrast, method_prof = fit.contrast, METHOD_RANGE
            allowed = fit.allowed
    # The interior is at least as dark as the darkest point seen there (less what noise adds to
    # a maximum: about two standard errors of the averaged profile).
    se = 2.0 * noise / np.sqrt(np.maximum(n_avg, 1)) / safe_base
    d = np.maximum(rel_depth - se, contrast or 0.0)
    widths = np.where(usable, rel_area / np.maximum(d, 1e-9), c.width)
    methods = np.where(usable, method_prof, METHOD_MASK).astype(object)

    counted = ~c.at_end & ~_junction_near(points, core + 1.0)
    if not counted.any():
        counted = np.ones(n, bool)
    # Where most of the crack reads from the photo, its few unreadable profiles (noise, a stain)
    # are left out rather than given the mask's width, which may be pixels too wide. Where most
    # of it does not, the few readable ones are more likely texture than crack: the mask decides.
    from_photo = methods != METHOD_MASK
    if (counted & from_photo).sum() >= MIN_READABLE * counted.sum() and (counted & from_photo).any():
        counted &= from_photo
    else:
        widths, methods = c.width.astype(np.float64), np.full(n, METHOD_MASK, dtype=object)
        method_prof, contrast = METHOD_MASK, None
    wc = widths[counted]
    smooth = (_along_matrix(points[counted], MAX_RADIUS) @ wc) if counted.sum() > 1 else wc
    k = int(np.argmax(smooth))
    used = set(methods[counted])
    method = used.pop() if len(used) == 1 else METHOD_MIXED
    q75, q25 = np.percentile(wc, [75, 25])
    pts_xy = (points + np.array([cy0, cx0]))[:, ::-1].astype(np.float64)
    mxy = pts_xy[counted][k]
    return CrackWidth(points_xy=pts_xy, widths=widths, methods=methods, counted=counted,
                      mean=float(wc.mean()), median=float(np.median(wc)), max=float(max(smooth[k], np.median(wc))),
                      max_xy=(float(mxy[0]), float(mxy[1])), iqr=float(q75 - q25), std=float(wc.std()),
                      method=method, profile_fraction=float(np.mean(methods[counted] != METHOD_MASK)),
                      contrast=contrast, contrast_identified=method_prof == METHOD_PROFILE,
                      width_range=None if allowed is None or method_prof != METHOD_RANGE else
                      (float(np.median(wc) * contrast / allowed[1]), float(np.median(wc) * contrast / allowed[0])),
                      mask_mean=float(mask.sum() / max(c.length, 1.0)))


def _side_level(prof: np.ndarray, window: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median grey and median offset of each row's ``window`` samples (NaN where it has none)."""
    vals = np.where(window, prof, np.nan)
    pos = np.where(window, s[None, :], np.nan)
    with _quiet():
        return np.nanmedian(vals, 1), np.nanmedian(pos, 1)


@contextmanager
def _quiet() -> Iterator[None]:
    """Rows without samples give NaN on purpose (no surface there): no warning about it."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _smoothed_max(dip: np.ndarray) -> np.ndarray:
    """Depth of each dip: its maximum after a 3-tap smoothing (one noisy sample is not the depth)."""
    k = np.array([0.25, 0.5, 0.25])
    sm = ndimage.convolve1d(dip, k, axis=1, mode="nearest")
    return sm.max(1)


def photo_contrast(widths: list[CrackWidth]) -> float | None:
    """The crack-interior contrast read on the photo's wide cracks (median), or None when none."""
    vals = [w.contrast for w in widths if w.contrast is not None and w.contrast_identified]
    return float(np.median(vals)) if vals else None


def crack_width_px(gray: np.ndarray, mask: np.ndarray) -> float | None:
    """Median sub-pixel width (px) of the crack under ``mask`` in ``gray``; None when no profile
    along it is usable (or the mask is empty), so the caller can keep its own estimate.

    Args:
        gray: ``[H, W]`` grey (or ``[H, W, 3]`` RGB) photo; mask: ``[H, W]`` bool.
    """
    mask = np.asarray(mask, bool)
    if not mask.any() or np.asarray(gray).shape[:2] != mask.shape:
        return None
    result = measure_crack_width(gray, mask)
    if result.profile_fraction == 0.0:
        return None
    wc = result.widths[result.counted & (result.methods != METHOD_MASK)]
    return float(np.median(wc)) if wc.size else None
