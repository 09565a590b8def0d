"""Surfaces of a synthetic photo: concrete, the background behind it, and the light on both.

Every function is a pure function of the ``rng`` it is given, so a scene is a function of its seed.
Images are float32 in [0, 1] (values may stray slightly outside; the camera clips), shapes are
``(height, width)`` in numpy order. The work is done by a handful of full-image numpy / OpenCV
operations per layer (no per-pixel Python), which keeps a 512-px scene at a few milliseconds.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

#: Standard deviation of bicubically upsampled unit white noise (measured, 0.85-0.92 depending on
#: the factor); dividing by it makes ``noise`` roughly unit-variance so thresholds mean the same at
#: every scale.
_CUBIC_STD = 0.87

#: The stuff that can appear behind the concrete.
BACKGROUND_KINDS = ("sky", "vegetation", "soil")


# --- noise -----------------------------------------------------------------------------------------
def white(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Per-pixel white noise, float32, zero mean and unit variance.

    Uniform rather than Gaussian: the eye cannot tell grain or sensor noise apart by its
    distribution, and random bytes are ~25x cheaper to draw than normal floats (this is the
    largest single cost at phone resolution).
    """
    n = int(np.prod(shape))
    raw = np.frombuffer(rng.bytes(n), np.uint8).reshape(shape)
    return (raw.astype(np.float32) - np.float32(127.5)) * np.float32(1.0 / 73.9)


