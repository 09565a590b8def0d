"""The crack tracer: a crack is the darkest path between the clicks the user puts on it.

Between two consecutive clicks the tracer finds the minimal-cost path on ``cost.crack_cost``
(``skimage.graph.MCP_Geometric``: Dijkstra on the 8-connected pixel grid, diagonal steps costing
sqrt(2)), over a window around the two clicks only, so a 24-megapixel photo costs no more than a
crop. The path becomes a mask of the crack's width (``band``), the width read from the photo
(``width``) unless the user gives one.

Live preview works as live-wire tools do: a click sets up the minimal costs from that click over
a window around it (``PREVIEW_RADIUS``; a few hundred ms, run off the GUI thread), after which each
mouse move only walks back from the cursor to the click (about a millisecond). What the preview
shows is what a click commits: a click inside the prepared window takes exactly the previewed path.

Coordinates: clicks are ``(x, y)`` in photo pixels (floats accepted, the pixel ``floor`` of the
point is used, as ``core.editing`` does); paths are ``[N, 2]`` int ``(y, x)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.assist.band import band_pixels, centre_curve
from core.assist.cost import FILTER_MARGIN, crack_cost, darkness_near, luminance
from core.assist.width import PROFILE_HALF, crack_width
from core.editing.geometry import Box
from core.errors import AssistError

#: Half-side (px) of the square window prepared around the last click for the live preview.
PREVIEW_RADIUS = 384
#: Margin (px, at least) around two clicks' box in which their path may wander.
PAIR_MARGIN = 40
#: ... and as a fraction of the clicks' distance (a crack bends further off a long chord).
PAIR_MARGIN_FRACTION = 0.35
#: Widths (px) the tracer accepts.
MIN_WIDTH, MAX_WIDTH = 1, 200


def check_rgb(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` as an ``[H, W, 3]`` uint8 array, or ``AssistError``."""
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8 or a.shape[0] < 1 or a.shape[1] < 1:
        raise AssistError(f"expected an [H, W, 3] uint8 photo, got shape {a.shape} of {a.dtype}")
    return a


def _pixel(xy, shape: tuple[int, int]) -> tuple[int, int]:
    """``(y, x)`` pixel of a click ``(x, y)``; ``AssistError`` outside the photo."""
    try:
        x, y = float(xy[0]), float(xy[1])
    except (TypeError, ValueError, IndexError) as e:
        raise AssistError(f"a click must be an (x, y) pair, got {xy!r}") from e
    if not (math.isfinite(x) and math.isfinite(y)):
        raise AssistError(f"a click must be finite, got {xy!r}")
    px, py = math.floor(x), math.floor(y)
    if not (0 <= px < shape[1] and 0 <= py < shape[0]):
        raise AssistError(f"the click ({x:g}, {y:g}) is outside the {shape[1]} x {shape[0]} photo")
    return py, px


def _window(y0: int, x0: int, y1: int, x1: int, shape: tuple[int, int]) -> Box:
    return max(y0, 0), max(x0, 0), min(y1, shape[0]), min(x1, shape[1])


@dataclass
class _Field:
    """Minimal costs from one pixel over a window, ready to walk back from any pixel in it."""

    source: tuple[int, int]          # (y, x) in the photo
    box: Box                         # the window, in the photo
    mcp: Any                         # skimage.graph.MCP_Geometric after find_costs

    def contains(self, yx: tuple[int, int]) -> bool:
        y0, x0, y1, x1 = self.box
        return y0 <= yx[0] < y1 and x0 <= yx[1] < x1

    def path_to(self, yx: tuple[int, int]) -> np.ndarray:
        """``[N, 2]`` int64 ``(y, x)`` path from the source to ``yx`` (inside the window)."""
        y0, x0 = self.box[:2]
        steps = self.mcp.traceback((yx[0] - y0, yx[1] - x0))
        return np.asarray(steps, np.int64).reshape(-1, 2) + np.array([y0, x0])


@dataclass(frozen=True)
class PlannedClick:
    """A click worked out by ``CrackTracer.plan``: the click, its pixel, the click it follows (None
    for the first), the path from there (``[N, 2]`` int64 (y, x)) and the preview set-up, if any."""

    xy: tuple[float, float]
    yx: tuple[int, int]
    after: tuple[int, int] | None
    leg: np.ndarray
    field: _Field | None


