"""The report: self-contained HTML, CSV of every segment, units, problems, cancel, atomic files."""
import csv
import re
import threading

import numpy as np
import pytest

from core.categories import default_categories
from core.errors import CancelledError, ProjectError
from core.measure import calibration_from_line, measure_annotation
from core.panoptic import PanopticAnnotation, Segment
from core.report import ReportInfo, ReportPhoto, render_overlay, write_report
from core.report.csv_report import csv_columns


def _read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_report_files_hold_every_photo_and_segment(tmp_path, photo_factory):
    rgb1, ann1 = photo_factory(seed=1)
    rgb2, ann2 = photo_factory(seed=2)
    cal = calibration_from_line((0, 0), (400, 0), 100)  # 0.25 mm per pixel
    photos = [ReportPhoto("wall_north.jpg", rgb1, ann1, cal), ReportPhoto("wall_south.jpg", rgb2, ann2, None)]
    info = ReportInfo(project="Bridge A12", details=(("Inspector", "J. Doe"),))
    res = write_report(photos, default_categories(), tmp_path / "out", info)

    html = res.html_path.read_text(encoding="utf-8")
    for text in ("Bridge A12", "wall_north.jpg", "wall_south.jpg", "J. Doe", "Totals per category",
                 "not calibrated: figures in pixels", "1 px = 0.25 mm", "Length (mm)", "Length (px)"):
        assert text in html
    # Self-contained: the two pictures are embedded, nothing is fetched from anywhere.
    assert html.count('src="data:image/jpeg;base64,') == 2
    assert not re.search(r'(src|href)="(?!data:|#)', html)
    assert "http://" not in html and "https://" not in html
    # Each photo's defects table: the crack (#1) and the spalling (#2).
    assert len(re.findall(r'<tr><td><span class="badge"', html)) == 4

    rows = _read_csv(res.csv_path)
    assert list(rows[0]) == csv_columns()
    assert len(rows) == 6  # 3 segments on each photo, concrete included
    north_crack = next(r for r in rows if r["photo"] == "wall_north.jpg" and r["category"] == "crack")
    south_crack = next(r for r in rows if r["photo"] == "wall_south.jpg" and r["category"] == "crack")
    assert (north_crack["unit"], north_crack["area_unit"]) == ("mm", "mm²")
    assert float(north_crack["length"]) == pytest.approx(50, abs=0.3)  # 200 px at 0.25 mm
    assert float(north_crack["length_px"]) == pytest.approx(200, abs=1)
    assert (south_crack["unit"], south_crack["area_unit"]) == ("px", "px²")
    assert float(south_crack["length"]) == pytest.approx(200, abs=1)
    assert float(south_crack["max_width"]) == pytest.approx(3, abs=1)
    assert north_crack["label"] == "1" and north_crack["source"] == "annotation"
    concrete = next(r for r in rows if r["category"] == "concrete")
    assert concrete["label"] == "" and concrete["length"] == ""

    assert [(t.category_name, t.unit) for t in res.totals if t.category_name == "crack"] == [("crack", "mm"),
                                                                                          ("crack", "px")]
    assert res.problems == []


def test_predictions_are_thresholded_and_scored(tmp_path, photo_factory):
    rgb, ann = photo_factory(score=0.4)
    ann = ann.with_segment(Segment(1, 1, source="model", score=0.9))
    res = write_report([ReportPhoto("p.jpg", rgb, ann, None, "prediction")], default_categories(), tmp_path,
                       ReportInfo(model="detr_r18 test", min_score=0.5))
    rows = _read_csv(res.csv_path)
    assert {r["category"] for r in rows} == {"crack", "concrete"}  # the 0.4 spalling is dropped
    assert next(r for r in rows if r["category"] == "crack")["score"] == "0.9"
    html = res.html_path.read_text(encoding="utf-8")
    assert "detr_r18 test" in html and "scoring ≥ 0.50" in html and "<th>Score</th>" in html


