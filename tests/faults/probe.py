"""Probe: the command line against hostile input, as a careful tester would try it.

    python tests/faults/probe.py [--only NAME] [--keep]

Each case builds its own small world in a temporary folder (photos, masks, a project, a tiny
checkpoint), runs ``main.py`` as a separate process with a time limit, and judges what a user
would see: no hang (the time limit), no raw traceback, a one-line ``error:`` with a non-zero exit
where it must fail (or success where it must succeed), and nothing lost (a snapshot of the
inputs before and after). Prints one line per case and the count that passed. Not part of the
test suite (it starts ~50 processes); the suite checks the same classes in ``tests/faults/``.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.faults.helpers import Dataset, snapshot  # noqa: E402 - after sys.path: run as a script

TIMEOUT_S = 120


@dataclass
class Outcome:
    code: int | None
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(*args, cwd: Path | None = None, timeout: float = TIMEOUT_S) -> Outcome:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
    start = time.monotonic()
    try:
        p = subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True,
                           text=True, timeout=timeout, cwd=cwd or ROOT, env=env)
        return Outcome(p.returncode, p.stdout, p.stderr, time.monotonic() - start)
    except subprocess.TimeoutExpired as e:
        return Outcome(None, str(e.stdout or ""), str(e.stderr or ""), time.monotonic() - start)


def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


class World:
    """A temporary folder with a dataset (``ds``) and, on demand, a project and a checkpoint."""

    def __init__(self, root: Path):
        self.root = root
        self.ds = Dataset(root / "ds")
        self._project: Path | None = None

    @property
    def project(self) -> Path:
        if self._project is None:
            path = self.ds.root / "proj.pinspect"
            o = run_cli(*self.ds.import_args("--project", path))
            assert o.code == 0, o.text
            self._project = path
        return self._project

    def ensure_project(self) -> Path:
        """Build the project now (before a snapshot is taken)."""
        return self.project

    def checkpoint(self, nan: bool = False) -> Path:
        import torch

        from core.model import save_checkpoint
        from tests.support.models import TINY, tiny_model

        torch.set_num_threads(1)
        model, categories = tiny_model()
        if nan:
            with torch.no_grad():
                model.detr.class_embed.bias[0] = float("nan")
        path = self.root / ("nan.pt" if nan else "tiny.pt")
        save_checkpoint(path, model, TINY, categories, {"training": {"train_config": {"eval_size": 96}}})
        return path

    def coco(self, images, annotations, categories=None, name="c.json") -> Path:
        data = {"images": images, "annotations": annotations,
                "categories": categories if categories is not None else [{"id": 1, "name": "crack"}]}
        path = self.root / name
        path.write_text(json.dumps(data))
        return path


# --- judging ---------------------------------------------------------------------------------------
def no_traceback(o: Outcome) -> str | None:
    if o.code is None:
        return f"hung (> {TIMEOUT_S} s)"
    if "Traceback (most recent call last)" in o.text:
        return "raw traceback"
    return None


def fails_cleanly(o: Outcome, *words: str) -> str | None:
    bad = no_traceback(o)
    if bad:
        return bad
    if o.code == 0:
        return "exit code 0 where it must fail"
    lines = [ln for ln in o.err.splitlines() if ln.startswith("error:")]
    if o.code == 1 and not lines and not any(w in o.text for w in words):
        return "non-zero exit without an error line"
    missing = [w for w in words if w.lower() not in o.text.lower()]
    return f"message lacks {missing}: {o.err.strip()[-300:] or o.out.strip()[-300:]}" if missing else None


def succeeds(o: Outcome, *words: str) -> str | None:
    bad = no_traceback(o)
    if bad:
        return bad
    if o.code != 0:
        return f"exit code {o.code}: {o.err.strip()[-300:]}"
    missing = [w for w in words if w.lower() not in o.text.lower()]
    return f"output lacks {missing}" if missing else None


CASES: list[tuple[str, Callable[[World], str | None]]] = []


def case(fn: Callable[[World], str | None]):
    CASES.append((fn.__name__, fn))
    return fn


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="run the cases whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = ap.parse_args()
    passed = failed = 0
    for name, fn in CASES:
        if args.only and args.only not in name:
            continue
        root = Path(tempfile.mkdtemp(prefix=f"probe-{name}-"))
        try:
            problem = fn(World(root))
        except Exception as e:  # noqa: BLE001 - the probe's own set-up fails the case, with the reason
            problem = f"probe error: {type(e).__name__}: {e}"
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
        if problem:
            failed += 1
            print(f"FAIL {name}: {problem}", flush=True)
        else:
            passed += 1
            print(f"ok   {name}", flush=True)
    print(f"{passed} of {passed + failed} cases handled well")


if __name__ == "__main__":
    main()
