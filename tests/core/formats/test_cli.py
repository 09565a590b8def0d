"""``main.py import`` / ``main.py export``: summaries, exit codes, one-line errors."""
import json

from core.cli import main


def _dataset(make):
    for rel in ("Brücke_Nord/Riss 1", "ok"):
        make.photo(f"photos/{rel}.jpg")
        make.mask(f"masks/{rel}.png", make.defect())
    make.photo("photos/lonely.jpg")


def test_import_masks_into_a_project_then_export_with_a_split(make, tmp_path, capsys):
    _dataset(make)
    project = tmp_path / "p.pinspect"
    rc = main(["import", "masks", str(make.root / "photos"), "--masks", str(make.root / "masks"),
               "--classes", "1=crack,2=spalling,5=background", "--fill", "concrete", "--project", str(project),
               "--report", str(tmp_path / "report.json")])
    out = capsys.readouterr()
    assert rc == 0
    assert "images: 2" in out.out and "crack: 4" in out.out and "lonely.jpg: no mask found" in out.out
    assert "import masks" in out.err                          # the progress bar
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["segments"]["crack"] == 4 and len(report["skipped"]) == 1
    rc = main(["export", str(project), "--format", "coco-panoptic", "--out", str(tmp_path / "out"), "--split", "0.5"])
    out = capsys.readouterr()
    assert rc == 0 and "train: 1 images" in out.out and "val: 1 images" in out.out
    assert (tmp_path / "out" / "panoptic_train.json").is_file()
    rc = main(["export", str(project), "--out", str(tmp_path / "out")])
    assert rc == 1 and "not empty" in capsys.readouterr().err


def test_import_converts_to_coco_panoptic_and_strict_fails_on_skips(make, tmp_path, capsys):
    _dataset(make)
    args = ["import", "masks", str(make.root / "photos"), "--masks", str(make.root / "masks"),
            "--out", str(tmp_path / "out")]
    assert main(args) == 0
    data = json.loads((tmp_path / "out" / "panoptic_all.json").read_text(encoding="utf-8"))
    assert len(data["images"]) == 2
    capsys.readouterr()
    assert main(args + ["--overwrite", "--strict"]) == 1
    rc = main(["export", str(tmp_path / "out" / "panoptic_all.json"), "--format", "semantic",
               "--out", str(tmp_path / "sem")])
    assert rc == 0 and (tmp_path / "sem" / "classes.json").is_file()


def test_bad_input_gives_one_line_and_non_zero(tmp_path, capsys):
    (tmp_path / "x.json").write_text("{}")
    rc = main(["import", "coco", str(tmp_path / "x.json"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and "missing the key 'images'" in err
    assert main(["import", "masks", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
