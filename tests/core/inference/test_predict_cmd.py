"""``python main.py predict``: COCO panoptic that panopticapi and our evaluator accept, overlays."""
from __future__ import annotations

import json
import math
from pathlib import Path

from PIL import Image

from core.cli import main
from core.commands.predict_cmd import output_names
from core.evaluation import evaluate_files
from core.evaluation.reference import evaluate_with_panopticapi
from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic
from core.idpng import read_ids
from tests.support.models import write_photo


def _dataset(root: Path):
    """Three photos (one a phone photo stored sideways with EXIF orientation 6) with their truth."""
    photos, records = root / "photos", []
    photos.mkdir()
    for k, (w, h) in enumerate([(200, 150), (160, 120), (150, 200)]):
        name = f"site_{k}.jpg"
        rgb, truth = write_photo(root / "tmp.png", 30 + k, (w, h))
        if k == 1:
            exif = Image.Exif()
            exif[0x0112] = 6
            Image.fromarray(rgb).transpose(Image.Transpose.ROTATE_90).save(photos / name, exif=exif, quality=95)
        else:
            Image.fromarray(rgb).save(photos / name, quality=95)
        records.append(PanopticRecord(100 + k, name, w, h, truth))
    from core.categories import default_categories

    write_coco_panoptic(root / "gt.json", root / "gt", records, default_categories())
    return photos, root / "gt.json"


def test_predictions_pass_panopticapi_and_our_evaluator(tmp_path, checkpoint, capsys):
    photos, gt = _dataset(tmp_path)
    (photos / "broken.jpg").write_bytes(b"")
    out = tmp_path / "out"
    code = main(["predict", str(checkpoint), str(photos), "--out", str(out), "--threshold", "0.5",
                 "--ids-from", str(gt), "--threads", "1"])
    printed = capsys.readouterr()
    assert code == 1  # the empty file was skipped and said so
    assert "broken.jpg" in printed.err and "predicted 3 of" in printed.out and "segments:" in printed.out
    data = json.loads((out / "panoptic_pred.json").read_text())
    assert sorted(img["id"] for img in data["images"]) == [100, 101, 102]
    for img, ann in zip(data["images"], data["annotations"]):
        ids = read_ids(out / "panoptic_pred" / ann["file_name"])
        assert ids.shape == (img["height"], img["width"])  # the upright frame, full size
        assert all(0.5 < s["score"] <= 1 for s in ann["segments_info"])
        overlay = Image.open(out / "overlays" / (Path(img["file_name"]).stem + ".jpg"))
        assert overlay.size == (img["width"], img["height"])
    reference = evaluate_with_panopticapi(gt, out / "panoptic_pred.json")
    ours = evaluate_files(gt, out / "panoptic_pred.json").pq
    assert reference.num_images == ours.num_images == 3
    for a, b in zip(reference.groups, ours.groups):
        assert (math.isnan(a.pq) and math.isnan(b.pq)) or abs(a.pq - b.pq) < 1e-9
        assert (a.tp, a.fp, a.fn) == (b.tp, b.fp, b.fn)
    assert ours.all.fp + ours.all.tp > 0


def test_same_names_in_different_folders_get_distinct_outputs(tmp_path, checkpoint, capsys):
    for folder in ("north", "south"):
        (tmp_path / folder).mkdir()
        write_photo(tmp_path / folder / "IMG_1.jpg", 5 if folder == "north" else 6)
    out = tmp_path / "out"
    code = main(["predict", str(checkpoint), str(tmp_path / "north" / "IMG_1.jpg"),
                 str(tmp_path / "south" / "IMG_1.jpg"), "--out", str(out), "--no-overlays", "--threshold", "0.3"])
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "panoptic_pred.json").read_text())
    assert [a["file_name"] for a in data["annotations"]] == ["IMG_1.png", "IMG_1_2.png"]
    assert not (out / "overlays").exists()
    assert output_names([Path("a/x.jpg"), Path("b/X.png"), Path("c/x_2.jpg")]) == ["x.jpg", "X_2.png", "x_2_2.jpg"]


def test_nothing_to_predict_is_an_error(tmp_path, checkpoint, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["predict", str(checkpoint), str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 1
    assert "no photos" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "missing.pt"), str(tmp_path), "--out", str(tmp_path / "o")]) == 1


def test_thin_refinement_changes_only_thin_pixels_and_can_be_turned_off(tmp_path, checkpoint, capsys):
    import numpy as np

    photos, gt = _dataset(tmp_path)
    outs = {}
    for flag in ("--thin-refine", "--no-thin-refine"):
        out = tmp_path / flag.strip("-")
        assert main(["predict", str(checkpoint), str(photos), "--out", str(out), "--ids-from", str(gt),
                     "--threads", "1", "--no-overlays", flag]) == 0
        data = json.loads((out / "panoptic_pred.json").read_text())
        outs[flag] = {a["image_id"]: (read_ids(out / "panoptic_pred" / a["file_name"]), a["segments_info"])
                      for a in data["annotations"]}
    capsys.readouterr()
    from core.categories import default_categories
    from core.measure.roles import is_thin

    thin = [c.id for c in default_categories() if is_thin(c)]  # crack and exposed rebar
    total_changed = 0
    for image_id, (refined, infos) in outs["--thin-refine"].items():
        coarse, coarse_infos = outs["--no-thin-refine"][image_id]
        assert refined.shape == coarse.shape  # the same upright frame (one photo has EXIF orientation 6)

        def crack_pixels(ids, segments):
            return np.isin(ids, [s["id"] for s in segments if s["category_id"] in thin])

        changed = refined != coarse
        assert not (changed & ~crack_pixels(refined, infos) & ~crack_pixels(coarse, coarse_infos)).any()
        assert crack_pixels(refined, infos).sum() <= crack_pixels(coarse, coarse_infos).sum() + changed.sum()
        total_changed += int(changed.sum())
    assert total_changed > 0  # the photos' cracks were redrawn
    assert evaluate_files(gt, tmp_path / "thin-refine" / "panoptic_pred.json").pq.num_images == 3
