"""One error path: options refused by the parser with their ranges, malformed records as typed
problems, full disks in every writer (torch's zip writer included), leftovers of killed runs
removed, and never a raw traceback without -v."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from core.cli import main
from core.errors import CheckpointError
from core.safety import remove_stale_temp_files


@pytest.mark.parametrize("argv, words", [
    (["export", "p.pinspect", "--out", "o", "--split", "1.5"], "must lie in [0, 1)"),
    (["export", "p.pinspect", "--out", "o", "--split", "nan"], "not a finite number"),
    (["export", "p.pinspect", "--out", "o", "--split", "-0.2"], "must lie in [0, 1)"),
    (["import", "masks", "ph", "--masks", "m", "--out", "o", "--split", "abc"], "is not a number"),
    (["import", "masks", "ph", "--masks", "m", "--project", "p.pinspect", "--min-area", "-1"], "integer >= 0"),
    (["train", "p.pinspect", "--val-fraction", "1"], "must lie in [0, 1)"),
    (["train", "p.pinspect", "--epochs", "0"], "integer >= 1"),
    (["train", "p.pinspect", "--lr", "inf"], "not a finite number"),
    (["train", "p.pinspect", "--threshold", "0"], "must lie in (0, 1)"),
    (["predict", "m.pt", "x.jpg", "--out", "o", "--input-size", "8"], "integer >= 32"),
    (["measure", "x.jpg", "--mask", "m.png", "--class-value", "-1"], "integer >= 0"),
    (["report", "p.pinspect", "--out", "o", "--mm-per-pixel", "0"], "finite number > 0"),
    (["report", "p.pinspect", "--out", "o", "--threshold", "1.5"], "must lie in [0, 1]"),
    (["report", "p.pinspect", "--out", "o", "--image-width", "100"], "integer >= 200"),
])
def test_options_are_refused_by_the_parser_with_their_range(argv, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and words in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []   # nothing was started


def _coco(tmp_path, image: dict, ann: dict | None = None):
    (tmp_path / "photos").mkdir()
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(tmp_path / "photos" / "c.jpg")
    anns = [] if ann is None else [ann]
    (tmp_path / "c.json").write_text(json.dumps({"images": [image], "annotations": anns,
                                                 "categories": [{"id": 1, "name": "crack"}]}))
    return tmp_path / "c.json"


@pytest.mark.parametrize("image, ann, words", [
    ({"id": [1], "file_name": "c.jpg", "width": 40, "height": 30}, None, "not an integer id"),
    ({"id": 1, "file_name": "c.jpg", "width": "abc", "height": 30}, None, "width is 'abc'"),
    ({"id": 1, "file_name": "c.jpg", "width": 40, "height": 30},
     {"id": 1, "image_id": {"a": 1}, "category_id": 1, "segmentation": []}, "not an integer id"),
])
def test_malformed_coco_records_are_problems_not_tracebacks(tmp_path, cli, image, ann, words):
    path = _coco(tmp_path, image, ann)
    code, out, err = cli("import", "coco", path, "--images", tmp_path / "photos", "--out", tmp_path / "o", "--strict")
    assert code == 1 and words in out and "Traceback" not in out + err


def test_a_random_file_is_not_called_pickled_code_and_a_missing_project_is_named(tmp_path, cli):
    (tmp_path / "r.pt").write_bytes(os.urandom(3000))
    (tmp_path / "x.jpg").write_bytes(b"")
    code, _out, err = cli("predict", tmp_path / "r.pt", tmp_path / "x.jpg", "--out", tmp_path / "o")
    assert code == 1 and "not a PyTorch checkpoint" in err and "pickled" not in err
    code, _out, err = cli("train", tmp_path / "missing.pinspect", "--out", tmp_path / "run")
    assert code == 1 and "no such project file" in err and "COCO" not in err


def test_a_full_disk_in_torchs_zip_writer_is_a_typed_error(tmp_path, monkeypatch):
    from core.categories import default_categories
    from core.model import build_model, get_preset, save_checkpoint

    config = get_preset("cpu_small").replace(hidden_dim=32, nheads=2, enc_layers=1, dec_layers=1,
                                             dim_feedforward=64, num_queries=4)
    model, _c, _p = build_model(config, default_categories(), backbone_weights=None)
    save_checkpoint(tmp_path / "last.pt", model, config, default_categories())
    before = (tmp_path / "last.pt").read_bytes()

    def full(obj, f, *a, **k):
        f.write(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 512 vs 256")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(CheckpointError, match="disk may be full"):
        save_checkpoint(tmp_path / "last.pt", model, config, default_categories())

    def enospc(obj, f, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", enospc)
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(tmp_path / "last.pt", model, config, default_categories())
    assert (tmp_path / "last.pt").read_bytes() == before       # the previous checkpoint intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]   # no temporary file left


def test_a_full_disk_during_an_export_leaves_nothing_and_says_so(tmp_path, cli, monkeypatch, project):
    import core.formats.coco_panoptic as cp

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cp, "encode_ids", full)
    code, _out, err = cli("export", project, "--out", tmp_path / "exp")
    assert code == 1 and "No space left on device" in err and err.count("\n") == 1
    assert not any(p.name.startswith("exp") for p in tmp_path.iterdir())


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporary_checkpoints_of_a_killed_run_are_removed_a_live_write_is_not(tmp_path):
    dead = tmp_path / f".last.pt.pid{_dead_pid()}-x1y2z3.tmp"
    live = tmp_path / f".last.pt.pid{os.getpid()}-a1b2c3.tmp"
    old_style = tmp_path / ".best.pt.k3j4h5.tmp"
    recent_old_style = tmp_path / ".best.pt.q9w8e7.tmp"
    for p in (dead, live, old_style, recent_old_style):
        p.write_bytes(b"half a checkpoint")
    an_hour_ago = time.time() - 3600
    os.utime(old_style, (an_hour_ago, an_hour_ago))
    (tmp_path / "last.pt").write_bytes(b"the real one")
    removed = remove_stale_temp_files(tmp_path)
    assert sorted(p.name for p in removed) == sorted([dead.name, old_style.name])
    assert live.exists() and recent_old_style.exists() and (tmp_path / "last.pt").exists()


def test_an_unexpected_fault_is_one_line_without_v_and_a_traceback_with_it(tmp_path, capsys, monkeypatch):
    import core.commands.export_cmd as export_cmd

    def broken(args):
        raise KeyError("segments")

    monkeypatch.setattr(export_cmd, "run", broken)
    assert main(["export", str(tmp_path / "p.pinspect"), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: internal error: KeyError") and "-v" in err and err.count("\n") == 1
    with pytest.raises(KeyError):
        main(["-v", "export", str(tmp_path / "p.pinspect"), "--out", str(tmp_path / "o")])


def test_an_unwritable_report_path_is_one_line(dataset, tmp_path, cli):
    (tmp_path / "rep").mkdir()
    code, _out, err = cli(*dataset.import_args("--project", tmp_path / "p.pinspect", "--report", tmp_path / "rep"))
    errors = [line for line in err.splitlines() if line.startswith("error: ")]  # the rest: progress bars
    assert code == 1 and len(errors) == 1 and "import report" in errors[0] and "Traceback" not in err


def test_a_save_failing_midway_says_what_the_earlier_batches_kept(dataset, tmp_path, monkeypatch):
    import core.formats.project_io as project_io
    from core.errors import ProjectError
    from core.formats import import_mask_folder
    from core.project import Project
    from core.project.images import ImageStore

    monkeypatch.setattr(project_io, "BATCH", 2)
    real = ImageStore.add_files
    calls = {"n": 0}

    def full_on_second(self, files, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ProjectError("the disk is full (nothing of this save was written; free some space and save again)",
                               tmp_path / "p.pinspect")
        return real(self, files, **kw)

    monkeypatch.setattr(ImageStore, "add_files", full_on_second)
    with Project.create(tmp_path / "p.pinspect") as project:
        run = import_mask_folder(dataset.photos, dataset.masks)
        with pytest.raises(ProjectError, match="the 2 photos and 2 annotations saved before it are in the project"):
            project_io.import_into_project(project, run)
        assert project.images.count() == 2


def test_a_mistyped_command_or_a_leading_v_is_the_command_line_not_a_window(tmp_path, monkeypatch):
    from core.cli import is_cli_invocation

    monkeypatch.chdir(tmp_path)
    assert is_cli_invocation(["trian", "p.pinspect"]) and is_cli_invocation(["-v", "export", "p.pinspect"])
    assert not is_cli_invocation(["bridge.pinspect"]) and not is_cli_invocation([])
    (tmp_path / "myproject").write_bytes(b"")                 # an existing file opens in the window
    assert not is_cli_invocation(["myproject"])
    with pytest.raises(SystemExit) as e:
        main(["trian"])
    assert e.value.code == 2