def _cost_window(rgb: np.ndarray, box: Box) -> np.ndarray:
    """Cost of the pixels in ``box`` (``[h, w]`` float64), computed with a filter margin."""
    h, w = rgb.shape[:2]
    y0, x0, y1, x1 = box
    py0, px0, py1, px1 = _window(y0 - FILTER_MARGIN, x0 - FILTER_MARGIN, y1 + FILTER_MARGIN, x1 + FILTER_MARGIN, (h, w))
    cost = crack_cost(luminance(rgb[py0:py1, px0:px1]))
    return np.ascontiguousarray(cost[y0 - py0:y1 - py0, x0 - px0:x1 - px0])


def _field(rgb: np.ndarray, source: tuple[int, int], box: Box, end: tuple[int, int] | None = None) -> _Field:
    from skimage.graph import MCP_Geometric

    cost = _cost_window(rgb, box)
    mcp = MCP_Geometric(cost, fully_connected=True)
    start = [(source[0] - box[0], source[1] - box[1])]
    if end is None:
        mcp.find_costs(start)
    else:  # a single target: the search stops once it is reached
        mcp.find_costs(start, [(end[0] - box[0], end[1] - box[1])], find_all_ends=False)
    return _Field(source, box, mcp)


def trace_between(rgb: np.ndarray, a: tuple[int, int], b: tuple[int, int]) -> np.ndarray:
    """The darkest path from pixel ``a`` to pixel ``b`` (``(y, x)`` each): ``[N, 2]`` int64 ``(y, x)``."""
    if a == b:
        return np.array([a], np.int64)
    dist = math.hypot(a[0] - b[0], a[1] - b[1])
    m = int(max(PAIR_MARGIN, PAIR_MARGIN_FRACTION * dist))
    box = _window(min(a[0], b[0]) - m, min(a[1], b[1]) - m, max(a[0], b[0]) + m + 1, max(a[1], b[1]) + m + 1,
                  rgb.shape[:2])
    return _field(rgb, a, box, end=b).path_to(b)


def _straight(a: tuple[int, int], b: tuple[int, int]) -> np.ndarray:
    """8-connected straight pixel line from ``a`` to ``b`` (both included)."""
    n = max(abs(b[0] - a[0]), abs(b[1] - a[1])) + 1
    t = np.linspace(0.0, 1.0, n)
    return np.stack([np.rint(a[0] + t * (b[0] - a[0])), np.rint(a[1] + t * (b[1] - a[1]))], 1).astype(np.int64)


@dataclass(frozen=True)
class TracedCrack:
    """A finished trace.

    Attributes:
        mask: ``[y1-y0, x1-x0]`` bool, the crack's pixels inside ``box``.
        box: ``(y0, x0, y1, x1)`` in the photo, end-exclusive.
        path: ``[N, 2]`` int64 ``(y, x)`` centre path through every click, in order.
        points: the clicks ``(x, y)`` as given (kept with the segment for later editing).
        width: the mask's width in px (whole, >= 1); measured: whether it was read from the photo.
    """

    mask: np.ndarray
    box: Box
    path: np.ndarray
    points: tuple[tuple[float, float], ...]
    width: int
    measured: bool

    def full_mask(self, shape: tuple[int, int]) -> np.ndarray:
        """``[H, W]`` bool mask of the crack in a photo of ``shape``."""
        out = np.zeros(shape, bool)
        y0, x0, y1, x1 = self.box
        out[y0:y1, x0:x1] = self.mask
        return out


