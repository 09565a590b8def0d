"""Editable traces: move / delete a waypoint, extend, the edit that swaps a trace's pixels, storage."""
import numpy as np
import pytest

from core.assist import CrackTracer
from core.assist.trace_edit import paint_trace
from core.assist.trace_store import decode, encode, load_traces, save_traces, valid_traces
from core.assist.traces import Trace, mask_of, move_point, nearest_point, remove_point, tracer_from
from core.categories import default_categories
from core.editing import AnnotationEditor
from core.errors import AssistError
from core.evaluation.thin import centreline, match_centrelines
from core.panoptic import SOURCE_MODEL, PanopticAnnotation, Segment

from drawn import concrete, draw_crack  # tests/core/assist is on sys.path (conftest)

BENDY = [(20, 200), (110, 150), (170, 170), (300, 40)]


def _recall(pred, true):
    _, _, g, found = match_centrelines(centreline(true), centreline(pred), 2.0)
    return found / max(g, 1)


def _precision(pred, true):
    p, hits, _, _ = match_centrelines(centreline(true), centreline(pred), 2.0)
    return hits / max(p, 1)


def _trace(rgb, points):
    tracer = CrackTracer(rgb)
    for p in points:
        tracer.add_point(p, prepare=False)
    result = tracer.finish()
    return Trace.from_traced(result, tracer.legs), result


def _full(shape, box, mask):
    out = np.zeros(shape, bool)
    out[box[0]:box[2], box[1]:box[3]] = mask
    return out


def test_a_stored_trace_gives_back_the_tracers_mask_and_path():
    rgb = concrete()
    draw_crack(rgb, BENDY, 3)
    trace, result = _trace(rgb, [(x + 0.5, y + 0.5) for x, y in BENDY])
    assert np.array_equal(trace.path, result.path)
    box, mask = mask_of(rgb, trace)
    assert box == result.box and np.array_equal(mask, result.mask)
    again = Trace.from_json(encode({7: (trace,)})["7"][0])
    assert again == trace


def test_moving_a_waypoint_onto_the_crack_retraces_both_legs_along_it():
    rgb = concrete()
    true = draw_crack(rgb, BENDY, 3)
    # The second click missed the bend by 35 px: the path detours to it, off the crack.
    clicks = [(20.5, 200.5), (110.5, 115.5), (300.5, 40.5)]
    trace, result = _trace(rgb, clicks)
    before = _precision(result.full_mask(true.shape), true)
    moved = move_point(rgb, trace, 1, (110.5, 150.5))
    assert moved.points[1] == (110.5, 150.5) and moved.points[0] == clicks[0]
    assert moved.legs[0][-1].tolist() == [150, 110] and moved.legs[1][0].tolist() == [150, 110]
    after = _precision(_full(true.shape, *mask_of(rgb, moved)), true)
    assert after >= 0.95 > before


def test_removing_waypoints():
    rgb = concrete()
    draw_crack(rgb, BENDY, 3)
    trace, _ = _trace(rgb, [(x + 0.5, y + 0.5) for x, y in BENDY])
    inner = remove_point(rgb, trace, 1)
    assert len(inner.points) == 3 and len(inner.legs) == 2
    assert inner.legs[0][0].tolist() == [200, 20] and inner.legs[0][-1].tolist() == [170, 170]
    end = remove_point(rgb, trace, 3)
    assert end.points == trace.points[:3] and all(np.array_equal(a, b) for a, b in zip(end.legs, trace.legs))
    single = Trace(((5.5, 5.5),), (), 2)
    assert remove_point(rgb, single, 0) is None
    with pytest.raises(AssistError, match="no waypoint"):
        remove_point(rgb, trace, 9)


def test_a_trace_continues_from_either_end():
    rgb = concrete()
    true = draw_crack(rgb, BENDY, 3)
    pts = [(x + 0.5, y + 0.5) for x, y in BENDY]
    trace, _ = _trace(rgb, pts[1:3])
    tail = tracer_from(rgb, trace)
    tail.add_point(pts[3], prepare=False)
    head = tracer_from(rgb, Trace.from_traced(tail.finish(), tail.legs), from_start=True)
    head.add_point(pts[0], prepare=False)
    whole = head.finish()
    assert whole.width == trace.width  # an extension keeps the trace's width
    assert whole.points == (pts[3], pts[2], pts[1], pts[0])
    assert _recall(whole.full_mask(true.shape), true) >= 0.95


def test_bad_stored_traces_are_refused_or_skipped():
    with pytest.raises(AssistError):
        Trace.from_json({"format": 1, "points": [[1, 2], [3, 4]], "legs": [], "width": 2})
    with pytest.raises(AssistError):
        Trace.from_json({"format": 99})
    with pytest.raises(AssistError):
        Trace.from_json("nonsense")
    good = Trace(((5.5, 5.5),), (), 2)
    assert decode({"3": ["bad"], "4": [good.to_json()]}) == {4: (good,)}
    assert decode(None) == {}


def test_nearest_point_within_reach():
    t = Trace(((10.0, 10.0), (40.0, 10.0)), (np.array([[10, 10], [10, 40]]),), 2)
    assert nearest_point([t], (38.0, 12.0), 5) == (0, 1)
    assert nearest_point([t], (25.0, 10.0), 5) is None


# --- the edit -----------------------------------------------------------------------------------
def _editor(shape):
    cats = default_categories()
    return AnnotationEditor(PanopticAnnotation.empty(*shape), cats), cats.by_name("crack").id


