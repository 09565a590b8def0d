"""Things on concrete that are *not* defects: efflorescence and rust run-off.

They change only pixels that stay labelled concrete, so a model learns that white crusts and
orange-brown streaks are not spalling or rebar. Both run downwards from a source, as water does.
"""
from __future__ import annotations

import numpy as np

from core.synthetic.canvas import Canvas
from core.synthetic.texture import fractal, noise


def _runoff(rng: np.random.Generator, canvas: Canvas, source: tuple[float, float] | None,
            radius_share: tuple[float, float], streakiness: tuple[float, float]
            ) -> tuple[np.ndarray, np.ndarray] | None:
    """A deposit around ``source`` (a random point when None) with drips below it.

    Its radius is drawn from ``radius_share`` (a share of the canvas side), how far its drips
    run from ``streakiness``. Returns (the canvas' ``[h, w, 3]`` float32 pixels under it, a view
    to paint into; ``[h, w]`` float32 alpha in [0, 1]), or None when it is too small to show.
    Both distractors start here so that they are placed and shaped the same way; only their
    colour and strength differ.
    """
    h, w = canvas.shape
    cx, cy = source or (rng.uniform(0, w), rng.uniform(0, h))
    radius = rng.uniform(*radius_share) * canvas.side
    streak = rng.uniform(*streakiness)
    y0, y1 = max(int(cy - radius), 0), min(int(cy + radius * rng.uniform(1.5, 3.5)), h)
    x0, x1 = max(int(cx - radius), 0), min(int(cx + radius), w)
    if y1 - y0 < 4 or x1 - x0 < 4:
        return None
    ys, xs = slice(y0, y1), slice(x0, x1)
    shape = (y1 - y0, x1 - x0)
    yy, xx = np.mgrid[ys, xs].astype(np.float32)
    dx, dy = (xx - np.float32(cx)) / np.float32(radius), (yy - np.float32(cy)) / np.float32(radius)
    blob = 1.0 - np.sqrt(dx * dx + dy * dy) + 0.45 * fractal(rng, shape, max(radius / 3, 2.0), 3)
    drips = noise(rng, shape, max(radius / 12, 1.5), stretch=(8.0, 1.0)) - 0.2
    below = np.clip(1.0 - np.abs(dx), 0.0, 1.0) * np.exp(-np.clip(dy, 0.0, None) / 2.0) * (dy > -0.2)
    alpha = np.clip(blob * 2.0, 0.0, 1.0) + streak * np.clip(drips, 0.0, 1.0) * below
    alpha = np.clip(alpha, 0.0, 1.0) * canvas.concrete(ys, xs)
    return canvas.img[ys, xs], alpha.astype(np.float32)


def add_efflorescence(rng: np.random.Generator, canvas: Canvas, source: tuple[float, float] | None = None) -> None:
    """A white, powdery crust (salts washed out of the concrete), often below a crack."""
    got = _runoff(rng, canvas, source, (0.04, 0.14), (0.4, 1.0))
    if got is None:
        return
    loc, alpha = got
    white = np.array([0.9, 0.9, 0.87], np.float32) * np.float32(rng.uniform(0.9, 1.05))
    powder = (1.0 + 0.08 * noise(rng, alpha.shape, 1.5))[..., None]
    a = (alpha * np.float32(rng.uniform(0.35, 0.75)))[..., None]
    loc += (white * powder - loc) * a


def add_rust_stain(rng: np.random.Generator, canvas: Canvas, source: tuple[float, float] | None = None) -> None:
    """A faint orange-brown run-off streak: a stain, unribbed and soft-edged, unlike rebar."""
    # Shaped like ``add_efflorescence`` (both start from ``_runoff``), but it tints the concrete's
    # own shading rather than covering it with powder, and its draws keep seeded scenes as they were.
    got = _runoff(rng, canvas, source, (0.02, 0.07), (0.6, 1.0))
    if got is None:
        return
    loc, alpha = got
    rust = np.array([0.55, 0.33, 0.17], np.float32) * np.float32(rng.uniform(0.8, 1.1))
    a = (alpha * np.float32(rng.uniform(0.12, 0.3)))[..., None]
    loc += (rust * (loc.mean(axis=2, keepdims=True) / 0.6) - loc) * a
