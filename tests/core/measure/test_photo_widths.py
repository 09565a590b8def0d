"""Crack widths read from the photo in the per-photo measurements, the tooltip text and the report."""
import csv

import numpy as np
import pytest

from core.categories import default_categories
from core.measure import (calibration_from_gsd, format_measurement, measure_annotation, measure_segment,
                          measurement_record, to_tsv)
from core.panoptic import PanopticAnnotation, Segment
from core.report import ReportPhoto, write_report
from core.synthetic.thin_crack import render_crack


@pytest.fixture(scope="module")
def cracked_photo():
    """A photo with a 1.2 px crack (segment 1) and a 5 px crack (segment 2) of the same interior,
    masks 1 px too wide on each side, concrete (segment 9) around: ``(rgb, annotation)``."""
    a = render_crack(1.2, blur_sigma=0.6, noise_sigma=2.0, contrast=45.0, seed=1)
    b = render_crack(5.0, blur_sigma=0.6, noise_sigma=2.0, contrast=45.0, angle_deg=-60, seed=2)
    gray = np.hstack([a.image, b.image])
    id_map = np.full(gray.shape, 9, np.int32)
    id_map[np.hstack([a.mask(1.0), np.zeros_like(b.mask())])] = 1
    id_map[np.hstack([np.zeros_like(a.mask()), b.mask(1.0)])] = 2
    segs = {1: Segment(1, 1), 2: Segment(2, 1), 9: Segment(9, 4)}
    return np.repeat(gray[..., None], 3, 2), PanopticAnnotation(id_map, segs)


def test_widths_from_the_photo_replace_the_mask_count(cracked_photo):
    rgb, ann = cracked_photo
    by_id = {m.segment_id: m for m in measure_annotation(ann, default_categories(), image=rgb)}
    thin, wide = by_id[1], by_id[2]
    assert thin.width_px == pytest.approx(1.2, abs=0.15) and wide.width_px == pytest.approx(5.0, abs=0.2)
    assert thin.mean_width_px == pytest.approx(1.2, abs=0.15)
    assert (thin.width_method, wide.width_method) == ("profile-ref", "profile")
    assert thin.mask_width_px > 2.7  # the mask's own count: 1 px too wide on each side
    assert 0 <= thin.width_spread_px < 0.4 and thin.max_width_px >= thin.width_px
    x, y = thin.max_xy
    assert ann.id_map[int(round(y)), int(round(x))] == 1
    assert by_id[9].width_px is None and by_id[9].width_method is None

    masks_only = {m.segment_id: m for m in measure_annotation(ann, default_categories())}[1]
    assert masks_only.width_method == "mask" and masks_only.width_px == pytest.approx(masks_only.mask_width_px)
    assert masks_only.width_px > 2.7


def test_units_tooltip_and_clipboard_carry_the_width(cracked_photo):
    rgb, ann = cracked_photo
    cal = calibration_from_gsd(0.2)
    m = {m.segment_id: m for m in measure_annotation(ann, default_categories(), cal, image=rgb)}[1]
    assert m.width == pytest.approx(0.2 * m.width_px) and m.width_spread == pytest.approx(0.2 * m.width_spread_px)
    rec = measurement_record(m)
    assert rec["width_method"] == "profile-ref" and rec["width"] == pytest.approx(m.width, rel=1e-5)
    tip = format_measurement(m)
    assert "width 0.2" in tip and "along it (read from the photo, interior contrast from its wider cracks)" in tip
    tsv = to_tsv([m])
    assert "Width (mm)" in tsv.splitlines()[0] and "profile-ref" in tsv
    one = measure_segment(ann, 2, default_categories(), image=rgb)
    assert one.width_method == "profile" and one.width_px == pytest.approx(5.0, abs=0.2)


def test_photo_of_another_size_is_refused(cracked_photo):
    from core.errors import AnnotationError

    rgb, ann = cracked_photo
    with pytest.raises(AnnotationError, match="px"):
        measure_annotation(ann, default_categories(), image=rgb[:-1])