class CrackTracer:
    """Click-by-click tracing of one crack on one photo (the state behind the tracer tool).

    ``add_point`` commits the path from the last click to a new one and prepares the preview
    from it; ``preview_to`` is the cheap per-mouse-move call; ``undo_point`` drops the last click;
    ``finish`` turns the path into a mask. A GUI keeps responsive with ``plan(xy)`` on a worker
    thread (the path and the preview set-up; nothing changes) and ``commit(planned)`` back on its
    own thread; ``prepare()`` / ``install(field)`` split the preview set-up the same way.

    Args:
        rgb: ``[H, W, 3]`` uint8 photo (not copied: do not change it while tracing).
        width: the crack's width in px, or None to read it from the photo when finishing.
        preview_radius: half-side of the preview window around the last click.
    """

    def __init__(self, rgb: np.ndarray, width: int | None = None, preview_radius: int = PREVIEW_RADIUS):
        self.rgb = check_rgb(rgb)
        self.shape: tuple[int, int] = self.rgb.shape[:2]
        self.width = None if width is None else _check_width(width)
        self.preview_radius = int(preview_radius)
        self.points: list[tuple[float, float]] = []
        self._pixels: list[tuple[int, int]] = []
        self._legs: list[np.ndarray] = []   # leg i joins click i to click i + 1
        self._field: _Field | None = None

    # --- clicks ---------------------------------------------------------------------------------
    def plan(self, xy, prepare: bool = True) -> PlannedClick:
        """The work of a click, without changing the tracer (safe on a worker thread): the path
        from the last click to ``xy`` and, with ``prepare``, the preview set-up from ``xy``.

        Raises:
            AssistError: the click is outside the photo.
        """
        yx = _pixel(xy, self.shape)
        last = self._pixels[-1] if self._pixels else None
        if last is None:
            leg = np.array([yx], np.int64)
        else:
            f = self._field
            if f is not None and f.source == last and f.contains(yx):
                leg = f.path_to(yx)         # exactly what the preview showed
            else:
                leg = trace_between(self.rgb, last, yx)
        field = self._prepare_at(yx) if prepare else None
        return PlannedClick((float(xy[0]), float(xy[1])), yx, last, leg, field)

    def commit(self, planned: PlannedClick) -> bool:
        """Add a planned click; refused (False) when the clicks changed since it was planned."""
        last = self._pixels[-1] if self._pixels else None
        if planned.after != last:
            return False
        if last is not None:
            self._legs.append(planned.leg)
        self.points.append(planned.xy)
        self._pixels.append(planned.yx)
        self._field = planned.field
        return True

    def add_point(self, xy, prepare: bool = True) -> np.ndarray:
        """Add a click; returns the new leg's path ``[N, 2]`` (y, x) (just the pixel for the first).

        Raises:
            AssistError: the click is outside the photo.
        """
        planned = self.plan(xy, prepare)
        self.commit(planned)
        return planned.leg

    def undo_point(self, prepare: bool = True) -> bool:
        """Drop the last click (and its leg); False when there was none."""
        if not self.points:
            return False
        self.points.pop()
        self._pixels.pop()
        if self._legs:
            self._legs.pop()
        self._field = None
        if prepare and self._pixels:
            self.install(self.prepare())
        return True

    def restore(self, points, legs) -> None:
        """Start from clicks made earlier (a stored trace, ``core.assist.traces``): ``points``
        ``(x, y)`` and the ``len(points) - 1`` legs ``[N, 2]`` (y, x) between them; the preview is
        not prepared (``prepare`` / ``install``)."""
        pts = [(float(x), float(y)) for x, y in points]
        legs = [np.asarray(g, np.int64).reshape(-1, 2) for g in legs]
        if len(legs) != max(len(pts) - 1, 0):
            raise AssistError(f"{len(pts)} clicks need {max(len(pts) - 1, 0)} legs, got {len(legs)}")
        pixels = [_pixel(p, self.shape) for p in pts]
        self.points, self._pixels, self._legs, self._field = pts, pixels, legs, None

    @property
    def legs(self) -> list[np.ndarray]:
        """The paths between consecutive clicks, ``[N, 2]`` int64 (y, x) each (copies)."""
        return [g.copy() for g in self._legs]

    # --- preview ----------------------------------------------------------------------------------
    def prepare(self) -> _Field | None:
        """Minimal costs from the last click over its preview window (the slow part; no state
        changes, safe on a worker thread). None when there is no click."""
        return self._prepare_at(self._pixels[-1]) if self._pixels else None

    def _prepare_at(self, yx: tuple[int, int]) -> _Field:
        y, x = yx
        r = self.preview_radius
        return _field(self.rgb, (y, x), _window(y - r, x - r, y + r + 1, x + r + 1, self.shape))

    def install(self, field: _Field | None) -> bool:
        """Use a prepared field for previews; refused (False) if the clicks changed meanwhile."""
        if field is None or not self._pixels or field.source != self._pixels[-1]:
            return False
        self._field = field
        return True

    @property
    def ready(self) -> bool:
        """Whether the preview from the last click is set up (``preview_to`` is then fast)."""
        return self._field is not None and bool(self._pixels) and self._field.source == self._pixels[-1]

    def preview_to(self, xy) -> np.ndarray:
        """Path ``[N, 2]`` (y, x) from the last click towards ``xy``: the darkest path inside the
        prepared window, a straight line beyond it (or everywhere while it is not ready).
        Empty before the first click. Points outside the photo are clamped to it."""
        if not self._pixels:
            return np.zeros((0, 2), np.int64)
        h, w = self.shape
        x = min(max(math.floor(float(xy[0])), 0), w - 1)
        y = min(max(math.floor(float(xy[1])), 0), h - 1)
        last = self._pixels[-1]
        f = self._field
        if f is None or not self.ready:
            return _straight(last, (y, x))
        y0, x0, y1, x1 = f.box
        inside = (min(max(y, y0), y1 - 1), min(max(x, x0), x1 - 1))
        path = f.path_to(inside)
        if inside != (y, x):
            path = np.concatenate([path, _straight(inside, (y, x))[1:]])
        return path

    # --- result -----------------------------------------------------------------------------------
    @property
    def path(self) -> np.ndarray:
        """``[N, 2]`` int64 (y, x): the committed path through every click so far."""
        if not self._pixels:
            return np.zeros((0, 2), np.int64)
        parts = [np.array([self._pixels[0]], np.int64)] + [leg[1:] for leg in self._legs]
        return np.concatenate(parts)

    def finish(self, width: int | None = None) -> TracedCrack | None:
        """The crack's mask; None before the first click.

        Args:
            width: overrides the tracer's width; when both are None it is read from the photo
                (rounded to whole px, at least 1; 1 px when the photo shows no dark line).
        """
        path = self.path
        if len(path) == 0:
            return None
        chosen = width if width is not None else self.width
        # Room for the band and for the width profile (PROFILE_HALF each side) plus the filters.
        pad = FILTER_MARGIN + int(max(PROFILE_HALF, (chosen or 0) / 2)) + 4
        y0, x0 = path.min(0) - pad
        y1, x1 = path.max(0) + pad + 1
        box = _window(int(y0), int(x0), int(y1), int(x1), self.shape)
        by0, bx0, by1, bx1 = box
        local = path - np.array([by0, bx0])
        # Everything below reads the photo within the width profile's reach of the path (the
        # profile estimator's core and background windows too, for widths up to the pad's):
        # filtered near the path only, a crack across a 24 MP photo costs its own pixels, not
        # the photo's.
        gray, dark = darkness_near(self.rgb, box, local, pad)
        curve = centre_curve(local, dark)
        measured = chosen is None
        if measured:
            est = crack_width(gray, dark, curve)
            chosen = 1 if est is None else int(round(est))
        w = _check_width(max(int(chosen or MIN_WIDTH), MIN_WIDTH))
        pix = np.concatenate([band_pixels(curve, w), local])  # the traced centre always belongs
        # Clicks at the photo's edge put part of the band outside: keep what is inside the box.
        ok = (pix[:, 0] >= 0) & (pix[:, 0] < by1 - by0) & (pix[:, 1] >= 0) & (pix[:, 1] < bx1 - bx0)
        pix = pix[ok]
        (ty0, tx0), (ty1, tx1) = pix.min(0), pix.max(0) + 1
        mask = np.zeros((int(ty1 - ty0), int(tx1 - tx0)), bool)
        mask[pix[:, 0] - ty0, pix[:, 1] - tx0] = True
        tight = (by0 + int(ty0), bx0 + int(tx0), by0 + int(ty1), bx0 + int(tx1))
        return TracedCrack(mask, tight, path, tuple(self.points), w, measured)