def test_moving_a_trace_takes_its_old_pixels_out_and_keeps_the_other_traces():
    rgb = concrete()
    draw_crack(rgb, BENDY, 3)
    ed, crack = _editor(rgb.shape[:2])
    main, _ = _trace(rgb, [(x + 0.5, y + 0.5) for x, y in BENDY])
    branch, _ = _trace(rgb, [(110.5, 150.5), (60.5, 60.5)])  # crosses no crack: a straight-ish path
    seg = Segment(ed.next_segment_id(), crack)
    paint_trace(ed, "trace", seg, mask_of(rgb, main))
    paint_trace(ed, "branch", seg, mask_of(rgb, branch))
    moved = move_point(rgb, branch, 1, (200.5, 40.5))
    edit = paint_trace(ed, "move", seg, mask_of(rgb, moved), old=mask_of(rgb, branch), keep=(mask_of(rgb, main),))
    shape = rgb.shape[:2]
    now = ed.id_map == seg.id
    old_only = _full(shape, *mask_of(rgb, branch)) & ~_full(shape, *mask_of(rgb, main))
    assert not (now & old_only & ~_full(shape, *mask_of(rgb, moved))).any()  # the old branch is gone
    assert now[_full(shape, *mask_of(rgb, main))].all()                       # the main crack stays
    assert now[_full(shape, *mask_of(rgb, moved))].all()
    ed.revert(edit)
    assert (ed.id_map == seg.id)[old_only].all()                              # undo brings it back
    ed.check()


def test_tracing_over_a_predicted_crack_replaces_it():
    rgb = concrete()
    true = draw_crack(rgb, BENDY, 3)
    ed, crack = _editor(rgb.shape[:2])
    predicted = Segment(ed.next_segment_id(), crack, source=SOURCE_MODEL, score=0.7)
    blob = np.zeros(true.shape, bool)
    blob[140:215, 0:180] = true[140:215, 0:180]  # a prediction that covers part of the crack
    ed.paint_mask("accept", (0, 0) + true.shape, blob, predicted)
    manual = Segment(ed.next_segment_id(), crack)
    trace, result = _trace(rgb, [(x + 0.5, y + 0.5) for x, y in BENDY])
    edit = paint_trace(ed, "trace", manual, mask_of(rgb, trace), path=trace.path, replace_model=True)
    assert predicted.id not in ed.segments and manual.id in ed.segments
    assert edit.segments_after[predicted.id] is None
    # Without asking for it, a prediction stays.
    ed.revert(edit)
    paint_trace(ed, "trace", manual, mask_of(rgb, trace), path=trace.path)
    assert predicted.id in ed.segments
    ed.check()


# --- storage ------------------------------------------------------------------------------------
def test_traces_are_stored_with_the_project_and_checked_against_the_annotation(tmp_path):
    from core.project import Project

    rgb = concrete()
    draw_crack(rgb, BENDY, 3)
    trace, result = _trace(rgb, [(x + 0.5, y + 0.5) for x, y in BENDY])
    ann = PanopticAnnotation.empty(*rgb.shape[:2])
    ann.id_map[result.full_mask(ann.shape)] = 5
    ann.segments[5] = Segment(5, 1)
    with Project.create(tmp_path / "p.pinspect") as project:
        save_traces(project, 3, {5: (trace,)})
    with Project.open(tmp_path / "p.pinspect") as project:
        assert load_traces(project, 3, ann) == {5: (trace,)}
        assert load_traces(project, 4, ann) == {}
    # The segment repainted elsewhere, or gone: its trace is not offered any more.
    moved = PanopticAnnotation(np.roll(ann.id_map, 40, axis=1), dict(ann.segments))
    assert valid_traces({5: (trace,)}, moved) == {}
    assert valid_traces({5: (trace,)}, PanopticAnnotation.empty(*ann.shape)) == {}


def test_a_live_predicted_crack_along_a_trace_is_named_and_one_beside_it_is_not():
    """``prediction_under_traces``: a predicted ribbon a few px off a long trace (within reach) is
    what the trace replaces; a crack 40 px away, a spall under the trace and a trace of an
    unknown segment are not."""
    from core.assist.trace_edit import prediction_under_traces

    h, w = 1500, 2000
    t = np.linspace(0.0, 1.0, 3000)
    path = np.unique(np.stack([np.rint(20 + t * 1400), np.rint(30 + t * 1900)], 1).astype(np.int64), axis=0)
    trace = Trace(((30.5, 20.5), (1930.5, 1420.5)), (path,), 3)
    id_map = np.zeros((h, w), np.int32)
    for dy in range(3, 7):      # a ribbon 3-6 px below the path: the model's crack, off centre
        id_map[path[:, 0] + dy, path[:, 1]] = 4
    id_map[path[:, 0] - 40, path[:, 1]] = 5  # another crack, parallel, 40 px away
    id_map[700:760, 900:1000] = 6            # a predicted spall the trace crosses
    segments = {4: Segment(4, 1, False, SOURCE_MODEL, 0.8), 5: Segment(5, 1, False, SOURCE_MODEL, 0.7),
                6: Segment(6, 2, False, SOURCE_MODEL, 0.9)}
    pred = PanopticAnnotation(id_map, segments)
    assert prediction_under_traces(pred, {12: (trace,)}, {12: 1}) == {4}
    assert prediction_under_traces(pred, {12: (trace,)}, {}) == set()        # the traced segment is gone
    assert prediction_under_traces(pred, {12: (trace,)}, {12: 3}) == set()   # a trace of another category