def test_report_has_the_width_column_with_its_spread_and_method(tmp_path, cracked_photo):
    rgb, ann = cracked_photo
    res = write_report([ReportPhoto("wall.png", rgb, ann, calibration_from_gsd(0.1))], default_categories(),
                       tmp_path / "out")
    with open(res.csv_path, encoding="utf-8-sig", newline="") as f:
        rows = {r["segment_id"]: r for r in csv.DictReader(f)}
    assert float(rows["1"]["width"]) == pytest.approx(0.12, abs=0.015)  # 1.2 px at 0.1 mm/px
    assert float(rows["1"]["width_px"]) == pytest.approx(1.2, abs=0.15)
    assert rows["1"]["width_method"] == "profile-ref" and float(rows["1"]["mask_width_px"]) > 2.7
    assert rows["9"]["width"] == ""
    html = res.html_path.read_text(encoding="utf-8")
    assert "<th>Width (mm)</th><th class=\"text\">Width from</th>" in html
    thin = f"{float(rows['1']['width']):.3f}"
    assert f"<td>{thin} <span class=\"iqr\">(IQR " in html and "photo (ref.)" in html and "read from the photo" in html


def test_cache_reads_again_only_the_cracks_that_changed(cracked_photo, monkeypatch):
    import core.measure.photo_cracks as pc

    rgb, ann = cracked_photo
    cache = pc.WidthCache()
    monkeypatch.setattr("core.measure.photo_widths._CACHE", cache)
    calls = []
    real = pc.measure_crack_width
    monkeypatch.setattr(pc, "measure_crack_width", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = {m.segment_id: m for m in measure_annotation(ann, default_categories(), image=rgb)}
    n_first = len(calls)
    assert n_first == 3  # two cracks, then the thin one again with the wide one's contrast
    again = {m.segment_id: m for m in measure_annotation(ann, default_categories(), image=rgb)}
    assert len(calls) == n_first and again[1].width_px == first[1].width_px
    edited = ann.id_map.copy()
    ys, xs = np.nonzero(edited == 1)
    edited[ys[:10], xs[:10]] = 9  # an eraser stroke on the thin crack
    measure_annotation(PanopticAnnotation(edited, ann.segments), default_categories(), image=rgb)
    assert len(calls) == n_first + 2  # only the edited crack is read again (alone, then with the reference)


def test_a_lone_thin_crack_carries_the_range_of_widths_that_fit(tmp_path):
    scene = render_crack(0.8, blur_sigma=0.6, noise_sigma=2.0, contrast=60.0, seed=6)
    ids = np.where(scene.mask(1.0), 1, 9).astype(np.int32)
    ann = PanopticAnnotation(ids, {1: Segment(1, 1), 9: Segment(9, 4)})
    rgb = np.repeat(scene.image[..., None], 3, 2)
    m = measure_annotation(ann, default_categories(), calibration_from_gsd(0.1), image=rgb)[0]
    assert m.width_method == "profile-range"
    assert m.width_low_px < 0.8 < m.width_high_px and m.width_low_px <= m.width_px <= m.width_high_px
    assert m.width_low == pytest.approx(0.1 * m.width_low_px)
    assert "anywhere from" in format_measurement(m) and "fits its profiles" in format_measurement(m)
    res = write_report([ReportPhoto("hairline.png", rgb, ann, calibration_from_gsd(0.1))], default_categories(),
                       tmp_path / "out")
    with open(res.csv_path, encoding="utf-8-sig", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["segment_id"] == "1")
    assert float(row["width_low"]) < 0.08 < float(row["width_high"]) and row["width_method"] == "profile-range"
    html = res.html_path.read_text(encoding="utf-8")
    assert "photo (est.)" in html and f"[{float(row['width_low']):.3f}–" in html
