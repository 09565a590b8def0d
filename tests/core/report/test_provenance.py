"""A report names the model behind its figures and that model's evaluation on the project, says
"no defects" only when the figures can show an absence, and lists every photo of its scope."""
from __future__ import annotations

import re

import numpy as np
import pytest

from core.categories import default_categories
from core.imageio import encode_jpeg
from core.panoptic import PanopticAnnotation, Segment
from core.project import Project
from core.report import write_report
from core.report.project import report_from_project

NO_DEFECTS = "No defects on this photo."


def _empty_prediction(h: int, w: int) -> PanopticAnnotation:
    """What an untrained model gives: concrete everywhere, not one defect."""
    return PanopticAnnotation(np.ones((h, w), np.int32), {1: Segment(1, 4, source="model", score=0.9)})


@pytest.fixture
def six_photos(tmp_path, photo_factory):
    """Six photos: 1-2 annotated (with defects), 3-4 predicted by a model (no defect found),
    5-6 neither. Returns ``(path, model_id, {name: image id})``."""
    files = []
    for k in range(1, 7):
        rgb, _ = photo_factory(seed=k)
        f = tmp_path / f"photo{k}.jpg"
        f.write_bytes(encode_jpeg(rgb))
        files.append(f)
    path = tmp_path / "bridge.pinspect"
    with Project.create(path, name="Bridge A12") as project:
        ids = {r.name: r.id for r in project.images.add_files(files).added}
        _, ann = photo_factory()
        for name in ("photo1.jpg", "photo2.jpg"):
            project.annotations.save(ids[name], ann)
        model_id = project.models.add("quick run", checkpoint=None, config={"name": "cpu_fast"},
                                      categories=default_categories())
        for name in ("photo3.jpg", "photo4.jpg"):
            project.predictions.save(ids[name], model_id, b"", {"threshold": 0.5}, _empty_prediction(240, 320))
    return path, model_id, ids


def _sections(html: str) -> dict[str, str]:
    """``{photo name: its section's HTML}``."""
    out = {}
    for m in re.finditer(r'<section class="photo"[^>]*>\n<h2>\d+\. ([^<]+)</h2>(.*?)</section>', html, re.S):
        out[m.group(1)] = m.group(2)
    return out


def _report(path, tmp_path, **kw) -> str:
    with Project.open(path, read_only=True) as project:
        photos, cats, info = report_from_project(project, **kw)
        result = write_report(photos, cats, tmp_path / "out", info)
    return result.html_path.read_text(encoding="utf-8")


def _log_training_validation(path, model_id: int, pq: float, images: int) -> None:
    with Project.open(path) as project:
        project.models.log_metrics(model_id, 1, {"val/PQ": pq, "val/images": images})


def test_every_photo_of_the_scope_appears_and_says_why_it_has_no_figures(six_photos, tmp_path):
    path, _, _ = six_photos
    sections = _sections(_report(path, tmp_path))
    assert sorted(sections) == [f"photo{k}.jpg" for k in range(1, 7)]
    for name in ("photo5.jpg", "photo6.jpg"):
        assert "not annotated" in sections[name].lower() and "not predicted" in sections[name]
        assert NO_DEFECTS not in sections[name]
    with Project.open(path, read_only=True) as project:
        photos, _, _ = report_from_project(project, source="annotation")
        assert len(photos) == 6  # the scope is every photo; four of them are not annotated
        some = [project.images.list()[k].id for k in (0, 4)]
        assert [p.name for p in report_from_project(project, image_ids=some)[0]] == ["photo1.jpg", "photo5.jpg"]


def test_a_model_never_evaluated_on_the_project_cannot_say_no_defects(six_photos, tmp_path):
    path, _, _ = six_photos
    html = _report(path, tmp_path)
    assert "quick run" in html and "not evaluated" in html
    sections = _sections(html)
    for name in ("photo3.jpg", "photo4.jpg"):
        assert NO_DEFECTS not in sections[name]
        assert "never evaluated" in sections[name]
    assert NO_DEFECTS not in sections["photo1.jpg"]  # annotated with defects: its table instead


def test_a_model_that_learnt_nothing_cannot_say_no_defects(six_photos, tmp_path):
    path, model_id, _ = six_photos
    _log_training_validation(path, model_id, pq=0.0, images=8)  # a cancelled run's validation
    html = _report(path, tmp_path)
    assert "PQ 0.0 on 8 validation photos" in html
    section = _sections(html)["photo3.jpg"]
    assert NO_DEFECTS not in section and "below 10" in section


def test_a_model_evaluated_on_too_few_photos_cannot_say_no_defects(six_photos, tmp_path):
    path, model_id, _ = six_photos
    _log_training_validation(path, model_id, pq=62.0, images=3)
    section = _sections(_report(path, tmp_path))["photo3.jpg"]
    assert NO_DEFECTS not in section and "only 3" in section


def test_a_model_that_passed_its_evaluation_may_say_no_defects(six_photos, tmp_path):
    path, model_id, _ = six_photos
    _log_training_validation(path, model_id, pq=42.0, images=12)
    html = _report(path, tmp_path)
    assert "PQ 42.0 on 12 validation photos" in html
    assert NO_DEFECTS in _sections(html)["photo3.jpg"]


def test_a_report_with_no_figures_at_all_is_refused_by_the_command(tmp_path, photo_factory, capsys):
    from core.cli import main as cli_main

    rgb, _ = photo_factory(seed=1)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(encode_jpeg(rgb))
    with Project.create(tmp_path / "empty.pinspect") as project:
        project.images.add_files([tmp_path / "photos" / "a.jpg"])
    assert cli_main(["report", str(tmp_path / "empty.pinspect"), "--out", str(tmp_path / "r")]) == 1
    assert "nothing to report" in capsys.readouterr().err


def _pdf_text(path, tmp_path, **kw) -> str:
    import pypdfium2 as pdfium

    from core.report.pdf_report import write_pdf

    with Project.open(path, read_only=True) as project:
        photos, cats, info = report_from_project(project, **kw)
        write_pdf(photos, cats, tmp_path / "report.pdf", info)
    pdf = pdfium.PdfDocument(str(tmp_path / "report.pdf"))
    try:
        return " ".join(" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf)))
    finally:
        pdf.close()


def test_the_pdf_follows_the_same_rules(six_photos, tmp_path):
    path, model_id, _ = six_photos
    text = _pdf_text(path, tmp_path)
    assert "not evaluated" in text and "never evaluated" in text
    assert text.count("Not annotated and not predicted") == 2
    assert NO_DEFECTS not in text  # two empty predictions of an unevaluated model, and nothing else empty
    _log_training_validation(path, model_id, pq=42.0, images=12)
    text = _pdf_text(path, tmp_path)
    assert "PQ 42.0 on 12 validation photos" in text and text.count(NO_DEFECTS) == 2
