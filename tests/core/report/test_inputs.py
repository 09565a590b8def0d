"""Report inputs from a COCO panoptic dataset and from a project, and the ``report`` command."""
import csv

import pytest

from core.calibration import Calibration
from core.categories import default_categories
from core.cli import main as cli_main
from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic
from core.imageio import encode_jpeg
from core.report import write_report
from core.report.coco import report_from_coco


def _rows(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def dataset(tmp_path, photo_factory):
    """Two photos in the synthetic generator's layout: images/, panoptic.json, panoptic/."""
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    records = []
    for k in (1, 2):
        rgb, ann = photo_factory(seed=k)
        (root / "images" / f"p{k}.jpg").write_bytes(encode_jpeg(rgb))
        records.append(PanopticRecord(k, f"p{k}.jpg", rgb.shape[1], rgb.shape[0], ann))
    write_coco_panoptic(root / "panoptic.json", root / "panoptic", records, default_categories())
    return root


def test_a_coco_dataset_folder_gives_lazy_photos(dataset, tmp_path):
    photos, cats, info = report_from_coco(dataset)
    assert [p.name for p in photos] == ["p1.jpg", "p2.jpg"] and cats == default_categories()
    assert all(p.image is not None and callable(p.annotation) for p in photos)
    res = write_report(photos, cats, tmp_path / "out", info)
    assert res.problems == [] and len(_rows(res.csv_path)) == 6


def test_report_command_on_a_dataset_with_a_scale(dataset, tmp_path, capsys):
    out = tmp_path / "report"
    assert cli_main(["report", str(dataset / "panoptic.json"), "--out", str(out), "--mm-per-pixel", "0.5"]) == 0
    rows = _rows(out / "segments.csv")
    crack = next(r for r in rows if r["category"] == "crack")
    assert crack["unit"] == "mm" and float(crack["length"]) == pytest.approx(100, abs=0.5)
    assert "wrote" in capsys.readouterr().out
    assert (out / "report.html").stat().st_size > 1000


def test_report_command_errors_are_one_line(tmp_path, capsys):
    assert cli_main(["report", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err


def test_report_of_a_project_uses_its_calibration_and_predictions(tmp_path, photo_factory):
    from core import project as project_mod
    from core.report.project import report_from_project

    path = tmp_path / "bridge.pinspect"
    files = []
    for k in (1, 2):
        rgb, _ = photo_factory(seed=k)
        f = tmp_path / f"photo{k}.jpg"
        f.write_bytes(encode_jpeg(rgb))
        files.append(f)
    with project_mod.Project.create(path, name="Bridge A12") as project:
        added = project.images.add_files(files).added
        ids = {r.name: r.id for r in added}
        _, ann = photo_factory()
        project.annotations.save(ids["photo1.jpg"], ann)
        project.calibration.set(ids["photo1.jpg"], Calibration(0.25, "line", {"length": 50}))
        model_id = project.models.add("detr test", checkpoint=None, config={"name": "detr_r18"},
                                      categories=default_categories())
        _, pred = photo_factory(score=0.8)
        project.predictions.save(ids["photo2.jpg"], model_id, b"", {"threshold": 0.5}, pred)

        photos, cats, info = report_from_project(project, min_score=0.5)
        assert [(p.name, p.source) for p in photos] == [("photo1.jpg", "annotation"), ("photo2.jpg", "prediction")]
        assert photos[0].calibration.mm_per_pixel == 0.25 and photos[1].calibration is None
        assert info.project == "Bridge A12" and "detr test" in info.model
        only_annotations, _, info2 = report_from_project(project, source="annotation")
        assert [(p.name, p.source) for p in only_annotations] == [("photo1.jpg", "annotation"),
                                                                  ("photo2.jpg", "none")]
        assert only_annotations[1].no_figures.startswith("Not annotated") and info2.model is None

    out = tmp_path / "report"
    assert cli_main(["report", str(path), "--out", str(out), "--threshold", "0.5"]) == 0
    rows = _rows(out / "segments.csv")
    assert {(r["photo"], r["source"], r["unit"]) for r in rows} == {("photo1.jpg", "annotation", "mm"),
                                                                     ("photo2.jpg", "prediction", "px")}
