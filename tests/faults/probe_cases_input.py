"""Probe cases: malformed input files and options, and the one error path of the parser."""
from __future__ import annotations

import base64
import json
import os

import numpy as np
from PIL import Image

from tests.faults.probe_world import World, case, fails_cleanly, no_traceback, png_claiming, run_cli, succeeds


# --- input checks ------------------------------------------------------------------------------------
def _import_truncated_photo(w: World, *dest) -> str | None:
    """Import with one photo cut in half, into ``dest`` (a project or an output folder)."""
    data = (w.ds.photos / "p1.jpg").read_bytes()
    (w.ds.photos / "p1.jpg").write_bytes(data[: len(data) // 2])
    o = run_cli(*w.ds.import_args(*dest, "--strict"))
    return no_traceback(o) or (None if o.code == 1 and "truncated" in o.out else "not reported")


@case
def truncated_photo(w: World):
    return _import_truncated_photo(w, "--project", w.root / "p.pinspect")


@case
def truncated_photo_out(w: World):
    return _import_truncated_photo(w, "--out", w.root / "o")


@case
def fifo_in_photos(w: World):
    os.mkfifo(w.ds.photos / "pipe.jpg")
    return succeeds(run_cli(*w.ds.import_args("--project", w.root / "p.pinspect")), "FIFO")


@case
def fifo_labelme(w: World):
    (w.root / "lm").mkdir()
    os.mkfifo(w.root / "lm" / "a.json")
    return fails_cleanly(run_cli("import", "labelme", w.root / "lm", "--project", w.root / "p.pinspect"), "FIFO")


@case
def fifo_predict(w: World):
    os.mkfifo(w.ds.photos / "pipe.jpg")
    o = run_cli("predict", w.checkpoint(), w.ds.photos, "--out", w.root / "o", "--no-overlays")
    return no_traceback(o) or (None if o.code == 1 and "FIFO" in o.err else "not reported")


@case
def symlink_loop(w: World):
    (w.ds.photos / "loop.jpg").symlink_to("loop.jpg")
    (w.ds.photos / "up").symlink_to("..")
    return succeeds(run_cli(*w.ds.import_args("--project", w.root / "p.pinspect")), "loop")


@case
def id_png_bomb(w: World):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(w.root / "a.jpg")
    (w.root / "pan").mkdir()
    (w.root / "pan" / "a.png").write_bytes(png_claiming(12000, 12000))
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 30}],
            "annotations": [{"image_id": 1, "file_name": "a.png", "segments_info": []}],
            "categories": [{"id": 1, "name": "crack", "isthing": 1}]}
    (w.root / "pan.json").write_text(json.dumps(data))
    o = run_cli("import", "coco-panoptic", w.root / "pan.json", "--images", w.root, "--project", w.root / "p.pinspect")
    return fails_cleanly(o, "12000x12000")


@case
def labelme_bomb_keeps_photo(w: World):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(w.root / "a.jpg")
    doc = {"shapes": [{"label": "crack", "shape_type": "polygon", "points": [[2, 2], [20, 2], [20, 10]]}],
           "imagePath": "a.jpg", "imageData": base64.b64encode(png_claiming(30000, 30000)).decode()}
    (w.root / "a.json").write_text(json.dumps(doc))
    return succeeds(run_cli("import", "labelme", w.root / "a.json", "--project", w.root / "p.pinspect"), "imageData")


@case
def photo_bomb(w: World):
    (w.ds.photos / "p1.jpg").unlink()
    (w.ds.photos / "p1.png").write_bytes(png_claiming(20000, 20000))
    o = run_cli(*w.ds.import_args("--project", w.root / "p.pinspect", "--strict"))
    return no_traceback(o) or (None if o.code == 1 and "above the limit" in o.out else "not reported")


@case
def text_file_named_jpg(w: World):
    (w.ds.photos / "p1.jpg").write_text("hello")
    o = run_cli(*w.ds.import_args("--project", w.root / "p.pinspect", "--strict"))
    return no_traceback(o) or (None if o.code == 1 and "p1.jpg" in o.out else "not reported")


@case
def zero_byte_photo_predict(w: World):
    (w.ds.photos / "p1.jpg").write_bytes(b"")
    o = run_cli("predict", w.checkpoint(), w.ds.photos, "--out", w.root / "o", "--no-overlays")
    return no_traceback(o) or (None if o.code == 1 and (w.root / "o" / "panoptic_pred.json").exists() else
                               "batch lost")


# --- the parser and the one error path ------------------------------------------------------------------
@case
def export_split_too_big(w: World):
    return fails_cleanly(run_cli("export", w.project, "--out", w.root / "o", "--split", "1.5"), "split")


@case
def export_split_nan(w: World):
    return fails_cleanly(run_cli("export", w.project, "--out", w.root / "o", "--split", "nan"), "split")


@case
def import_split_negative(w: World):
    return fails_cleanly(run_cli(*w.ds.import_args("--out", w.root / "o", "--split", "-0.2")), "split")


@case
def min_area_negative(w: World):
    return fails_cleanly(run_cli(*w.ds.import_args("--project", w.root / "p.pinspect", "--min-area", "-1")),
                         "min-area")


