"""Measuring a whole annotation: roles, numbering, units, thresholds, totals, presentation."""
import threading

import numpy as np
import pytest

from core.categories import default_categories
from core.errors import AnnotationError, CancelledError
from core.measure import (PhotoMeasurements, Role, calibration_from_line, format_measurement, measure_annotation,
                          measure_segment, summarize, to_tsv)
from core.measure.present import RECORD_COLUMNS, measurement_record
from core.measure.segments import segment_boxes
from core.panoptic import PanopticAnnotation, Segment


@pytest.fixture
def photo(band, disk):
    """A 300 x 300 photo: two cracks (200 x 3, 100 x 3), a spalled disc (r 30), a rebar 120 x 9,
    concrete everywhere else."""
    id_map = np.full((300, 300), 10, np.int32)
    id_map[band(200, 3, 0, 300, centre=(40.25, 150.25))] = 1
    id_map[band(100, 3, 90, 300, centre=(180.25, 40.25))] = 2
    id_map[np.roll(disk(30, 300), (60, 40), (0, 1))] = 3
    id_map[band(120, 9, 0, 300, centre=(270.25, 150.25))] = 4
    segs = {1: Segment(1, 1), 2: Segment(2, 1), 3: Segment(3, 2), 4: Segment(4, 3), 10: Segment(10, 4)}
    return PanopticAnnotation(id_map, segs)


def test_every_segment_is_measured_by_its_role_and_numbered(photo):
    ms = measure_annotation(photo, default_categories())
    by_id = {m.segment_id: m for m in ms}
    assert [m.segment_id for m in ms] == [1, 2, 3, 4, 10]  # cracks longest first, then spalling, rebar
    assert [m.label for m in ms] == [1, 2, 3, 4, None]  # concrete is a surface: no number
    assert by_id[1].role == Role.CRACK and by_id[1].length == pytest.approx(200, abs=1)
    assert by_id[1].max_width == pytest.approx(3, abs=1) and by_id[1].orientation_deg == pytest.approx(0, abs=1)
    assert by_id[2].length == pytest.approx(100, abs=1) and by_id[2].orientation_deg == pytest.approx(90, abs=1)
    assert by_id[3].role == Role.SPALLING and by_id[3].length is None
    assert by_id[3].equivalent_diameter == pytest.approx(60, rel=0.02)
    assert by_id[4].role == Role.REBAR and by_id[4].length == pytest.approx(120, abs=2)
    assert by_id[4].mean_width == pytest.approx(9, abs=0.5)
    assert sum(m.area_share for m in ms) == pytest.approx(1.0)
    for m in ms:  # anchors lie on their segment
        x, y = m.anchor_xy if m.anchor_xy else (m.bbox_px[0], m.bbox_px[1])
        if m.anchor_xy:
            assert photo.id_map[int(round(y)), int(round(x))] == m.segment_id


def test_units_without_and_with_calibration(photo):
    plain = measure_annotation(photo, default_categories())[0]
    assert (plain.unit, plain.area_unit, plain.calibrated) == ("px", "px²", False)
    assert plain.length == plain.length_px and plain.area == plain.area_px
    assert "not calibrated: figures in pixels" in format_measurement(plain)
    cal = calibration_from_line((0, 0), (400, 0), 100)  # 0.25 mm per px
    mm = measure_annotation(photo, default_categories(), cal)[0]
    assert (mm.unit, mm.area_unit) == ("mm", "mm²")
    assert mm.length == pytest.approx(0.25 * plain.length_px)
    assert mm.max_width == pytest.approx(0.25 * plain.max_width_px)
    assert mm.area == pytest.approx(0.0625 * plain.area_px)
    assert mm.bbox_size == pytest.approx((50, 0.75))
    assert plain.with_calibration(cal) == mm
    rec = measurement_record(mm)
    assert rec["unit"] == "mm" and rec["area_unit"] == "mm²" and rec["length_px"] == pytest.approx(plain.length_px)
    assert tuple(rec) == RECORD_COLUMNS


def test_a_prediction_at_a_threshold_drops_low_scores(photo):
    scores = {1: 0.2, 2: 0.4, 3: 0.6, 4: 0.8, 10: None}
    pred = PanopticAnnotation(photo.id_map, {k: Segment(k, s.category_id, source="model", score=scores[k])
                                             for k, s in photo.segments.items()})
    kept = {m.segment_id for m in measure_annotation(pred, default_categories(), min_score=0.5)}
    assert kept == {3, 4, 10}  # scores 0.2 and 0.4 dropped; the unscored stuff stays
    assert measure_annotation(pred, default_categories(), min_score=0.5)[0].score == pytest.approx(0.6)


def test_measure_segment_matches_the_table(photo):
    cats = default_categories()
    table = {m.segment_id: m for m in measure_annotation(photo, cats)}
    one = measure_segment(photo, 1, cats)
    assert one.length_px == pytest.approx(table[1].length_px) and one.area_px == table[1].area_px
    assert one.bbox_px == table[1].bbox_px
    with pytest.raises(AnnotationError):
        measure_segment(photo, 99, cats)


def test_unknown_category_and_cancel(photo):
    bad = photo.with_segment(Segment(1, 42))
    with pytest.raises(AnnotationError, match="42"):
        measure_annotation(bad, default_categories())
    stop = threading.Event()
    stop.set()
    with pytest.raises(CancelledError):
        measure_annotation(photo, default_categories(), cancel=stop)


def test_progress_reports_every_segment(photo):
    seen = []
    measure_annotation(photo, default_categories(), progress=lambda d, t, m: seen.append((d, t)))
    assert seen[-1] == (5, 5) and len(seen) == 5


def test_large_and_sparse_ids_are_found():
    id_map = np.zeros((20, 30), np.int32)
    id_map[2:5, 3:9] = 7_000_001  # panopticapi-style large ids
    id_map[10:12, 20:25] = 5
    boxes = segment_boxes(id_map, [5, 7_000_001, 8])
    assert boxes[7_000_001] == (slice(2, 5), slice(3, 9)) and 8 not in boxes


def test_totals_keep_millimetres_and_pixels_apart(photo):
    cats = default_categories()
    cal = calibration_from_line((0, 0), (100, 0), 100)  # 1 mm per px: same numbers, other unit
    a = PhotoMeasurements("a", 300, 300, cal, "annotation", tuple(measure_annotation(photo, cats, cal)))
    b = PhotoMeasurements("b", 300, 300, None, "annotation", tuple(measure_annotation(photo, cats)))
    totals = summarize([a, b], cats)
    crack = [t for t in totals if t.category_name == "crack"]
    assert [(t.unit, t.count, t.n_photos) for t in crack] == [("mm", 2, 1), ("px", 2, 1)]
    assert crack[0].total_length == pytest.approx(300, abs=3)
    assert crack[0].max_width == pytest.approx(3, abs=1)
    concrete = [t for t in totals if t.category_name == "concrete"][0]
    assert 0.8 < concrete.area_share < 1.0
    spall = [t for t in totals if t.category_name == "spalling"][0]
    assert spall.total_length is None


def test_clipboard_text_has_units_in_the_header(photo):
    text = to_tsv(measure_annotation(photo, default_categories()))
    lines = text.splitlines()
    assert "Length (px)" in lines[0] and "Area (px²)" in lines[0]
    assert len(lines) == 6 and lines[1].split("\t")[:2] == ["1", "crack"]