def noise(rng: np.random.Generator, shape: tuple[int, int], cell: float,
          stretch: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Smooth value noise, ``[H, W]`` float32, about zero mean and unit variance.

    ``cell`` is the feature size in pixels; ``stretch`` (y, x) multiplies it per axis, so
    ``(20, 1)`` gives vertical streaks. Made by upsampling a small grid of white noise bicubically
    straight to the output size, which costs one ``cv2.resize`` whatever the feature size.
    """
    h, w = shape
    cy, cx = max(cell * stretch[0], 1.0), max(cell * stretch[1], 1.0)
    if cy <= 1.0 and cx <= 1.0:
        return white(rng, shape)
    gh, gw = int(math.ceil(h / cy)) + 1, int(math.ceil(w / cx)) + 1
    grid = rng.standard_normal((gh, gw), dtype=np.float32) * np.float32(1.0 / _CUBIC_STD)
    # Large upscale factors make cubic resizing slow; for big features go cubic to an
    # intermediate size, then linear (its kinks are invisible when samples are <= 1/8 cell apart).
    f = int(min(cy, cx) // 8)
    if f >= 2 and h // f >= 2 and w // f >= 2:
        mid = cv2.resize(grid, (int(math.ceil(w / f)), int(math.ceil(h / f))), interpolation=cv2.INTER_CUBIC)
        return cv2.resize(mid, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def fractal(rng: np.random.Generator, shape: tuple[int, int], cell: float, octaves: int = 4,
            gain: float = 0.55) -> np.ndarray:
    """Sum of ``octaves`` noise layers, each half the feature size and ``gain`` times the amplitude;
    ``[H, W]`` float32, about unit variance.

    Built as a pyramid: each octave is added on its own grid and the sum is upsampled once more,
    so the cost is about one full-size resize however many octaves there are.
    """
    h, w = shape
    acc: np.ndarray | None = None
    amp = 1.0
    c = max(float(cell), 1.0)
    for _ in range(octaves):
        gh, gw = int(math.ceil(h / c)) + 1, int(math.ceil(w / c)) + 1
        layer = rng.standard_normal((gh, gw), dtype=np.float32) * np.float32(amp)
        acc = layer if acc is None else cv2.resize(acc, (gw, gh), interpolation=cv2.INTER_CUBIC) + layer
        amp *= gain
        if c <= 1.0:
            break
        c = max(c / 2.0, 1.0)
    assert acc is not None, "fractal() needs at least one octave"
    acc *= np.float32(1.0 / max(float(acc.std()), 1e-6))
    if acc.shape == (h + 1, w + 1) and c <= 1.0:
        return np.ascontiguousarray(acc[:h, :w])
    return cv2.resize(acc, (w, h), interpolation=cv2.INTER_CUBIC)


def _smooth(rng: np.random.Generator, shape: tuple[int, int], factor: int, make) -> np.ndarray:
    """``make(rng, small_shape, factor)`` computed at 1/``factor`` resolution and upsampled
    linearly to ``[H, W]`` float32: for fields with no detail finer than a few ``factor`` pixels,
    at a fraction of the cost (phone photos are 12 MP)."""
    h, w = shape
    if factor <= 1:
        return make(rng, shape, 1)
    small = (max(int(math.ceil(h / factor)), 2), max(int(math.ceil(w / factor)), 2))
    return cv2.resize(make(rng, small, factor), (w, h), interpolation=cv2.INTER_LINEAR)


def _discs(img: np.ndarray, rng: np.random.Generator, count: int, radius: float,
           depth: tuple[float, float]) -> None:
    """Draw ``count`` filled discs of ``radius`` px, each of a random depth, into ``img`` (in place)."""
    if count <= 0:
        return
    h, w = img.shape
    ys = rng.integers(0, h, count).tolist()
    xs = rng.integers(0, w, count).tolist()
    ds = rng.uniform(depth[0], depth[1], count).tolist()
    r = max(int(round(radius)), 0)
    for x, y, d in zip(xs, ys, ds):
        cv2.circle(img, (x, y), r, d, -1, cv2.LINE_8)


def shifted(a: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``a`` sampled at ``(x + dx, y + dy)``, edges replicated; ``[H, W]`` float32."""
    m = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    return cv2.warpAffine(a, m, (a.shape[1], a.shape[0]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


# --- concrete --------------------------------------------------------------------------------------
def concrete(rng: np.random.Generator, shape: tuple[int, int], zoom: float,
             light: tuple[float, float]) -> np.ndarray:
    """A concrete surface, ``[H, W, 3]`` float32 RGB.

    Layers, each a cue an inspector's eye uses to read "concrete": a grey base with a warm or cool
    tint; mottling at three scales; sand grain; aggregate showing through the cement paste; air
    pores (bug holes); sometimes formwork joints with panel-to-panel tone steps, tie holes and
    board marks; water stains and rain run-off streaks. ``zoom`` scales the physical features
    (larger = closer camera), ``light`` is the unit (x, y) direction towards the light.
    """
    h, w = shape
    s = float(min(h, w))
    z = float(zoom) * max(s / 512.0, 0.5)  # features grow with the photo, so 4000-px photos are not all sand
    a = rng.uniform([0.03, 0.012, 0.015], [0.08, 0.035, 0.035]).astype(np.float32)

    def low(rng: np.random.Generator, small: tuple[int, int], f: int) -> np.ndarray:
        # Mottling at three scales, water stains and run-off streaks: nothing finer than ~3 px at
        # 1/f resolution, so they are made small and upsampled.
        ss = s / f
        field = 1.0 + a[0] * noise(rng, small, ss / 2.5)
        field += a[1] * noise(rng, small, ss / 7)
        field += a[2] * noise(rng, small, max(ss / 20, 2))
        return field * _stains(rng, small, ss, z / f)

    lum = _smooth(rng, shape, max(1, int(s // 256)), low)
    cv2.scaleAdd(noise(rng, shape, max(0.8 * z, 1.0)), rng.uniform(0.025, 0.05), lum, dst=lum)  # sand grain

    # Aggregate: stones under the paste show as irregular blobs of a slightly different tone; how
    # much shows varies from smooth formed faces to weathered, sand-blasted ones.
    agg_cell = rng.uniform(5.0, 12.0) * z
    exposure = rng.uniform(0.0, 1.0) ** 1.5
    if exposure > 0.05:
        blobs = np.clip((noise(rng, shape, agg_cell) - 0.7) * 4.0, 0.0, 1.0)
        tone = noise(rng, shape, agg_cell * 0.8) - np.float32(0.4)
        lum += np.float32(0.055 * exposure) * blobs * tone

    # Air pores: small crisp dark holes, a few larger ones; the lit inner wall is a faint rim.
    density = rng.uniform(0.0, 1.0) ** 2 * 1.4e-3 / max(z * z, 0.25)
    n_pores = int(density * h * w)
    if n_pores:
        pores: np.ndarray = np.zeros(shape, np.float32)
        for radius, share in ((0.6, 0.55), (1.4, 0.33), (2.6, 0.12)):
            _discs(pores, rng, int(n_pores * share), radius * z, (0.15, 0.5))
        pores = cv2.GaussianBlur(pores, (0, 0), 0.6)
        rim = np.clip(shifted(pores, -light[0] * 1.2 * z, -light[1] * 1.2 * z) - pores, 0, 1)
        lum += 0.35 * rim - pores

    if rng.random() < 0.35:
        lum *= _formwork(rng, shape, s, z)
    if rng.random() < 0.15:  # board-marked concrete: the wood grain of the formwork imprinted
        lum += np.float32(rng.uniform(0.012, 0.03)) * noise(rng, shape, 2.0 * z, stretch=(1.5, 25.0))

    # Grey with a warm (beige) or cool (blue-grey) cast, and a little colour mottling.
    level = rng.uniform(0.48, 0.76)
    tint = np.array([0.03, 0.006, -0.035]) * rng.uniform(-0.5, 1.3) + rng.normal(0.0, 0.005, 3)
    rgb = np.empty((h, w, 3), np.float32)
    chroma = noise(rng, shape, s / 4) * np.float32(rng.uniform(0.004, 0.012))
    for c in range(3):
        sign = 1.0 if c == 0 else (-1.0 if c == 2 else 0.2)
        rgb[..., c] = lum * np.float32(level * (1 + tint[c])) * (1 + sign * chroma)
    return rgb


def _formwork(rng: np.random.Generator, shape: tuple[int, int], s: float, z: float) -> np.ndarray:
    """Multiplier ``[H, W]`` float32: formwork panel joints, panel tone steps and tie holes."""
    h, w = shape
    horizontal = rng.random() < 0.7
    length, across = (w, h) if horizontal else (h, w)
    spacing = rng.uniform(0.2, 0.55) * s * max(z / max(s / 512.0, 0.5), 0.5)
    start = rng.uniform(0, spacing)
    joints = np.arange(start, across, spacing)
    # Each panel has its own tone; the step at a joint is a strong "this is formed concrete" cue.
    band = np.clip(np.searchsorted(joints, np.arange(across)), 0, len(joints))
    tones = 1.0 + rng.normal(0.0, 0.025, len(joints) + 1)
    profile = tones[band].astype(np.float32)
    mult = np.broadcast_to(profile[:, None] if horizontal else profile[None, :], shape)
    line = np.zeros(shape, np.float32)
    thickness = 1 if s < 900 else 2
    for j in joints:
        slope = rng.normal(0.0, 0.004) * length
        p0: tuple[float, float] = (0, j)
        p1: tuple[float, float] = (length, j + slope)
        if not horizontal:
            p0, p1 = (p0[1], p0[0]), (p1[1], p1[0])
        cv2.line(line, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])), 1.0, thickness, cv2.LINE_AA)
    sign = -1.0 if rng.random() < 0.7 else 1.0  # most joints read as a dark seam, some as a fin
    mult = mult * (1.0 + sign * rng.uniform(0.06, 0.14) * cv2.GaussianBlur(line, (0, 0), 0.8))
    if rng.random() < 0.4:  # tie holes: small round dark plugs on a grid between joints
        step = spacing / 2 if spacing > 0.3 * s else spacing
        ys = np.arange(rng.uniform(0.2, 0.8) * step, h, step)
        xs = np.arange(rng.uniform(0.2, 0.8) * step, w, step)
        holes = np.zeros(shape, np.float32)
        ring = np.zeros(shape, np.float32)  # the lighter mortar plug around each hole
        r = max(1, int(0.012 * s * min(z / max(s / 512.0, 0.5), 1.6)))
        t = max(1, r // 2)
        for y in ys:
            for x in xs:
                cv2.circle(ring, (int(x), int(y)), r + (t + 1) // 2, 1.0, t, cv2.LINE_AA)
                cv2.circle(holes, (int(x), int(y)), r, 1.0, -1, cv2.LINE_AA)
        mult = mult * (1.0 - rng.uniform(0.25, 0.5) * holes + 0.08 * ring)
    return mult.astype(np.float32)


def _stains(rng: np.random.Generator, shape: tuple[int, int], s: float, z: float) -> np.ndarray:
    """Multiplier ``[H, W]`` float32: soft water stains and vertical rain run-off streaks.

    Soft-edged and unshaded on purpose: they teach a model that "darker" alone is not spalling.
    """
    mult = np.ones(shape, np.float32)
    if rng.random() < 0.5:
        field = fractal(rng, shape, s / rng.uniform(2.0, 4.0), octaves=4, gain=0.6)
        patch = np.clip((field - rng.uniform(0.2, 0.9)) * 1.2, 0.0, 1.0)
        mult *= 1.0 - np.float32(rng.uniform(0.05, 0.14)) * patch
    if rng.random() < 0.4:
        h, w = shape
        streaks = np.clip(noise(rng, shape, rng.uniform(3.0, 9.0) * z, stretch=(s / 60.0, 1.0)), 0.0, None)
        top = rng.uniform(-0.3, 0.5) * h
        fade = np.clip((np.arange(h, dtype=np.float32) - top) / (0.6 * h), 0.0, 1.0)
        fade = fade * np.exp(-np.clip(np.arange(h, dtype=np.float32) - top, 0, None) / (rng.uniform(0.4, 1.2) * h))
        mult *= 1.0 - np.float32(rng.uniform(0.05, 0.14)) * streaks * fade[:, None]
    return mult


# --- background ------------------------------------------------------------------------------------
def background_mask(rng: np.random.Generator, shape: tuple[int, int], kind: str) -> np.ndarray:
    """``[H, W]`` bool: where the background shows (sky above a wall edge, ground or plants below,
    or beside a column). The edge of a concrete member is nearly straight; plants make it ragged."""
    h, w = shape
    s = float(min(h, w))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "sky":
        side = "top" if rng.random() < 0.8 else ("left" if rng.random() < 0.5 else "right")
    else:
        side = "bottom" if rng.random() < 0.75 else ("left" if rng.random() < 0.5 else "right")
    frac = rng.uniform(0.12, 0.35)
    slope = rng.normal(0.0, 0.12)
    if side in ("top", "bottom"):
        edge = (frac * h if side == "top" else (1 - frac) * h) + slope * (xx - w / 2)
        signed = (edge - yy) if side == "top" else (yy - edge)
    else:
        edge = (frac * w if side == "left" else (1 - frac) * w) + slope * (yy - h / 2)
        signed = (edge - xx) if side == "left" else (xx - edge)
    if kind == "sky":  # the edge of a concrete member against the sky: straight, slightly worn
        signed = signed + np.float32(0.003 * s) * fractal(rng, shape, 0.08 * s, octaves=3)
    else:  # plants or ground in front: a ragged, leafy edge
        signed = signed + np.float32(0.025 * s) * fractal(rng, shape, 0.05 * s, octaves=3, gain=0.7)
    return signed > 0


def background(rng: np.random.Generator, shape: tuple[int, int], kind: str) -> np.ndarray:
    """The stuff behind the concrete, ``[H, W, 3]`` float32 RGB: sky, vegetation or soil."""
    h, w = shape
    s = float(min(h, w))
    if kind == "sky":
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
        top = np.array([0.42, 0.6, 0.86]) * rng.uniform(0.85, 1.1)
        low = np.array([0.78, 0.85, 0.93]) * rng.uniform(0.9, 1.05)
        rgb = (top * (1 - t) + low * t).astype(np.float32) * np.ones((1, w, 1), np.float32)
        clouds = np.clip(fractal(rng, shape, s / 2.5, octaves=4) * 0.6 + rng.uniform(-0.4, 0.4), 0.0, 1.0)
        rgb += (np.float32(0.95) - rgb) * clouds[..., None] * np.float32(rng.uniform(0.4, 0.9))
        return rgb
    if kind == "vegetation":
        # Leaves: mid-size blobs lit on top, deep shadows between them; muted, as foliage in
        # photos of structures is (often dusty, often in shade).
        z = max(s / 512, 0.5)
        leaves = fractal(rng, shape, rng.uniform(5.0, 12.0) * z, octaves=3, gain=0.6)
        shade = np.clip(0.5 + 0.3 * leaves + 0.12 * noise(rng, shape, s / 5), 0.08, 1.1)
        base = np.array([0.2, 0.28, 0.12]) * rng.uniform(0.6, 1.15) + rng.normal(0, 0.015, 3)
        hue = noise(rng, shape, s / 6) * np.float32(0.1)
        rgb = np.empty((h, w, 3), np.float32)
        rgb[..., 0] = shade * np.float32(base[0]) * (1 + hue)
        rgb[..., 1] = shade * np.float32(base[1])
        rgb[..., 2] = shade * np.float32(base[2]) * (1 - hue)
        return rgb
    # soil / gravel
    grit = fractal(rng, shape, rng.uniform(2.0, 6.0) * max(s / 512, 0.5), octaves=3, gain=0.8)
    shade = np.clip(0.8 + 0.25 * grit + 0.1 * noise(rng, shape, s / 5), 0.2, 1.3)
    base = np.array([0.42, 0.34, 0.25]) * rng.uniform(0.7, 1.2) + rng.normal(0, 0.02, 3)
    return (shade[..., None] * base.astype(np.float32)).astype(np.float32)


# --- light -----------------------------------------------------------------------------------------
def illumination(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Multiplier ``[H, W]`` float32: a brightness gradient, lens vignetting and sometimes the soft
    shadow of something outside the picture (a soft edge, unlike a crack's)."""
    return _smooth(rng, shape, max(1, min(shape) // 128), _light_field)


def _light_field(rng: np.random.Generator, shape: tuple[int, int], factor: int) -> np.ndarray:
    h, w = shape
    yy = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None]
    xx = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    a = rng.uniform(0, 2 * math.pi)
    grad = np.float32(math.cos(a)) * xx + np.float32(math.sin(a)) * yy
    mult = 1.0 + np.float32(rng.uniform(0.0, 0.18)) * grad
    mult = mult * (1.0 - np.float32(rng.uniform(0.0, 0.25)) * (xx * xx + yy * yy) / 2.0)
    if rng.random() < 0.15:
        b = rng.uniform(0, 2 * math.pi)
        d = np.float32(math.cos(b)) * xx + np.float32(math.sin(b)) * yy - np.float32(rng.uniform(-0.5, 0.6))
        soft = rng.uniform(0.03, 0.25)
        edge = 1.0 / (1.0 + np.exp(-d / np.float32(soft)))
        mult = mult * (1.0 - np.float32(rng.uniform(0.2, 0.45)) * edge)
    return mult.astype(np.float32)
