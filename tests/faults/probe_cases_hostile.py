"""Probe cases: more hostile input (moved photos, odd paths, special files, interrupted runs)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
from PIL import Image

from tests.faults.helpers import snapshot
from tests.faults.probe_world import ROOT, World, case, fails_cleanly, no_traceback, run_cli, succeeds


# --- more hostile input ---------------------------------------------------------------------------------
@case
def export_with_a_moved_photo(w: World):
    w.ensure_project()
    (w.ds.photos / "p1.jpg").rename(w.root / "moved.jpg")
    o = run_cli("export", w.project, "--out", w.root / "o")
    bad = fails_cleanly(o, "p1.jpg")
    return bad or (None if not (w.root / "o").exists() else "an incomplete export looks complete")


@case
def non_ascii_paths(w: World):
    folder = w.root / "Brücke_Nord" / "写真"
    folder.mkdir(parents=True)
    for p in w.ds.photos.iterdir():
        shutil.copyfile(p, folder / ("Riss " + p.name[1:]))
    masks = w.root / "Masken"
    masks.mkdir()
    for p in w.ds.masks.iterdir():
        shutil.copyfile(p, masks / ("Riss " + p.name[1:]))
    proj = w.root / "Brücke.pinspect"
    bad = succeeds(run_cli("import", "masks", folder, "--masks", masks, "--project", proj), "3 annotations saved")
    return bad or succeeds(run_cli("export", proj, "--out", w.root / "Export ü"), "3 images")


@case
def photos_and_masks_same_folder(w: World):
    return fails_cleanly(run_cli("import", "masks", w.ds.photos, "--masks", w.ds.photos,
                                 "--project", w.root / "p.pinspect"))


@case
def folder_named_like_a_photo(w: World):
    (w.ds.photos / "dir.jpg").mkdir()
    return succeeds(run_cli(*w.ds.import_args("--project", w.root / "p.pinspect")))


@case
def exif_rotated_photo_with_unrotated_mask(w: World):
    img = Image.open(w.ds.photos / "p0.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(w.ds.photos / "p0.jpg", exif=exif.tobytes())
    o = run_cli(*w.ds.import_args("--project", w.root / "p.pinspect", "--strict"))
    return no_traceback(o) or (None if o.code == 1 and "EXIF" in o.out else "no EXIF hint")


@case
def huge_numbers_in_json(w: World):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(w.root / "c.jpg")
    (w.root / "c.json").write_text('{"images": [{"id": 1e400, "file_name": "c.jpg", "width": 1e400, "height": 30}],'
                                   ' "annotations": [], "categories": [{"id": 1, "name": "crack"}]}')
    return fails_cleanly(run_cli("import", "coco", w.root / "c.json", "--images", w.root, "--project",
                                 w.root / "p.pinspect"))


@case
def config_file_garbage(w: World):
    (w.root / "cfg.json").write_text("{not json")
    return fails_cleanly(run_cli("train", w.project, "--out", w.root / "r", "--config", w.root / "cfg.json"))


@case
def config_file_wrong_fields(w: World):
    (w.root / "cfg.json").write_text('{"epochs": "many", "unknown_field": 1}')
    return fails_cleanly(run_cli("train", w.project, "--out", w.root / "r", "--config", w.root / "cfg.json"))


@case
def train_on_a_photo(w: World):
    return fails_cleanly(run_cli("train", w.ds.photos / "p0.jpg", "--out", w.root / "r"))


@case
def train_resume_foreign_checkpoint(w: World):
    (w.root / "r").mkdir()
    (w.root / "r" / "last.pt").write_bytes(os.urandom(500))
    return fails_cleanly(run_cli("train", w.project, "--resume", w.root / "r"))


@case
def checkpoint_is_a_folder(w: World):
    (w.root / "m.pt").mkdir()
    return fails_cleanly(run_cli("predict", w.root / "m.pt", w.ds.photos, "--out", w.root / "o"))


@case
def out_parent_is_a_file(w: World):
    (w.root / "f").write_text("x")
    return fails_cleanly(run_cli("export", w.project, "--out", w.root / "f" / "sub"))


@case
def predict_out_parent_is_a_file(w: World):
    (w.root / "f").write_text("x")
    return fails_cleanly(run_cli("predict", w.checkpoint(), w.ds.photos, "--out", w.root / "f" / "sub"))


@case
def images_option_is_a_file(w: World):
    coco = w.coco([{"id": 1, "file_name": "p0.jpg", "width": 40, "height": 30}], [])
    o = run_cli("import", "coco", coco, "--images", w.ds.photos / "p0.jpg", "--project", w.root / "p.pinspect")
    return fails_cleanly(o)


@case
def project_file_truncated(w: World):
    w.ensure_project()
    data = w.project.read_bytes()
    w.project.write_bytes(data[: len(data) // 3])
    before = w.project.read_bytes()
    o = run_cli(*w.ds.import_args("--project", w.project))
    bad = fails_cleanly(o)
    return bad or (None if w.project.read_bytes() == before else "damaged project overwritten")


@case
def labelme_not_utf8(w: World):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(w.root / "a.jpg")
    (w.root / "a.json").write_bytes('{"shapes": [], "imagePath": "a.jpg", "x": "é"}'.encode("latin-1"))
    return fails_cleanly(run_cli("import", "labelme", w.root / "a.json", "--project", w.root / "p.pinspect"))


@case
def labelme_points_garbage(w: World):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(w.root / "a.jpg")
    doc = {"shapes": [{"label": "crack", "shape_type": "polygon", "points": [["a", None], [1e309, 2], [3]]},
                      {"label": 5, "points": "x"}, "not a shape"], "imagePath": "a.jpg"}
    (w.root / "a.json").write_text(json.dumps(doc))
    o = run_cli("import", "labelme", w.root / "a.json", "--project", w.root / "p.pinspect", "--strict")
    return no_traceback(o) or (None if o.code == 1 else "accepted")


@case
def evaluate_categories_differ_by_name(w: World):
    from core.categories import default_categories
    from core.panoptic import PanopticAnnotation, Segment
    try:
        from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic
    except ImportError:
        from core.panoptic import PanopticRecord, write_coco_panoptic

    cats = default_categories()
    ids = np.zeros((30, 40), np.int32)
    ids[5:10, 5:20] = 1
    thing = next(c for c in cats if c.isthing)
    ann = PanopticAnnotation(ids, {1: Segment(1, thing.id)})
    write_coco_panoptic(w.root / "gt.json", w.root / "gt", [PanopticRecord(1, "a.jpg", 40, 30, ann)], cats)
    renamed = cats.to_json()
    for c in renamed:
        if c["id"] == thing.id:
            c["name"] = "graffiti"
    data = json.loads((w.root / "gt.json").read_text())
    data["categories"] = renamed
    shutil.copytree(w.root / "gt", w.root / "pred")
    (w.root / "pred.json").write_text(json.dumps(data))
    return fails_cleanly(run_cli("evaluate", "--gt", w.root / "gt.json", "--pred", w.root / "pred.json"), "graffiti")


@case
def synth_negative_count(w: World):
    return fails_cleanly(run_cli("synth", w.root / "s", "--n", "-1"))


@case
def report_missing_project(w: World):
    return fails_cleanly(run_cli("report", w.root / "missing.pinspect", "--out", w.root / "r"))


@case
def info_on_garbage(w: World):
    (w.root / "g.pinspect").write_bytes(os.urandom(100))
    return no_traceback(run_cli("info", w.root / "g.pinspect"))


@case
def predict_ids_from_garbage(w: World):
    (w.root / "ids.json").write_text("[]")
    return fails_cleanly(run_cli("predict", w.checkpoint(), w.ds.photos, "--out", w.root / "o", "--ids-from",
                                 w.root / "ids.json"))


@case
def import_into_project_open_elsewhere(w: World):
    from core.project import Project

    w.ensure_project()
    with Project.open(w.project):
        o = run_cli(*w.ds.import_args("--project", w.project))
    return fails_cleanly(o, "read-only")


@case
def coco_duplicate_ids(w: World):
    coco = w.coco([{"id": 1, "file_name": "p0.jpg", "width": 40, "height": 30},
                   {"id": 1, "file_name": "p1.jpg", "width": 40, "height": 30}],
                  [{"id": 0, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9]], "iscrowd": 0}])
    o = run_cli("import", "coco", coco, "--images", w.ds.photos, "--project", w.root / "p.pinspect")
    return no_traceback(o) or (None if "more than once" in o.out else "duplicate ids not reported")


@case
def fifo_as_ground_truth(w: World):
    os.mkfifo(w.root / "gt.json")
    (w.root / "pred.json").write_text("{}")
    return fails_cleanly(run_cli("evaluate", "--gt", w.root / "gt.json", "--pred", w.root / "pred.json"), "FIFO")


@case
def fifo_as_panoptic_json(w: World):
    os.mkfifo(w.root / "pan.json")
    return fails_cleanly(run_cli("import", "coco-panoptic", w.root / "pan.json", "--project", w.root / "p.pinspect"),
                         "FIFO")


@case
def fifo_as_class_mapping(w: World):
    os.mkfifo(w.root / "classes.json")
    return fails_cleanly(run_cli(*w.ds.import_args("--project", w.root / "p.pinspect", "--classes",
                                                   w.root / "classes.json")), "FIFO")


@case
def fifo_as_checkpoint(w: World):
    os.mkfifo(w.root / "m.pt")
    return fails_cleanly(run_cli("predict", w.root / "m.pt", w.ds.photos, "--out", w.root / "o"), "FIFO")


@case
def project_path_is_a_folder(w: World):
    (w.root / "p.pinspect").mkdir()
    return fails_cleanly(run_cli(*w.ds.import_args("--project", w.root / "p.pinspect")))


@case
def project_in_missing_folder(w: World):
    return succeeds(run_cli(*w.ds.import_args("--project", w.root / "new" / "sub" / "p.pinspect")))


@case
def sigint_during_import_keeps_a_whole_project(w: World):
    import signal as sig

    for i in range(3, 200):
        shutil.copyfile(w.ds.photos / "p0.jpg", w.ds.photos / f"p{i}.jpg")
        shutil.copyfile(w.ds.masks / "p0.png", w.ds.masks / f"p{i}.png")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *map(str, w.ds.import_args(
        "--project", w.root / "p.pinspect"))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(2.5)
    proc.send_signal(sig.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return "did not stop on Ctrl-C"
    if "Traceback" in out + err:
        return "raw traceback"
    from core.project import Project

    with Project.open(w.root / "p.pinspect", read_only=True) as p:
        for img in p.images.list():
            ann = p.annotations.load(img.id)
            if img.status == "done" and (ann is None or not ann.segments):
                return "a done photo without annotation"
    return None


@case
def train_project_without_annotations(w: World):
    from core.project import Project

    Project.create(w.root / "empty.pinspect").close()
    return fails_cleanly(run_cli("train", w.root / "empty.pinspect", "--out", w.root / "r"))


@case
def train_project_with_all_photos_moved(w: World):
    w.ensure_project()
    shutil.move(str(w.ds.photos), str(w.root / "elsewhere"))
    return fails_cleanly(run_cli("train", w.project, "--out", w.root / "r", "--preset", "tiny"))


@case
def evaluate_project_without_model(w: World):
    return fails_cleanly(run_cli("evaluate", "--project", w.project))


@case
def predict_on_missing_cuda(w: World):
    import torch

    if torch.cuda.is_available():
        return None
    return fails_cleanly(run_cli("predict", w.checkpoint(), w.ds.photos, "--out", w.root / "o", "--device", "cuda"))


@case
def duplicate_class_values(w: World):
    o = run_cli(*w.ds.import_args("--project", w.root / "p.pinspect", "--classes", "1=crack,1=spalling"))
    return fails_cleanly(o)


@case
def unknown_fill_class(w: World):
    return fails_cleanly(run_cli(*w.ds.import_args("--project", w.root / "p.pinspect", "--fill", "lava")))


@case
def thing_stuff_conflict(w: World):
    w.ensure_project()
    o = run_cli(*w.ds.import_args("--project", w.project, "--classes", "1=crack:stuff"))
    return fails_cleanly(o)


@case
def empty_json_file(w: World):
    (w.root / "e.json").write_text("")
    return fails_cleanly(run_cli("import", "coco", w.root / "e.json", "--project", w.root / "p.pinspect"))


@case
def masks_with_unmapped_values(w: World):
    m = np.asarray(Image.open(w.ds.masks / "p0.png")).copy()
    m[0, 0] = 77
    Image.fromarray(m).save(w.ds.masks / "p0.png")
    o = run_cli(*w.ds.import_args("--project", w.root / "p.pinspect", "--strict"))
    return no_traceback(o) or (None if o.code == 1 and "77" in o.out else "not reported")


@case
def resume_truncated_checkpoint(w: World):
    o = run_cli("train", w.project, "--preset", "tiny", "--init", "random", "--epochs", "1", "--eval-every", "0",
                "--out", w.root / "r", "--threads", "1", "--workers", "0", timeout=300)
    if o.code != 0:
        return f"could not train: {o.err[-200:]}"
    last = w.root / "r" / "last.pt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    return fails_cleanly(run_cli("train", w.project, "--resume", w.root / "r", "--epochs", "2"))


@case
def export_out_empty_string(w: World):
    return fails_cleanly(run_cli("export", w.project, "--out", ""))


@case
def unknown_command(w: World):
    o = run_cli("frobnicate")
    return no_traceback(o) or (None if o.code == 2 else f"exit {o.code}")


@case
def synth_out_is_a_file(w: World):
    (w.root / "f").write_text("x")
    bad = fails_cleanly(run_cli("synth", w.root / "f", "--n", "2", "--size", "64"))
    return bad or (None if (w.root / "f").read_text() == "x" else "file replaced")


@case
def report_out_overlaps_project(w: World):
    before = snapshot(w.ds.photos)
    o = run_cli("report", w.project, "--out", w.ds.photos)
    return no_traceback(o) or (None if snapshot(w.ds.photos) == before else "photos changed")