def _check_width(width) -> int:
    try:
        w = int(round(float(width)))
    except (TypeError, ValueError) as e:
        raise AssistError(f"a crack width must be a number of pixels, got {width!r}") from e
    if not MIN_WIDTH <= w <= MAX_WIDTH:
        raise AssistError(f"a crack width must be {MIN_WIDTH}-{MAX_WIDTH} px, got {width!r}")
    return w


def trace_crack(rgb: np.ndarray, points, width: int | None = None) -> np.ndarray:
    """Mask of the crack that runs through ``points``.

    Args:
        rgb: ``[H, W, 3]`` uint8 photo.
        points: ``(x, y)`` photo pixels along the crack, in order (its ends and a point per bend);
            one point gives a dot of the crack's width.
        width: the crack's width in px; None reads it from the photo (rounded, at least 1).
    Returns:
        ``[H, W]`` bool mask.
    Raises:
        AssistError: no points, a point outside the photo, a bad photo or width.
    """
    tracer = CrackTracer(rgb, width)
    pts = list(points)
    if not pts:
        raise AssistError("tracing a crack needs at least one point")
    for p in pts:
        tracer.add_point(p, prepare=False)
    result = tracer.finish()
    if result is None:  # cannot happen with a point added; kept explicit for readers and mypy
        raise AssistError("tracing a crack needs at least one point")
    return result.full_mask(tracer.shape)
