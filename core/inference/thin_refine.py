"""Full-resolution masks of thin segments (cracks): the model's coarse mask, redrawn along the photo.

The model predicts masks on the stride-4 grid of a ~384-px input, so a 2-px crack of a 4000-px
photo comes out as a ribbon one or two grid cells (~40 px) wide. Inside a band around each thin
segment's coarse mask the photo itself says where the crack is: a crack is a thin line darker
than the surface on both sides. So, per thin segment that is a dark line (``thin_segment_ids``: thin
categories, ``core.measure.roles.is_thin``, but exposed bars):

1. darkness response: black top-hat of the grey photo (morphological closing minus the photo)
   with a square of ``max_width`` px, i.e. how much darker a pixel is than the brightest
   surface within about that distance: large on lines narrower than the square, ~0 on flat
   surface and on wide dark areas (shadows, stains);
2. adaptive threshold, by hysteresis: seeds are band pixels far above the band's own noise level
   (median + ``k_high`` robust sigmas, at least ``min_contrast`` grey levels), grown through
   pixels above a lower level; only grown regions that touch the coarse mask are kept (the crack
   the model saw, not every dark line nearby);
3. the coarse pixels the crack does not use go to the nearest segment that is not thin (the
   surface around the crack); kept pixels outside the coarse mask are taken only from stuff
   segments or void, never from another instance;
4. pieces of one redrawn crack on one connected part of the model's mask are joined again by a
   straight line (``core.inference.thin_connect``), so a crack stays one 8-connected network.

Where the band shows no such line (blur, low contrast, a crack the model imagined) the coarse
mask stays: the model's word stands where the photo has no evidence, rather than erasing a crack.
Only ribbon pixels within a band and one grid cell of a found crack are given back to the surface.

Work is windowed: only blocks of the photo within reach of a thin segment are filtered, so a long
diagonal crack costs its band, not its bounding box. The cracks of a 12 MP photo refine in well
under a second (``bench/bench_thin_refine.py``).

    refined = refine_thin(annotation, rgb, categories)          # a new PanopticAnnotation
    cache = ThinRefiner(prediction, rgb)                       # per threshold level, for sliders
    cache.panoptic(0.5)
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from collections.abc import Iterable

import numpy as np

from core.categories import CategorySet
from core.inference.thin_connect import reconnect_pieces
from core.measure.roles import Role, is_thin, role_for
from core.panoptic import PanopticAnnotation

#: Side (px) of the processing blocks; a block is filtered with a margin of the band + kernel.
BLOCK = 384


@dataclass(frozen=True)
class RefineParams:
    """Knobs of the refinement (defaults tuned on generated and real crack photos).

    max_width: widest crack (px, full size) the darkness response measures fully.
    band: how far (px) from the coarse mask the crack may run; None: one model grid cell
        (``cell``), at least 4 px.
    min_contrast: grey levels a seed pixel must be darker than its surroundings.
    k_high, k_low: seed and growth levels in robust standard deviations of the band's response
        above its median.
    min_pixels: kept regions smaller than this are dropped (dust, pores).
    """

    max_width: int = 15
    band: float | None = None
    min_contrast: float = 10.0
    k_high: float = 4.0
    k_low: float = 2.0
    min_pixels: int = 8


@dataclass(frozen=True)
class RefineReport:
    """What ``refine_thin`` did: thin segments refined / kept coarse (no line found), seconds."""

    refined: tuple[int, ...]
    kept_coarse: tuple[int, ...]
    seconds: float


def grey(image: np.ndarray) -> np.ndarray:
    """``[H, W]`` uint8 grey of an ``[H, W, 3]`` RGB or ``[H, W]`` image."""
    import cv2

    if image.ndim == 2:
        return np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return cv2.cvtColor(np.ascontiguousarray(image[..., :3], dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    raise ValueError(f"expected an [H, W] or [H, W, 3] image, got shape {image.shape}")


def thin_segment_ids(ann: PanopticAnnotation, categories: CategorySet) -> list[int]:
    """Ids of ``ann``'s segments the refinement redraws: those of thin categories that are dark
    lines (unknown categories are not). Exposed bars are thin but no dark line (steel, brown or
    bright, with a shadow beside it): followed by darkness they were carved down to their shadow
    (close-ups, shipped model: rebar PQ 65.5 unrefined, 62.3 refined), so they keep the model's mask."""
    thin_cats = {c.id for c in categories if is_thin(c) and role_for(c) is not Role.REBAR}
    return sorted(s for s, seg in ann.segments.items() if seg.category_id in thin_cats)


