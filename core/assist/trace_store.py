"""Where traced cracks' waypoints are kept between sessions: the project file.

Reopening a photo and editing yesterday's trace is what a user expects, so the traces of a photo
(``{segment id: [Trace, ...]}``, ``core.assist.traces``) are stored in the project's key-value
``meta`` table under ``assist.traces.<image id>`` as JSON, beside its annotation. They are
written after the annotation is saved and read when the photo is opened; what is read is checked
against the annotation (``valid_traces``): a trace whose segment is gone, or whose path no longer
runs on its segment's pixels (repainted, or the annotation was saved without the latest trace),
is dropped rather than shown with handles on nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from core.assist.traces import Trace
from core.errors import AssistError
from core.panoptic import PanopticAnnotation

log = logging.getLogger(__name__)

KEY = "assist.traces.{image_id}"
#: A stored trace is kept when at least this share of its centre path lies on its segment.
ON_SEGMENT = 0.8

Traces = Mapping[int, tuple[Trace, ...]]


def encode(traces: Traces) -> dict:
    """JSON-ready form: ``{"<segment id>": [trace, ...]}`` (segments without traces left out)."""
    return {str(int(sid)): [t.to_json() for t in ts] for sid, ts in traces.items() if ts}


def decode(data) -> dict[int, tuple[Trace, ...]]:
    """The traces of ``encode``'s form; entries that do not read as traces are skipped (logged)."""
    out: dict[int, tuple[Trace, ...]] = {}
    if not isinstance(data, dict):
        return out
    for key, items in data.items():
        try:
            out[int(key)] = tuple(Trace.from_json(t) for t in items)
        except (AssistError, TypeError, ValueError) as e:
            log.warning("stored traces of segment %r skipped: %s", key, e)
    return out


def valid_traces(traces: Traces, annotation: PanopticAnnotation) -> dict[int, tuple[Trace, ...]]:
    """The traces that still describe their segment in ``annotation`` (``ON_SEGMENT``)."""
    h, w = annotation.shape
    out = {}
    for sid, ts in traces.items():
        if sid not in annotation.segments:
            continue
        kept = []
        for t in ts:
            p = t.path
            inside = (p[:, 0] >= 0) & (p[:, 0] < h) & (p[:, 1] >= 0) & (p[:, 1] < w)
            if inside.all() and np.mean(annotation.id_map[p[:, 0], p[:, 1]] == sid) >= ON_SEGMENT:
                kept.append(t)
        if kept:
            out[sid] = tuple(kept)
    return out


def load_traces(project, image_id: int, annotation: PanopticAnnotation) -> dict[int, tuple[Trace, ...]]:
    """The photo's stored traces that fit its annotation (empty when none, or unreadable)."""
    try:
        data = project.get_meta(KEY.format(image_id=int(image_id)), None)
    except Exception as e:  # noqa: BLE001 - traces are an aid: the photo opens without them
        log.warning("stored traces of image %s could not be read: %s", image_id, e)
        return {}
    return valid_traces(decode(data), annotation) if data else {}


def save_traces(project, image_id: int, traces: Traces) -> None:
    """Store the photo's traces (replacing what was stored)."""
    project.set_meta(KEY.format(image_id=int(image_id)), encode(traces))