def test_a_missing_photo_or_broken_annotation_does_not_stop_the_report(tmp_path, photo_factory):
    rgb, ann = photo_factory()

    def broken():
        raise ProjectError("the annotation cannot be read", "x.pinspect")

    photos = [ReportPhoto("gone.jpg", tmp_path / "gone.jpg", ann), ReportPhoto("bad.jpg", rgb, broken),
              ReportPhoto("ok.jpg", rgb, ann)]
    res = write_report(photos, default_categories(), tmp_path / "out")
    assert len(res.problems) == 2
    html = res.html_path.read_text(encoding="utf-8")
    assert "shown on grey" in html and "the annotation cannot be read" in html
    assert html.count("data:image/jpeg") == 2  # the missing photo still shows its annotation
    assert {r["photo"] for r in _read_csv(res.csv_path)} == {"gone.jpg", "ok.jpg"}


def test_names_are_escaped(tmp_path, photo_factory):
    rgb, ann = photo_factory()
    res = write_report([ReportPhoto("<script>alert(1)</script>.jpg", rgb, ann)], default_categories(), tmp_path,
                       ReportInfo(project="A & B <north>"))
    html = res.html_path.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html and "A &amp; B &lt;north&gt;" in html


def test_cancel_leaves_no_files_and_keeps_an_older_report(tmp_path, photo_factory):
    rgb, ann = photo_factory()
    out = tmp_path / "out"
    first = write_report([ReportPhoto("a.jpg", rgb, ann)], default_categories(), out)
    before = first.html_path.read_bytes()
    stop = threading.Event()
    calls = []

    def progress(done, total, name):
        calls.append(done)
        stop.set()  # cancel after the first photo

    with pytest.raises(CancelledError):
        write_report([ReportPhoto("b.jpg", rgb, ann), ReportPhoto("c.jpg", rgb, ann)], default_categories(), out,
                     progress=progress, cancel=stop)
    assert calls == [1]
    assert first.html_path.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "segments.csv"]


def test_overlay_keeps_hairline_cracks_visible_when_downscaled():
    h, w = 1000, 3000
    rgb = np.full((h, w, 3), 128, np.uint8)
    id_map = np.full((h, w), 9, np.int32)
    id_map[500:502, 200:2800] = 1  # 2 px wide: under a pixel at 1200 px
    ann = PanopticAnnotation(id_map, {1: Segment(1, 1), 9: Segment(9, 4)})
    ms = measure_annotation(ann, default_categories())
    out = render_overlay(rgb, ann, default_categories(), ms, max_width=1200)
    assert out.shape == (400, 1200, 3)
    row = out[200, 300:1000].astype(int)  # along the crack, away from its badge
    crack_red = np.array(default_categories().by_id(1).color)
    assert (np.abs(row - 128).sum(1) > 40).mean() > 0.9  # tinted all along
    assert np.abs(row.mean(0) - crack_red).sum() < np.abs(np.array([128, 128, 128]) - crack_red).sum()


def test_non_ascii_paths_and_names(tmp_path, photo_factory):
    from core.imageio import encode_jpeg

    rgb, ann = photo_factory()
    folder = tmp_path / "Brücke_Nord" / "照片"
    folder.mkdir(parents=True)
    photo = folder / "Riss 1.jpg"
    photo.write_bytes(encode_jpeg(rgb))
    res = write_report([ReportPhoto("Riss 1.jpg", photo, ann)], default_categories(), tmp_path / "Bericht_Ü")
    assert res.problems == []
    assert "Riss 1.jpg" in res.html_path.read_text(encoding="utf-8")
    assert _read_csv(res.csv_path)[0]["photo"] == "Riss 1.jpg"


def test_an_unwritable_destination_is_a_clear_error(tmp_path, photo_factory):
    from core.errors import InspectorError

    rgb, ann = photo_factory()
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(InspectorError) as info:
        write_report([ReportPhoto("a.jpg", rgb, ann)], default_categories(), blocker / "report")
    assert "a_file" in info.value.message()