@case
def image_id_is_a_list(w: World):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(w.root / "c.jpg")
    coco = w.coco([{"id": [1], "file_name": "c.jpg", "width": 40, "height": 30}], [])
    return fails_cleanly(run_cli("import", "coco", coco, "--images", w.root, "--project", w.root / "p.pinspect"))


@case
def width_is_text(w: World):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(w.root / "c.jpg")
    coco = w.coco([{"id": 1, "file_name": "c.jpg", "width": "abc", "height": 30}],
                  [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9]], "area": 32,
                    "bbox": [1, 1, 8, 8], "iscrowd": 0}])
    o = run_cli("import", "coco", coco, "--images", w.root, "--project", w.root / "p.pinspect", "--strict")
    return no_traceback(o) or (None if o.code != 0 else "accepted")


@case
def coco_json_is_a_list(w: World):
    (w.root / "c.json").write_text("[1, 2]")
    return fails_cleanly(run_cli("import", "coco", w.root / "c.json", "--project", w.root / "p.pinspect"))


@case
def coco_json_is_garbage(w: World):
    (w.root / "c.json").write_bytes(os.urandom(300))
    return fails_cleanly(run_cli("import", "coco", w.root / "c.json", "--project", w.root / "p.pinspect"))


@case
def panoptic_missing_png_folder(w: World):
    data = {"images": [{"id": 1, "file_name": "p0.jpg", "width": 40, "height": 30}],
            "annotations": [{"image_id": 1, "file_name": "p0.png", "segments_info": []}],
            "categories": [{"id": 1, "name": "crack", "isthing": 1}]}
    (w.root / "pan.json").write_text(json.dumps(data))
    o = run_cli("import", "coco-panoptic", w.root / "pan.json", "--images", w.ds.photos,
                "--project", w.root / "p.pinspect")
    return fails_cleanly(o)


@case
def random_file_as_checkpoint(w: World):
    (w.root / "r.pt").write_bytes(os.urandom(2000))
    o = run_cli("predict", w.root / "r.pt", w.ds.photos, "--out", w.root / "o")
    bad = fails_cleanly(o)
    return bad or ("says pickled code" if "pickled" in o.err else None)


@case
def empty_checkpoint(w: World):
    (w.root / "e.pt").write_bytes(b"")
    return fails_cleanly(run_cli("predict", w.root / "e.pt", w.ds.photos, "--out", w.root / "o"))


@case
def missing_project_train(w: World):
    o = run_cli("train", w.root / "missing.pinspect", "--out", w.root / "r")
    bad = fails_cleanly(o)
    return bad or ("says no COCO JSON" if "COCO panoptic JSON" in o.err else None)


@case
def missing_project_export(w: World):
    return fails_cleanly(run_cli("export", w.root / "missing.pinspect", "--out", w.root / "o"))


@case
def missing_source_import(w: World):
    return fails_cleanly(run_cli("import", "labelme", w.root / "nothing", "--project", w.root / "p.pinspect"))


@case
def export_out_is_a_file(w: World):
    (w.root / "f").write_text("x")
    bad = fails_cleanly(run_cli("export", w.project, "--out", w.root / "f"))
    return bad or (None if (w.root / "f").read_text() == "x" else "file replaced")


@case
def bad_classes_option(w: World):
    return fails_cleanly(run_cli(*w.ds.import_args("--project", w.root / "p.pinspect", "--classes", "a=b=c")))


@case
def report_path_is_a_folder(w: World):
    (w.root / "rep").mkdir()
    o = run_cli(*w.ds.import_args("--project", w.root / "p.pinspect", "--report", w.root / "rep"))
    return no_traceback(o) or (None if o.code != 0 else "exit 0 without the report")


@case
def train_epochs_zero(w: World):
    return fails_cleanly(run_cli("train", w.project, "--out", w.root / "r", "--epochs", "0"))


@case
def train_lr_nan(w: World):
    return fails_cleanly(run_cli("train", w.project, "--out", w.root / "r", "--lr", "nan"))


@case
def train_resume_missing(w: World):
    return fails_cleanly(run_cli("train", w.project, "--resume", w.root / "nothing"))


@case
def predict_threshold_out_of_range(w: World):
    return fails_cleanly(run_cli("predict", w.checkpoint(), w.ds.photos, "--out", w.root / "o", "--threshold", "1.5"))


@case
def evaluate_missing_files(w: World):
    return fails_cleanly(run_cli("evaluate", "--gt", w.root / "a.json", "--pred", w.root / "b.json"))


@case
def project_that_is_not_sqlite(w: World):
    (w.root / "fake.pinspect").write_text("not a database")
    o = run_cli(*w.ds.import_args("--project", w.root / "fake.pinspect"))
    bad = fails_cleanly(o)
    return bad or (None if (w.root / "fake.pinspect").read_text() == "not a database" else "file overwritten")


@case
def headless_training_registers_run(w: World):
    o = run_cli("train", w.project, "--preset", "tiny", "--epochs", "1", "--eval-every", "0", "--max-minutes", "0.2",
                cwd=w.root, timeout=300)
    bad = succeeds(o)
    if bad:
        return bad
    if (w.root / "runs").exists():
        return "wrote ./runs in the current folder"
    from core.project import Project

    with Project.open(w.project, read_only=True) as p:
        return None if p.models.list() else "run not registered in the project"