def refine_thin(ann: PanopticAnnotation, image: np.ndarray, categories: CategorySet, *,
                cell: float | None = None, params: RefineParams = RefineParams(),
                report: list | None = None) -> PanopticAnnotation:
    """``ann`` with its thin segments redrawn at the photo's resolution (see the module docstring).

    Args:
        ann: full-size panoptic annotation ``[H, W]`` (e.g. ``PanopticPrediction.panoptic``).
        image: the photo, ``[H, W, 3]`` RGB or ``[H, W]`` grey uint8, same size and frame.
        categories: tells which segments are thin.
        cell: the model's mask grid cell in photo pixels (photo size / input size x 4); sets the
            default band. None: 4 px.
        report: when a list, a ``RefineReport`` is appended.
    Returns:
        A new annotation (``ann`` is not modified); the same object when nothing is thin.
    Raises:
        ValueError: the image and the annotation differ in size.
    """
    import time

    t0 = time.perf_counter()
    if image.shape[:2] != ann.shape:
        raise ValueError(f"the photo is {image.shape[1]}x{image.shape[0]} but the annotation is "
                         f"{ann.shape[1]}x{ann.shape[0]}")
    thin_ids = thin_segment_ids(ann, categories)
    if not thin_ids:
        if report is not None:
            report.append(RefineReport((), (), time.perf_counter() - t0))
        return ann
    band = params.band if params.band is not None else max(4.0, float(cell or 4.0))
    ids = ann.id_map.copy()
    stuff_cats = {c.id for c in categories if not c.isthing}
    takeable = np.array(sorted(s for s, seg in ann.segments.items() if seg.category_id in stuff_cats), np.int64)
    step = max(1, int((cell or 1.0) // 2))
    # Ribbon pixels this close to a found crack are the ribbon's, given back to the surface: a
    # band, and one grid cell for the staircase corners of upsampled cells. Where the thin head
    # read the photo at its own size (cell 1) that is 5 px, not two bands (8): on real concrete the
    # line found beside a faint crack is often a pore or grain, and two bands gave the crack's
    # faint stretch away with it (UAV75, crack centreline F1 51.2 -> 54.6; generated photos level).
    release = band + float(cell or band)
    refined, coarse_kept = _refine(ann.id_map, ids, grey(image), np.array(thin_ids, np.int64), takeable, band,
                                   release, params, step)
    if refined:
        # Where the photo's line faded, the redrawn crack may have fallen into pieces: joined
        # again where the model's mask connected them, so a crack stays one network.
        paintable = _lut(takeable.tolist(), int(ids.max()) + 1)
        paintable[0] = True  # void
        reconnect_pieces(ids, ann.id_map, refined, paintable)
    out = PanopticAnnotation(ids, dict(ann.segments))
    if refined:
        out = _without_lost(out)
    if report is not None:
        report.append(RefineReport(tuple(refined), tuple(coarse_kept), time.perf_counter() - t0))
    return out


@dataclass
class _Block:
    """One block being refined: its window (the block plus a margin) and what was computed there."""

    ys: slice          # the block, in photo rows / columns
    xs: slice
    wy: slice          # its window
    wx: slice
    coarse: np.ndarray  # [h, w] bool, window: the model's thin pixels
    band: np.ndarray    # [h, w] bool, window: within ``band`` px of them
    resp: np.ndarray    # [h, w] uint8, window: darkness response of the lightly blurred photo
    sharp: np.ndarray   # [h, w] uint8, window: darkness response of the photo itself
    line: np.ndarray | None = None   # [h, w] int32, window: owner segment of the crack's pixels (0: none)

    @property
    def inner(self) -> tuple[slice, slice]:
        """The block inside its window."""
        return (slice(self.ys.start - self.wy.start, self.ys.stop - self.wy.start),
                slice(self.xs.start - self.wx.start, self.xs.stop - self.wx.start))


def _wanted_blocks(ids: np.ndarray, thin_lut: np.ndarray, reach: int, step: int) -> list[tuple[slice, slice]]:
    """``BLOCK``-sized blocks within ``reach`` px of a thin pixel, found on every ``step``-th
    pixel (the model's coarse masks are at least a grid cell wide, so none is missed)."""
    import cv2

    h, w = ids.shape
    near = thin_lut[ids[::step, ::step]].astype(np.uint8)
    if not near.any():
        return []
    r = max(1, math.ceil(reach / step))
    near = cv2.dilate(near, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
    per = BLOCK // step if BLOCK % step == 0 else BLOCK / step
    out = []
    for by in range(math.ceil(h / BLOCK)):
        for bx in range(math.ceil(w / BLOCK)):
            cell = near[int(by * per):int(math.ceil((by + 1) * per)), int(bx * per):int(math.ceil((bx + 1) * per))]
            if cell.any():
                out.append((slice(by * BLOCK, min(h, (by + 1) * BLOCK)), slice(bx * BLOCK, min(w, (bx + 1) * BLOCK))))
    return out


def _lut(ids_of: Iterable[int], size: int) -> np.ndarray:
    lut = np.zeros(size, bool)
    lut[[i for i in ids_of if 0 < i < size]] = True
    return lut


def _refine(orig: np.ndarray, ids: np.ndarray, gray: np.ndarray, thin_ids: np.ndarray, takeable: np.ndarray,
            band: float, release: float, params: RefineParams, step: int) -> tuple[list[int], list[int]]:
    """Rewrite ``ids`` (a copy of ``orig``, ``[H, W]`` int32, in place) around the thin segments
    ``thin_ids``; ``orig`` is only read, so every block sees the coarse map.

    Three passes over the wanted blocks, each on the block's window: the response and the band;
    (after the thresholds are known from all of them) the crack's regions and their owners; then
    the writes (once every segment's fate is known). Returns (refined ids, ids kept coarse)."""
    import cv2

    # Here, not at the top: importing core.model loads torch, which this module does not need.
    from core.model.thin_fusion import nearest_outside

    h, w = ids.shape
    size = int(max(int(thin_ids.max()), int(takeable.max(initial=0)), int(orig.max()))) + 1
    thin_lut, take_lut = _lut(thin_ids.tolist(), size), _lut(takeable.tolist(), size)
    take_lut[0] = True                      # void may be taken too
    k = int(params.max_width) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    reach = int(math.ceil(band)) + 1
    margin = int(math.ceil(release)) + 2 + k  # the release radius must see lines in the neighbour blocks
    blocks: list[_Block] = []
    samples = []
    # 1. darkness response and band per block
    for ys, xs in _wanted_blocks(orig, thin_lut, reach, step):
        wy = slice(max(0, ys.start - margin), min(h, ys.stop + margin))
        wx = slice(max(0, xs.start - margin), min(w, xs.stop + margin))
        coarse = thin_lut[orig[wy, wx]]
        if not coarse.any():
            continue
        in_band = _within(coarse, band)
        # Detection on a lightly blurred photo (grain noise halves, a 2-px crack keeps most of its
        # depth); the crack's extent on the photo itself (the blur would widen it).
        smooth = cv2.GaussianBlur(gray[wy, wx], (5, 5), 1.0)
        blk = _Block(ys, xs, wy, wx, coarse, in_band, cv2.morphologyEx(smooth, cv2.MORPH_BLACKHAT, kernel),
                     cv2.morphologyEx(gray[wy, wx], cv2.MORPH_BLACKHAT, kernel))
        inner = in_band[blk.inner]
        if not inner.any():
            continue
        blocks.append(blk)
        samples.append(blk.resp[blk.inner][inner])
    if not blocks:
        return [], [int(s) for s in thin_ids]
    # 2. thresholds from every band pixel, then the crack's regions block by block
    values = np.concatenate(samples)
    med = float(np.median(values))
    sigma = 1.4826 * float(np.median(np.abs(values.astype(np.float32) - med))) + 1.0
    high = max(med + params.k_high * sigma, params.min_contrast)
    low = max(med + params.k_low * sigma, params.min_contrast / 2)
    refined: set[int] = set()
    for blk in blocks:
        blk.line = _crack_regions(blk, orig[blk.wy, blk.wx], high, low, params)
        refined.update(int(s) for s in np.flatnonzero(np.bincount(blk.line[blk.inner].ravel())) if s)
    kept_coarse = [int(s) for s in thin_ids if int(s) not in refined]
    if not refined:
        return [], kept_coarse
    # 3. writes: the crack's pixels to their segment; ribbon pixels within ``release`` of a found
    # crack go to the surface around; ribbon stretches where the photo showed no crack stay.
    for blk in blocks:
        win = orig[blk.wy, blk.wx]
        owners = blk.line
        assert owners is not None  # set for every block in pass 2
        line_win = np.asarray(owners > 0)
        if not line_win.any():
            continue
        iy, ix = blk.inner
        here = win[iy, ix]
        coarse = blk.coarse[iy, ix]
        line = line_win[iy, ix]
        near = _within(line_win, release)[iy, ix]
        new = here.copy()
        released = coarse & near & ~line
        if released.any():
            new[released] = nearest_outside(win, blk.coarse)[iy, ix][released]
        takes = line & (coarse | take_lut[here])
        new[takes] = owners[iy, ix][takes]
        ids[blk.ys, blk.xs] = new
    return sorted(refined), kept_coarse


def _crack_regions(blk: _Block, win: np.ndarray, high: float, low: float, params: RefineParams) -> np.ndarray:
    """``[h, w]`` int32 owner segment id of the window's crack pixels (0 elsewhere).

    Hysteresis in the window: regions of band pixels above ``low`` holding a pixel above
    ``high`` and touching the coarse mask; within them only the ridge's core is kept, read on the
    unblurred photo (pixels above ``low`` and at least half as dark as the darkest pixel nearby:
    the line's width at half depth, not the blur around it). Each region goes to the thin
    segment it overlaps most."""
    import cv2

    resp = blk.resp
    grown = (resp >= low) & blk.band
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grown.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[labels[grown & (resp >= high)]] = True
    touching = np.zeros(n, bool)
    touching[labels[grown & blk.coarse]] = True
    keep &= touching & (stats[:, cv2.CC_STAT_AREA] >= params.min_pixels)
    keep[0] = False
    if not keep.any():
        return np.zeros(win.shape, np.int32)
    sel = blk.coarse & keep[labels]
    base = int(win.max()) + 1
    # Overlap counts [region, segment]; each region's owner is its row's largest (first on ties).
    counts = np.bincount(labels[sel].astype(np.int64) * base + win[sel], minlength=n * base).reshape(n, base)
    owner = np.where(counts.any(axis=1), counts.argmax(axis=1), 0).astype(np.int32)
    sharp = blk.sharp
    local_max = cv2.dilate(sharp, np.ones((5, 5), np.uint8))
    core = keep[labels] & (sharp.astype(np.int16) * 2 >= local_max) & (sharp >= low)
    return np.where(core, owner[labels], 0).astype(np.int32)


def _within(mask: np.ndarray, radius: float, pool: int = 4) -> np.ndarray:
    """``[h, w]`` bool: pixels within about ``radius`` px of a True pixel of ``mask``.

    The distance is taken on the mask max-pooled by ``pool`` (16x fewer pixels: the band and
    the release radius need no pixel accuracy), so the result is a little generous: it holds
    every pixel within ``radius`` and none beyond about ``radius + 3 * pool``."""
    import cv2

    if radius < 2 * pool:
        return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_3) <= radius
    h, w = mask.shape
    hp, wp = -(-h // pool), -(-w // pool)
    padded = np.zeros((hp * pool, wp * pool), np.uint8)
    padded[:h, :w] = mask
    padded *= 255  # so that one set pixel in a block still averages above 0 (255 / 16 rounds to 16)
    # INTER_AREA by an integer factor is the block mean: > 0 where any pixel of the block is set.
    small = cv2.resize(padded, (wp, hp), interpolation=cv2.INTER_AREA) > 0
    near = (cv2.distanceTransform((~small).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_3)
            <= radius / pool + 1.5).astype(np.uint8)  # + the block diagonal: no pixel within radius missed
    return cv2.resize(near, (wp * pool, hp * pool), interpolation=cv2.INTER_NEAREST)[:h, :w].astype(bool)


def _without_lost(out: PanopticAnnotation) -> PanopticAnnotation:
    """Drop table entries whose pixels are all gone: a stuff sliver the cracks covered, or a thin
    segment whose ribbon went back to the surface while the crack in it joined a neighbour's."""
    ids = out.id_map
    top = max(out.segments, default=0)
    if top < (1 << 22):  # the usual 1..n numbering: one counting pass
        counts = np.bincount(ids.ravel(), minlength=top + 1)
        present = {int(i) for i in np.flatnonzero(counts)}
    else:
        present = {int(i) for i in np.unique(ids)}
    lost = [sid for sid in out.segments if sid not in present]
    if not lost:
        return out
    return PanopticAnnotation(ids, {k: v for k, v in out.segments.items() if k not in lost})


def grid_cell(prediction) -> float:
    """One cell of the grid the thin segments were drawn on, in photo pixels (the ``cell`` of
    ``refine_thin``): the stride-4 mask grid, or one input pixel for a model whose thin head
    draws cracks at the input resolution (``core.model.thin_head``)."""
    h, w = prediction.image_size
    thin = getattr(prediction, "thin_probs", None)
    ih, iw = prediction.input_size if thin is None else thin.shape[1:]  # thin maps may be read finer
    stride = 1.0 if thin is not None else 4.0
    return stride * max(h / max(ih, 1), w / max(iw, 1))


def refined_result(prediction, threshold: float, image: np.ndarray) -> PanopticAnnotation:
    """What a user sees of ``prediction`` (a ``PanopticPrediction``) at ``threshold``: its result
    with the thin segments redrawn on ``image`` (the photo, full size, ``[H, W, 3]`` uint8)."""
    return refine_thin(prediction.panoptic(threshold), image, prediction.categories, cell=grid_cell(prediction))


class ThinRefiner:
    """A ``PanopticPrediction`` re-thresholded with refined thin segments, cached per level.

    The result at a threshold depends only on how many queries are above it, so refined
    annotations are cached per such count: moving a slider back and forth refines each level
    once. Thread-safe (one lock per cache); ``panoptic`` of an uncached level costs one
    ``refine_thin`` (see ``bench/bench_thin_refine.py``); the coarse ``prediction.panoptic``
    stays as fast as before for the first paint.
    """

    def __init__(self, prediction, image: np.ndarray, *, params: RefineParams = RefineParams()):
        if tuple(image.shape[:2]) != tuple(prediction.image_size):
            raise ValueError(f"the photo is {image.shape[1]}x{image.shape[0]} but the prediction is "
                             f"{prediction.image_size[1]}x{prediction.image_size[0]}")
        self.prediction = prediction
        self.gray = grey(image)
        self.params = params
        self.cell = grid_cell(prediction)
        self._cache: dict[int, PanopticAnnotation] = {}
        self._lock = threading.Lock()

    def cached(self, threshold: float) -> PanopticAnnotation | None:
        """The refined result at ``threshold`` if it was computed already, else None (no work)."""
        return self._cache.get(self.prediction.candidate_count(threshold))

    def panoptic(self, threshold: float) -> PanopticAnnotation:
        """``prediction.panoptic(threshold)`` with its thin segments refined."""
        level = self.prediction.candidate_count(threshold)
        with self._lock:
            hit = self._cache.get(level)
            if hit is None:
                coarse = self.prediction.panoptic(threshold)
                hit = refine_thin(coarse, self.gray, self.prediction.categories, cell=self.cell, params=self.params)
                self._cache[level] = hit
        return hit
