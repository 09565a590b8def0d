"""Defects (things) painted onto a ``Canvas``: cracks, spalling, and exposed rebar inside spalls.

Each painter works in a window around its defect (never the whole photo), decides its mask first,
claims only pixels that are still plain concrete, writes the new segment id there and only then
changes the picture, so the truth is exact: a segment is exactly the pixels painted as it.
Nothing is painted for a candidate too small to be seen (the function returns ``None`` or ``[]``).
"""
from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from core.synthetic.canvas import Canvas
from core.synthetic.texture import fractal, noise, shifted


# --- cracks ----------------------------------------------------------------------------------------
def _walk(rng: np.random.Generator, start: np.ndarray, angle: float, length: float, step: float,
          wander: float) -> tuple[np.ndarray, np.ndarray]:
    """A crack path: ``([N+1, 2] float points, [N] float directions)``.

    The direction is the main angle plus a slow wander (knots every ~8 steps), a slow drift
    (a random walk, so long cracks curve) and a fast zig-zag (the crack going round aggregate).
    """
    n = max(int(length / step), 2)
    knots = max(n // 8, 2)
    slow = np.interp(np.arange(n), np.linspace(0, n - 1, knots), rng.normal(0.0, wander, knots))
    drift = np.cumsum(rng.normal(0.0, 0.035, n))
    theta = angle + slow + drift + rng.normal(0.0, 0.25, n)
    d = np.stack([np.cos(theta), np.sin(theta)], axis=1) * step
    pts = start[None, :] + np.concatenate([np.zeros((1, 2)), np.cumsum(d, axis=0)])
    return pts, theta


def _widths(rng: np.random.Generator, n: int, w_max: float, taper_start: bool) -> np.ndarray:
    """``[n]`` int widths >= 1: widest in the middle, tapering to hairline at the tips."""
    k = np.arange(n, dtype=np.float64)
    ends = np.minimum(k + 1, n - k) if taper_start else (n - k)
    taper = np.minimum(1.0, ends / max(0.3 * n, 1.0)) ** 0.7
    knots = max(n // 10, 2)
    var = 1.0 + np.interp(k, np.linspace(0, n - 1, knots), rng.normal(0.0, 0.2, knots))
    w = w_max * taper * var + rng.normal(0.0, 0.25, n)
    return np.maximum(np.rint(w), 1).astype(np.int64)


def _stroke(mask: np.ndarray, pts: np.ndarray, widths: np.ndarray) -> None:
    """Draw a polyline of per-segment integer ``widths`` (px) into ``mask`` (uint8, in place).

    OpenCV's thick lines come in odd widths only (thickness 1 -> 1 px, 2 -> 3, t >= 3 -> t + 2 for
    odd t), so an even width is an odd one plus a copy shifted by one pixel across the line.
    Consecutive segments of the same width go in one ``polylines`` call.
    """
    cuts = np.flatnonzero(np.diff(widths)) + 1
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(widths)]):
        w = int(widths[a])
        odd = w if w % 2 else w - 1
        thickness = 1 if odd == 1 else (2 if odd == 3 else odd - 2)
        seg = np.rint(pts[a:b + 1]).astype(np.int32)
        cv2.polylines(mask, [seg], False, 1, thickness, cv2.LINE_8)
        if w % 2 == 0:
            d = seg[-1] - seg[0]
            off = np.array([0, 1], np.int32) if abs(int(d[0])) >= abs(int(d[1])) else np.array([1, 0], np.int32)
            cv2.polylines(mask, [seg + off], False, 1, thickness, cv2.LINE_8)


