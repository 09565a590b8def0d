"""Traced cracks that stay editable: the clicks (waypoints) and the path between them.

A ``Trace`` is what the tracer tool made: the waypoints ``(x, y)`` the user clicked, the darkest
path between each consecutive pair (a *leg*) and the width of its mask. Keeping it with the crack
segment lets a user come back (the same day, or after reopening the photo) and

* move a waypoint (``move_point``: the two legs next to it are traced again),
* delete one (``remove_point``: its neighbours are joined by a new darkest path),
* extend the crack from either end (``tracer_from``: a ``CrackTracer`` that continues it), or
* branch a new crack from a waypoint (a new trace starting there, in the same segment).

``mask_of`` gives a trace's pixels exactly as the tracer made them (same path, same width), so
an edit can take back the old trace's pixels and paint the new ones (``core.assist.trace_edit``).
``to_json`` / ``from_json`` are the stored form (``core.assist.trace_store``).

Coordinates: waypoints ``(x, y)`` in photo pixels; legs ``[N, 2]`` int64 ``(y, x)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.assist.trace import MAX_WIDTH, MIN_WIDTH, CrackTracer, TracedCrack, trace_between
from core.editing.geometry import Box
from core.errors import AssistError

#: Version of the stored form (``to_json``).
FORMAT = 1


@dataclass(frozen=True, eq=False)
class Trace:
    """One traced crack (or branch).

    Attributes:
        points: waypoints ``(x, y)`` in photo pixels, in order (at least one).
        legs: ``len(points) - 1`` paths, leg ``i`` ``[N, 2]`` int64 ``(y, x)`` from point ``i`` to
            ``i + 1`` (both ends included).
        width: the mask's width in whole pixels.
    """

    points: tuple[tuple[float, float], ...]
    legs: tuple[np.ndarray, ...]
    width: int

    def __post_init__(self):
        if not self.points:
            raise AssistError("a trace needs at least one waypoint")
        if len(self.legs) != len(self.points) - 1:
            raise AssistError(f"a trace of {len(self.points)} waypoints needs {len(self.points) - 1} legs, "
                              f"got {len(self.legs)}")
        if not MIN_WIDTH <= int(self.width) <= MAX_WIDTH:
            raise AssistError(f"a trace's width must be {MIN_WIDTH}-{MAX_WIDTH} px, got {self.width!r}")

    def __eq__(self, other) -> bool:
        if not isinstance(other, Trace):
            return NotImplemented
        return (self.points == other.points and self.width == other.width and len(self.legs) == len(other.legs)
                and all(np.array_equal(a, b) for a, b in zip(self.legs, other.legs)))

    __hash__ = None  # type: ignore[assignment]  # mutable-looking arrays inside: not a dict key

    @staticmethod
    def from_traced(result: TracedCrack, legs) -> Trace:
        """The trace of a finished ``CrackTracer`` (its ``result`` and ``legs``)."""
        return Trace(tuple(result.points), tuple(np.asarray(g, np.int64) for g in legs), int(result.width))

    @property
    def pixels(self) -> list[tuple[int, int]]:
        """``(y, x)`` pixel of every waypoint."""
        return [(math.floor(y), math.floor(x)) for x, y in self.points]

    @property
    def path(self) -> np.ndarray:
        """``[N, 2]`` int64 ``(y, x)`` centre path through every waypoint."""
        first = np.array([self.pixels[0]], np.int64)
        return np.concatenate([first] + [leg[1:] for leg in self.legs])

    def reversed(self) -> Trace:
        """The same crack traced from its other end."""
        return Trace(self.points[::-1], tuple(leg[::-1].copy() for leg in self.legs[::-1]), self.width)

    # --- stored form ------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"format": FORMAT, "points": [[float(x), float(y)] for x, y in self.points],
                "legs": [leg.ravel().tolist() for leg in self.legs], "width": int(self.width)}

    @staticmethod
    def from_json(data) -> Trace:
        """Raises ``AssistError`` for anything that is not a stored trace."""
        try:
            if int(data.get("format", 0)) != FORMAT:
                raise AssistError(f"unknown trace format {data.get('format')!r}")
            points = tuple((float(x), float(y)) for x, y in data["points"])
            legs = tuple(np.asarray(leg, np.int64).reshape(-1, 2) for leg in data["legs"])
            return Trace(points, legs, int(data["width"]))
        except AssistError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise AssistError(f"not a stored trace: {e}") from e


def tracer_from(rgb: np.ndarray, trace: Trace, from_start: bool = False) -> CrackTracer:
    """A ``CrackTracer`` holding ``trace`` so far (its width fixed), ready to take more clicks at
    its end (or, ``from_start``, at its first waypoint: the trace is turned round)."""
    t = trace.reversed() if from_start else trace
    tracer = CrackTracer(rgb, t.width)
    tracer.restore(t.points, t.legs)
    return tracer


def mask_of(rgb: np.ndarray, trace: Trace) -> tuple[Box, np.ndarray]:
    """``(box, [y1-y0, x1-x0] bool mask)`` of a trace's pixels at its width (what the tracer
    painted for it)."""
    result = tracer_from(rgb, trace).finish(trace.width)
    assert result is not None  # a trace has a waypoint
    return result.box, result.mask


def move_point(rgb: np.ndarray, trace: Trace, index: int, xy) -> Trace:
    """``trace`` with waypoint ``index`` moved to ``xy``; the legs on either side traced again.

    Raises:
        AssistError: no such waypoint, or ``xy`` outside the photo.
    """
    n = len(trace.points)
    if not 0 <= index < n:
        raise AssistError(f"the trace has no waypoint {index} (it has {n})")
    tracer = CrackTracer(rgb, trace.width)  # checks the photo
    yx = _pixel_of(xy, tracer.shape)
    points = list(trace.points)
    points[index] = (float(xy[0]), float(xy[1]))
    legs = list(trace.legs)
    pix = [(math.floor(y), math.floor(x)) for x, y in points]
    if index > 0:
        legs[index - 1] = trace_between(tracer.rgb, pix[index - 1], yx)
    if index < n - 1:
        legs[index] = trace_between(tracer.rgb, yx, pix[index + 1])
    return Trace(tuple(points), tuple(legs), trace.width)


def remove_point(rgb: np.ndarray, trace: Trace, index: int) -> Trace | None:
    """``trace`` without waypoint ``index`` (None when it was the only one): an end drops its leg,
    an inner waypoint's neighbours are joined by a new darkest path."""
    n = len(trace.points)
    if not 0 <= index < n:
        raise AssistError(f"the trace has no waypoint {index} (it has {n})")
    if n == 1:
        return None
    points = trace.points[:index] + trace.points[index + 1:]
    legs = list(trace.legs)
    if index == 0:
        legs.pop(0)
    elif index == n - 1:
        legs.pop()
    else:
        pix = trace.pixels
        legs[index - 1:index + 1] = [trace_between(np.asarray(rgb), pix[index - 1], pix[index + 1])]
    return Trace(points, tuple(legs), trace.width)


def _pixel_of(xy, shape: tuple[int, int]) -> tuple[int, int]:
    try:
        x, y = float(xy[0]), float(xy[1])
    except (TypeError, ValueError, IndexError) as e:
        raise AssistError(f"a waypoint must be an (x, y) pair, got {xy!r}") from e
    px, py = (math.floor(x), math.floor(y)) if math.isfinite(x) and math.isfinite(y) else (-1, -1)
    if not (0 <= px < shape[1] and 0 <= py < shape[0]):
        raise AssistError(f"the waypoint ({x:g}, {y:g}) is outside the {shape[1]} x {shape[0]} photo")
    return py, px


def nearest_point(traces, xy, within: float) -> tuple[int, int] | None:
    """``(trace index, waypoint index)`` of the waypoint nearest ``xy`` among ``traces``, if one lies
    within ``within`` photo pixels; None otherwise."""
    best, found = within, None
    for ti, t in enumerate(traces):
        for pi, (x, y) in enumerate(t.points):
            d = math.hypot(x - float(xy[0]), y - float(xy[1]))
            if d <= best:
                best, found = d, (ti, pi)
    return found
