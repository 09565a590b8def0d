"""Finding a dataset's format from its files: the window's drop and ``main.py import auto``."""
import json

from core.cli import main
from core.formats.detect import (COCO_INSTANCES, COCO_PANOPTIC, LABELME, MASK_FOLDER, classify, detect_dataset)


def _mask_dataset(make, folder="site"):
    for name in ("a", "b"):
        make.photo(f"{folder}/{name}.jpg")
        make.mask(f"{folder}/masks/{name}.png", make.defect())
    return make.root / folder


def test_each_kind_is_found_by_its_content_not_its_name(make, tmp_path):
    panoptic = tmp_path / "x.json"
    panoptic.write_text(json.dumps({"images": [], "annotations": [{"segments_info": []}], "categories": []}))
    instances = tmp_path / "y.json"
    instances.write_text(json.dumps({"images": [], "annotations": [{"bbox": [0, 0, 1, 1]}], "categories": []}))
    labelme = tmp_path / "z.json"
    labelme.write_text(json.dumps({"shapes": [], "imagePath": "z.jpg"}))
    other = tmp_path / "notes.json"
    other.write_text(json.dumps({"hello": 1}))
    assert detect_dataset(panoptic).kind == COCO_PANOPTIC and detect_dataset(instances).kind == COCO_INSTANCES
    assert detect_dataset(labelme).kind == LABELME and detect_dataset(other) is None
    found = detect_dataset(_mask_dataset(make))
    assert found.kind == MASK_FOLDER and found.masks == make.root / "site" / "masks"
    drop = classify([panoptic, other, make.root / "site", make.photo("loose.jpg"), make.root / "site" / "masks"])
    assert [d.kind for d in drop.datasets] == [COCO_PANOPTIC, MASK_FOLDER]
    assert drop.unsupported == [other] and drop.photos == [make.root / "loose.jpg", make.root / "site" / "masks"]


def test_import_auto_reads_what_it_finds_and_says_so(make, tmp_path, capsys):
    project = tmp_path / "p.pinspect"
    rc = main(["import", "auto", str(_mask_dataset(make)), "--classes", "1=crack,2=spalling,5=background",
               "--project", str(project)])
    out = capsys.readouterr().out
    assert rc == 0 and "found photos with mask images" in out and "images: 2" in out and "crack: 4" in out


def test_import_auto_names_the_formats_when_it_finds_none(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    rc = main(["import", "auto", str(tmp_path / "empty"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 1 and "no dataset found" in err and "coco-panoptic" in err
    assert not (tmp_path / "out").exists()
