"""Probe cases: operations that could destroy inputs, and losses that could go unnoticed."""
from __future__ import annotations

import shutil

import numpy as np
from PIL import Image

from tests.faults.helpers import snapshot
from tests.faults.probe_world import World, case, fails_cleanly, no_traceback, run_cli, succeeds


# --- destructive operations ------------------------------------------------------------------------
@case
def export_over_project_folder(w: World):
    w.ensure_project()
    before = snapshot(w.root)
    bad = fails_cleanly(run_cli("export", w.project, "--out", w.ds.root, "--overwrite"), "input")
    return bad or (None if snapshot(w.root) == before else "files changed")


@case
def export_over_ancestor(w: World):
    w.ensure_project()
    before = snapshot(w.root)
    bad = fails_cleanly(run_cli("export", w.project, "--out", w.root, "--overwrite"), "input")
    return bad or (None if snapshot(w.root) == before else "files changed")


@case
def export_into_photos_folder(w: World):
    w.ensure_project()
    before = snapshot(w.root)
    bad = fails_cleanly(run_cli("export", w.project, "--out", w.ds.photos / "exp"), "input")
    return bad or (None if snapshot(w.root) == before else "files changed")


@case
def import_out_over_source_no_images(w: World):
    before = snapshot(w.root)
    bad = fails_cleanly(run_cli(*w.ds.import_args("--out", w.ds.photos, "--overwrite", "--no-images")), "input")
    return bad or (None if snapshot(w.root) == before else "files changed")


@case
def overwrite_foreign_folder(w: World):
    w.ensure_project()
    mine = w.root / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    bad = fails_cleanly(run_cli("export", w.project, "--out", mine, "--overwrite"), "not written by")
    return bad or (None if (mine / "notes.txt").read_text() == "keep" else "foreign file lost")


@case
def overwrite_own_export(w: World):
    w.ensure_project()
    assert run_cli("export", w.project, "--out", w.root / "e").code == 0
    return succeeds(run_cli("export", w.project, "--out", w.root / "e", "--overwrite"))


@case
def predict_out_is_photos(w: World):
    ckpt = w.checkpoint()
    before = snapshot(w.ds.photos)
    bad = fails_cleanly(run_cli("predict", ckpt, w.ds.photos, "--out", w.ds.photos), "input")
    return bad or (None if snapshot(w.ds.photos) == before else "photos changed")


@case
def train_out_is_data_folder(w: World):
    w.ensure_project()
    before = snapshot(w.root)
    bad = fails_cleanly(run_cli("train", w.project, "--out", w.ds.root), "input")
    return bad or (None if snapshot(w.root) == before else "files changed")


@case
def dry_run_export_writes_nothing(w: World):
    w.ensure_project()
    before = snapshot(w.root)
    bad = succeeds(run_cli("export", w.project, "--out", w.root / "new", "--dry-run"), "would create")
    return bad or (None if snapshot(w.root) == before else "files changed")


@case
def dry_run_import_writes_nothing(w: World):
    before = snapshot(w.root)
    bad = succeeds(run_cli(*w.ds.import_args("--project", w.root / "p.pinspect", "--dry-run")), "would")
    return bad or (None if snapshot(w.root) == before else "files changed")


# --- silent loss -------------------------------------------------------------------------------------
@case
def duplicate_photos_different_masks(w: World):
    shutil.copyfile(w.ds.photos / "p0.jpg", w.ds.photos / "p1.jpg")
    o = run_cli(*w.ds.import_args("--project", w.root / "p.pinspect", "--strict"))
    bad = succeeds(o, "duplicate")
    if bad:
        return bad
    from core.project import Project

    with Project.open(w.root / "p.pinspect", read_only=True) as p:
        return None if len(list(p.annotations.image_ids())) == 3 else "an annotation was dropped"


@case
def nan_model_predict(w: World):
    return fails_cleanly(run_cli("predict", w.checkpoint(nan=True), w.ds.photos, "--out", w.root / "o"), "NaN")


@case
def all_annotations_rejected_not_done(w: World):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(w.root / "c.jpg")
    coco = w.coco([{"id": 1, "file_name": "c.jpg", "width": 40, "height": 30}],
                  [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 5, 5]], "area": 0,
                    "bbox": [1, 1, 4, 4], "iscrowd": 0}])
    o = run_cli("import", "coco", coco, "--images", w.root, "--project", w.root / "p.pinspect", "--strict")
    bad = no_traceback(o) or (None if o.code == 1 else "strict passed")
    if bad:
        return bad
    from core.project import Project

    with Project.open(w.root / "p.pinspect", read_only=True) as p:
        return None if all(img.status != "done" for img in p.images.list()) else "photo left done"


@case
def empty_category_list(w: World):
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(w.root / "c.jpg")
    coco = w.coco([{"id": 1, "file_name": "c.jpg", "width": 40, "height": 30}],
                  [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9]], "area": 32,
                    "bbox": [1, 1, 8, 8], "iscrowd": 0}], categories=[])
    o = run_cli("import", "coco", coco, "--images", w.root, "--project", w.root / "p.pinspect", "--strict")
    bad = no_traceback(o) or (None if o.code == 1 else "strict passed")
    if bad or not (w.root / "p.pinspect").exists():
        return bad
    from core.project import Project

    with Project.open(w.root / "p.pinspect", read_only=True) as p:
        return None if all(img.status != "done" for img in p.images.list()) else "photo left done"


