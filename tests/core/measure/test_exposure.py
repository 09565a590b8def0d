"""Crack widths against the project's tolerable width: ACI 224R guidance or the project's own limit."""
import numpy as np
import pytest

from core.categories import default_categories
from core.measure import calibration_from_gsd, format_measurement, measure_annotation
from core.measure.exposure import (ABOVE, ACI_224R_TABLE_4_1, BELOW, NEAR, WIDTH_LIMIT_SETTING, compare,
                                   custom_limit, from_setting, project_width_limit, set_project_width_limit,
                                   to_setting)
from core.panoptic import PanopticAnnotation, Segment
from core.project import Project
from core.report import ReportPhoto, write_report
from core.report.project import report_from_project
from core.synthetic.thin_crack import render_crack


def test_the_guide_values_and_their_source():
    assert [(p.label, p.limit_mm) for p in ACI_224R_TABLE_4_1] == [
        ("Dry air or protective membrane", 0.41), ("Humidity, moist air, soil", 0.30),
        ("De-icing chemicals", 0.18), ("Seawater and seawater spray, wetting and drying", 0.15),
        ("Water-retaining structures", 0.10)]
    assert all(p.guidance and p.source == "ACI 224R-01, Table 4.1" for p in ACI_224R_TABLE_4_1)
    assert "guidance, not an acceptance limit" in ACI_224R_TABLE_4_1[2].describe()
    own = custom_limit(0.2, "XC3 w_max", "EN 1992-1-1 Table 7.1N")
    assert not own.guidance and own.describe() == "0.20 mm – XC3 w_max (EN 1992-1-1 Table 7.1N; project limit)"
    for bad in (0, -0.1, float("nan")):
        with pytest.raises(ValueError):
            custom_limit(bad)


def test_settings_round_trip_and_damaged_values_read_as_none():
    for limit in (*ACI_224R_TABLE_4_1, custom_limit(0.25, "client", "spec 4.2"), None):
        assert from_setting(to_setting(limit)) == limit
    for damaged in ("0.3", {"key": "custom", "limit_mm": "wide"}, {"key": "custom"}, 7, []):
        assert from_setting(damaged) is None


def test_compare_uses_the_width_spread():
    limit = ACI_224R_TABLE_4_1[1]  # 0.30 mm
    assert compare(0.20, 0.04, limit) == BELOW
    assert compare(0.29, 0.04, limit) == NEAR  # the limit lies within half the IQR of the width
    assert compare(0.40, 0.04, limit) == ABOVE
    assert compare(None, None, limit) is None and compare(0.4, 0.0, None) is None


def test_project_keeps_its_limit(tmp_path):
    with Project.create(tmp_path / "p.pinspect") as project:
        assert project_width_limit(project) is None
        set_project_width_limit(project, ACI_224R_TABLE_4_1[2])
    with Project.open(tmp_path / "p.pinspect") as project:
        assert project_width_limit(project) == ACI_224R_TABLE_4_1[2]
        project.set_setting(WIDTH_LIMIT_SETTING, {"key": "nonsense"})
        assert project_width_limit(project) is None  # never stops measuring


@pytest.fixture(scope="module")
def crack_photo():
    a = render_crack(2.0, blur_sigma=0.5, noise_sigma=2.0, contrast=60.0, seed=3)  # 0.30 mm at 0.15 mm/px
    b = render_crack(6.0, blur_sigma=0.5, noise_sigma=2.0, contrast=60.0, angle_deg=-60, seed=4)  # 0.90 mm
    gray = np.hstack([a.image, b.image])
    ids = np.full(gray.shape, 9, np.int32)
    ids[np.hstack([a.mask(), np.zeros_like(b.mask())])] = 1
    ids[np.hstack([np.zeros_like(a.mask()), b.mask()])] = 2
    return np.repeat(gray[..., None], 3, 2), PanopticAnnotation(ids, {1: Segment(1, 1), 2: Segment(2, 1),
                                                                     9: Segment(9, 4)})


def test_tooltip_and_report_show_each_crack_against_the_limit(tmp_path, crack_photo):
    rgb, ann = crack_photo
    limit = ACI_224R_TABLE_4_1[2]  # 0.18 mm
    ms = {m.segment_id: m for m in measure_annotation(ann, default_categories(), calibration_from_gsd(0.15),
                                                      image=rgb)}
    assert "above 0.18 mm tolerable: 0.18 mm – De-icing chemicals (ACI 224R-01, Table 4.1; guidance" in \
        format_measurement(ms[2], limit)
    px = measure_annotation(ann, default_categories(), image=rgb)[0]
    assert "not compared with 0.18 mm: the photo has no scale" in format_measurement(px, limit)

    from core.report import ReportInfo

    res = write_report([ReportPhoto("wall.png", rgb, ann, calibration_from_gsd(0.15))], default_categories(),
                       tmp_path / "r", ReportInfo(width_limit=custom_limit(0.5, "client", "spec 4.2")))
    html = res.html_path.read_text(encoding="utf-8")
    assert "<th>Crack width limit</th><td>0.50 mm – client (spec 4.2; project limit)</td>" in html
    assert "<th class=\"text\">vs limit</th>" in html
    assert "<b>above 0.50 mm</b>" in html and ">below 0.50 mm<" in html


def test_report_from_a_project_carries_its_limit(tmp_path):
    with Project.create(tmp_path / "p.pinspect") as project:
        set_project_width_limit(project, ACI_224R_TABLE_4_1[0])
        _photos, _cats, info = report_from_project(project)
    assert info.width_limit == ACI_224R_TABLE_4_1[0]