def add_crack(rng: np.random.Generator, canvas: Canvas, category_id: int, width_range: tuple[int, int],
              start: tuple[float, float] | None = None, angle: float | None = None) -> int | None:
    """Paint one crack (a main path with 0-3 branches, one instance); return its segment id.

    Widths are drawn in ``width_range`` px (skewed towards hairline) and grow with photos larger
    than 768 px, where the same crack covers more pixels. ``start``/``angle`` let a crack leave a
    spall. Returns None, painting nothing, when too little of the crack lands on free concrete.
    """
    h, w = canvas.shape
    side = canvas.side
    scale = max(1.0, side / 768.0)
    w_max = (width_range[0] + (width_range[1] - width_range[0]) * rng.random() ** 1.8) * scale
    if start is None:
        start = (rng.uniform(0, w), rng.uniform(0, h))
    if angle is None:  # walls crack mostly vertically (shrinkage), horizontally, or at 45 deg (shear)
        r = rng.random()
        angle = (math.pi / 2 if r < 0.35 else 0.0 if r < 0.55 else rng.choice([1, -1]) * math.pi / 4 if r < 0.75
                 else rng.uniform(0, math.pi)) + rng.normal(0.0, 0.15)
        angle += math.pi * (rng.random() < 0.5)
    length = rng.uniform(0.3, 1.1) * side
    step = max(2.0, side / 160.0)
    pts, theta = _walk(rng, np.asarray(start, np.float64), angle, length, step, rng.uniform(0.15, 0.45))
    paths = [(pts, _widths(rng, len(theta), w_max, taper_start=True))]
    for _ in range(int(rng.choice([0, 0, 1, 1, 2, 3]))):
        k = int(rng.integers(len(theta) // 5, max(len(theta) * 4 // 5, len(theta) // 5 + 1)))
        b_angle = theta[k] + rng.choice([-1, 1]) * rng.uniform(0.4, 1.1)
        b_len = rng.uniform(0.12, 0.5) * length
        b_pts, b_theta = _walk(rng, pts[k], b_angle, b_len, step, rng.uniform(0.15, 0.4))
        b_w = max(1.0, paths[0][1][k] * rng.uniform(0.35, 0.8))
        paths.append((b_pts, _widths(rng, len(b_theta), b_w, taper_start=False)))

    allp = np.concatenate([p for p, _ in paths])
    pad = int(w_max) + 3
    x0, y0 = max(int(allp[:, 0].min()) - pad, 0), max(int(allp[:, 1].min()) - pad, 0)
    x1, y1 = min(int(allp[:, 0].max()) + pad, w), min(int(allp[:, 1].max()) + pad, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    ys, xs = slice(y0, y1), slice(x0, x1)
    drawn = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for p, wd in paths:
        _stroke(drawn, p - np.array([x0, y0]), wd)
    m = (drawn > 0) & canvas.concrete(ys, xs)
    if m.sum() < max(12.0, 0.06 * side * min(w_max, 3)):
        return None
    seg_id = canvas.new_segment(category_id)
    canvas.ids[ys, xs][m] = seg_id

    # A crack is an opening in shadow: dark inside, a slightly dark halo of chipped edges around.
    mf = m.astype(np.float32)
    core = np.maximum(cv2.GaussianBlur(mf, (0, 0), 0.55), mf)
    halo = cv2.GaussianBlur(mf, (0, 0), 1.0 + 0.5 * w_max)
    dark = rng.uniform(0.55, 0.8) if w_max >= 3 else rng.uniform(0.5, 0.7)
    mult = 1.0 - np.float32(dark) * core - np.float32(rng.uniform(0.05, 0.15)) * halo
    canvas.img[ys, xs] *= np.clip(mult, 0.05, 1.0)[..., None]
    return seg_id


# --- spalling and rebar ----------------------------------------------------------------------------
def _solid(m: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of ``m`` with its holes filled; ``[h, w]`` bool."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(m)
    keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    m = lab == keep
    n2, lab2 = cv2.connectedComponents((~m).astype(np.uint8), connectivity=4)
    border = np.unique(np.concatenate([lab2[0], lab2[-1], lab2[:, 0], lab2[:, -1]]))
    holes = (lab2 > 0) & ~np.isin(lab2, border)
    return m | holes


def add_spall(rng: np.random.Generator, canvas: Canvas, spall_category: int, rebar_category: int,
              rebar_probability: float, max_things: int) -> list[int]:
    """Paint one spalled patch, sometimes with exposed bars in it; return the new segment ids
    (spall first). Returns ``[]`` when no free spot was found.

    The patch is an irregular blob with a rough, jagged rim, recessed: its floor is darker and
    coarser (aggregate shows), its walls are shaded by the scene light and the rim casts a shadow
    on the side the light comes from. Those cues - not darkness alone - separate it from stains.
    """
    h, w = canvas.shape
    side = canvas.side
    r = rng.uniform(0.06, 0.2) * side * float(np.clip(math.sqrt(canvas.zoom), 0.75, 1.3))
    aspect = rng.uniform(1.0, 2.3)
    rot = rng.uniform(0, math.pi)
    for _ in range(10):
        cx, cy = rng.uniform(0.02, 0.98) * w, rng.uniform(0.02, 0.98) * h
        if canvas.ids[int(cy), int(cx)] == canvas.concrete_id:
            break
    else:
        return []
    major, minor = r * math.sqrt(aspect), r / math.sqrt(aspect)
    c, s = math.cos(rot), math.sin(rot)
    ys, xs = canvas.box(cx, cy, 1.5 * math.hypot(major * c, minor * s), 1.5 * math.hypot(major * s, minor * c))
    xx, yy = canvas.grid(ys, xs, cx, cy)
    u = (xx * np.float32(c / major) + yy * np.float32(s / major))
    v = (yy * np.float32(c / minor) - xx * np.float32(s / minor))
    rho = np.sqrt(u * u + v * v)
    shape = rho.shape
    # Lobes from low-frequency noise, a jagged rim from finer noise (no trigonometry: this
    # window can be a third of the photo, and arctan/cos there cost more than everything else).
    field = (1.0 - rho + np.float32(rng.uniform(0.15, 0.3)) * noise(rng, shape, r * 0.9)
             + np.float32(rng.uniform(0.1, 0.2)) * fractal(rng, shape, max(r / 3, 2.0), 3, 0.5))
    m = _solid(field > 0) & canvas.concrete(ys, xs)
    if m.sum() < max(40.0, 0.0008 * h * w):
        return []
    # From here on work in the patch's own box (plus a margin for the soft edge): the first window
    # was sized for the largest shape the noise could make.
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    r0, r1 = max(int(rows[0]) - 3, 0), min(int(rows[-1]) + 4, m.shape[0])
    c0, c1 = max(int(cols[0]) - 3, 0), min(int(cols[-1]) + 4, m.shape[1])
    m = m[r0:r1, c0:c1]
    ys, xs = slice(ys.start + r0, ys.start + r1), slice(xs.start + c0, xs.start + c1)
    shape = m.shape
    spall_id = canvas.new_segment(spall_category)
    ids = canvas.ids[ys, xs]
    ids[m] = spall_id

    # Depth: steep walls, a flat rough floor. Height is the negative depth, in pixels.
    mf = m.astype(np.float32)
    dist = cv2.distanceTransform(m.astype(np.uint8), cv2.DIST_L2, 3)
    depth = np.clip(dist / np.float32(rng.uniform(0.15, 0.35) * r), 0.0, 1.0)
    depth = cv2.GaussianBlur(depth * (2.0 - depth), (0, 0), max(0.6, 0.02 * r))
    # The floor: broken paste (fine roughness) around protruding aggregate stones (smooth bumps,
    # which the light turns into pebbles).
    agg = rng.uniform(4.0, 9.0) * max(side / 512.0, 0.5) * canvas.zoom
    rough = fractal(rng, shape, agg * 0.6, 2, 0.5)
    stones: np.ndarray = np.clip((noise(rng, shape, agg * 1.5) - 0.35) * 1.8, 0.0, 1.0)
    stones = cv2.GaussianBlur(stones, (0, 0), 0.15 * agg + 0.5)
    d_px = np.float32(rng.uniform(0.1, 0.2) * r)
    height = -d_px * depth + np.float32(agg) * (0.35 * stones + 0.06 * rough) * mf
    lx, ly = canvas.light
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3)
    shade = np.clip(1.0 - np.float32(1.3 / 8.0) * (gx * np.float32(lx) + gy * np.float32(ly)), 0.35, 1.35)
    reach = float(d_px * rng.uniform(0.6, 1.3))
    cast = mf * shifted(1.0 - mf, lx * reach, ly * reach)
    cast = cv2.GaussianBlur(cast, (0, 0), 0.25 * reach + 0.5)

    # One brightness multiplier for the floor (darker, stones, roughness, light, rim shadow), a
    # warm tint on the stones, blended in with a slightly soft edge: one pass over the colours.
    tone = np.float32(rng.uniform(0.55, 0.82)) * (1.0 + 0.22 * noise(rng, shape, agg * 1.5) * stones)
    tone *= (1.0 + 0.06 * rough) * shade * (1.0 - np.float32(rng.uniform(0.35, 0.6)) * cast)
    alpha = np.maximum(cv2.GaussianBlur(mf, (0, 0), 0.7), mf)
    tint = 1.0 + stones[..., None] * np.array([0.04, 0.0, -0.07], np.float32)
    canvas.img[ys, xs] *= 1.0 + alpha[..., None] * (tone[..., None] * tint - 1.0)

    new = [spall_id]
    if rng.random() < rebar_probability and r / math.sqrt(aspect) >= 12:
        new += _add_rebar(rng, canvas, rebar_category, max_things, ys, xs, (cx, cy), spall_id, depth,
                          r / math.sqrt(aspect))
    return new


def _add_rebar(rng: np.random.Generator, canvas: Canvas, category_id: int, max_things: int, ys: slice,
               xs: slice, centre: tuple[float, float], spall_id: int, depth: np.ndarray,
               r_minor: float) -> list[int]:
    """Exposed bars inside one spall: 1-2 parallel bars, sometimes a stirrup across them.

    Bars run along the member's axes (near-horizontal or near-vertical). Each is visible only
    where the spall is deep enough, so bars vanish under the rim as real ones do.
    """
    xx, yy = canvas.grid(ys, xs, centre[0], centre[1])
    diam = float(np.clip(rng.uniform(0.2, 0.38) * r_minor, 4.0, None))
    axis = (0.0 if rng.random() < 0.6 else math.pi / 2) + rng.normal(0.0, 0.06)
    bars = []  # (angle, offset, diameter), deepest first
    if rng.random() < 0.3:
        bars.append((axis + math.pi / 2, rng.normal(0.0, 0.3 * r_minor), diam * 0.75))
    if rng.random() < 0.45:
        gap = rng.uniform(2.5, 4.5) * diam
        mid = rng.normal(0.0, 0.2 * r_minor)
        bars += [(axis, mid - gap / 2, diam), (axis, mid + gap / 2, diam)]
    else:
        bars.append((axis, rng.normal(0.0, 0.25 * r_minor), diam))
    threshold = np.float32(rng.uniform(0.35, 0.55))
    ids = canvas.ids[ys, xs]
    loc = canvas.img[ys, xs]
    lx, ly = canvas.light
    new = []
    for angle, offset, d in bars:
        if canvas.thing_count() >= max_things:
            break
        c, s = math.cos(angle), math.sin(angle)
        u = xx * np.float32(c) + yy * np.float32(s)
        v = -xx * np.float32(s) + yy * np.float32(c) - np.float32(offset)
        half = np.float32(d / 2)
        spall = ids == spall_id
        # Where the cover broke off unevenly the bar dives back into concrete at a ragged line.
        ragged = depth + np.float32(0.12) * noise(rng, depth.shape, max(d * 0.8, 2.0))
        vis = (np.abs(v) < half) & (ragged > threshold) & spall
        if vis.sum() < 1.5 * d * d:
            continue
        seg_id = canvas.new_segment(category_id)
        ids[vis] = seg_id
        new.append(seg_id)
        # The bar's shadow on the spall floor, on the side away from the light.
        lv = -s * lx + c * ly  # light direction across the bar
        away = -np.sign(lv) if abs(lv) > 0.05 else 1.0
        band = (v * np.float32(away) > half) & (v * np.float32(away) < half + np.float32(d * rng.uniform(0.4, 0.9)))
        loc[band & spall] *= np.float32(rng.uniform(0.5, 0.7))
        # A ribbed cylinder: lambert shading across it, ribs every ~0.7 diameters, rust mottling.
        # Computed on the bar's pixels only (1-D), not on the whole spall window.
        sel = np.nonzero(vis)
        t = np.clip(v[sel] / half, -1.0, 1.0)
        nz = np.sqrt(1.0 - t * t)
        lam = 0.3 + 0.75 * np.clip(0.75 * nz + 0.66 * lv * t, 0.0, 1.0)
        pitch = np.float32(rng.uniform(0.55, 0.85) * d)
        slant = np.float32(rng.uniform(-0.5, 0.5))
        rib = np.clip((np.cos(2 * np.pi * (u[sel] + slant * v[sel]) / pitch) - 0.2) * 1.6, 0.0, 1.0) * nz
        mottle = np.clip(0.5 + 0.4 * noise(rng, u.shape, max(d * 0.7, 2.0))[sel], 0.0, 1.0)[:, None]
        dark_rust = np.array([0.26, 0.14, 0.08], np.float32) * np.float32(rng.uniform(0.8, 1.2))
        orange = np.array([0.64, 0.34, 0.15], np.float32) * np.float32(rng.uniform(0.85, 1.12))
        colour = dark_rust * (1.0 - mottle) + orange * mottle
        loc[sel] = colour * (lam * (1.0 - 0.4 * rib) + 0.12 * rib * np.clip(-lv * t + 0.5, 0, 1))[:, None]
    return new


# --- one crack network, one segment ------------------------------------------------------------------
#: Crack networks of at most this many pixels are slivers (a crack clipped by a spall's edge, or the
#: frame's) that nobody could point at: they go to their surroundings, as the post-processor drops
#: segments of at most its ``min_area`` (4) pixels.
SLIVER_AREA = 4


def join_crack_networks(ids: np.ndarray, segments: dict, crack_category: int) -> None:
    """Relabel the crack pixels of the id map ``ids`` ``[H, W]`` (in place, with its ``segments``
    table ``{id: Segment}``) so that each 8-connected network of crack pixels is one segment.

    The instance definition every part of the app shares (docs/design.md, "Crack networks"): a
    crack crossing an earlier one is cut where they cross (its pixels there stay the earlier
    crack's) and so touches it; drawn as two segments the pair would disagree with an importer's
    8-connected components and with the post-processor, which joins touching crack queries. A crack
    clipped in two by a spall, or broken by the camera's resampling, becomes two networks for the
    same reason. Each network keeps the smallest of its old ids when no other network took it;
    ids left without pixels leave the table. Networks of at most ``SLIVER_AREA`` pixels take the id
    of the nearest pixel that is no crack.
    """
    crack_ids = [sid for sid, seg in segments.items() if seg.category_id == crack_category]
    if not crack_ids:
        return
    is_crack = np.isin(ids, crack_ids)
    n, comp, stats, _ = cv2.connectedComponentsWithStats(is_crack.view(np.uint8), connectivity=8,
                                                         ltype=cv2.CV_32S)
    sliver = stats[:, cv2.CC_STAT_AREA] <= SLIVER_AREA
    sliver[0] = False
    if sliver.any() and not is_crack.all():
        from scipy import ndimage

        gone = sliver[comp]
        _, (iy, ix) = ndimage.distance_transform_edt(is_crack, return_indices=True)
        ids[gone] = ids[iy[gone], ix[gone]]
        is_crack &= ~gone
        comp[gone] = 0
    old, labels = ids[is_crack], comp[is_crack].astype(np.int64)
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, labels, old.astype(np.int64))
    template = segments[crack_ids[0]]
    next_id = max(segments) + 1
    spare = sorted(set(crack_ids) - set(first[1:][~sliver[1:]].tolist()))
    new_ids = np.zeros(n, np.int64)
    taken: set[int] = set()
    for c in range(1, n):
        if sliver[c]:
            continue
        sid = int(first[c])
        if sid in taken:  # one crack cut in two: the second piece gets a free id
            if spare:
                sid = spare.pop(0)
            else:
                sid, next_id = next_id, next_id + 1
        new_ids[c] = sid
        taken.add(sid)
    ids[is_crack] = new_ids[labels].astype(ids.dtype)
    for sid in set(crack_ids) - taken:
        del segments[sid]
    for sid in taken - set(crack_ids):
        segments[sid] = dataclasses.replace(template, id=sid)
