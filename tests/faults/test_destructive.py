"""No command deletes or replaces what it did not create: output folders that overlap an input,
--overwrite of foreign folders, leftovers of killed runs, dry runs."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tests.faults.helpers import snapshot

from core.safety import MARKER, check_no_overlap, UnsafeOutputError, write_marker


def test_export_over_the_projects_folder_or_an_ancestor_is_refused(project, tmp_path, cli):
    before = snapshot(tmp_path)
    for out in (project.parent, tmp_path, project.parent / "photos", project.parent / "photos" / "export",
                project, tmp_path / ".." / tmp_path.name / "ds"):
        code, _out, err = cli("export", project, "--out", out, "--overwrite")
        assert code == 1, out
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err
    assert snapshot(tmp_path) == before   # the project, its photos and everything beside them intact


def test_import_out_into_its_own_source_is_refused(dataset, cli):
    before = snapshot(dataset.root)
    for out in (dataset.photos, dataset.masks, dataset.root, dataset.photos / "coco"):
        code, _o, err = cli(*dataset.import_args("--out", out, "--overwrite", "--no-images"))
        assert code == 1 and "input" in err, (out, err)
    assert snapshot(dataset.root) == before


def test_overwrite_replaces_only_our_own_earlier_output(project, tmp_path, cli):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.docx").write_bytes(b"years of work")
    code, _o, err = cli("export", project, "--out", foreign, "--overwrite")
    assert code == 1 and "not written by Panoptic Inspector" in err
    assert (foreign / "thesis.docx").read_bytes() == b"years of work"

    out = tmp_path / "export"
    assert cli("export", project, "--out", out)[0] == 0
    assert (out / MARKER).is_file()
    code, _o, err = cli("export", project, "--out", out)
    assert code == 1 and "--overwrite" in err                    # ours, but not without the flag
    (out / "note.txt").write_text("added by hand")
    assert cli("export", project, "--out", out, "--overwrite", "--split", "0.5")[0] == 0
    assert (out / "panoptic_train.json").is_file() and not (out / "note.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "export", "mine"]  # no .partial/.old left


def test_an_export_never_replaces_a_folder_holding_its_photos(project, tmp_path, cli):
    # an earlier export of ours becomes the home of a project's photos: replacing it would delete them
    out = tmp_path / "export"
    assert cli("export", project, "--out", out)[0] == 0
    moved = out / "all"
    second = tmp_path / "second.pinspect"
    assert cli("import", "coco-panoptic", out / "panoptic_all.json", "--images", moved, "--project", second)[0] == 0
    before = snapshot(out)
    code, _o, err = cli("export", second, "--out", out, "--overwrite")
    assert code == 1 and "contains the input" in err and "all" in err
    assert snapshot(out) == before
    # the exporters check every record too, whoever calls them (the GUI, a script)
    from core.formats import export_coco_panoptic
    from core.formats.project_io import project_records
    from core.project import Project

    with Project.open(second, read_only=True) as proj:
        _n, records = project_records(proj)
        with pytest.raises(UnsafeOutputError, match="lies inside the export folder"):
            export_coco_panoptic(records, proj.categories.get(), out, overwrite=True)
    assert snapshot(out) == before


def test_predict_and_train_refuse_outputs_overlapping_their_inputs(dataset, tmp_path, cli):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"not read: the output is checked first")
    before = snapshot(tmp_path)
    for out in (dataset.photos, dataset.photos / "pred", tmp_path):
        code, _o, err = cli("predict", ckpt, dataset.photos, "--out", out)
        assert code == 1 and "input" in err, (out, err)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x.txt").write_text("keep")
    code, _o, err = cli("predict", ckpt, dataset.photos, "--out", foreign)
    assert code == 1 and "not empty" in err
    data = tmp_path / "coco" / "panoptic_all.json"
    data.parent.mkdir()
    data.write_text("{}")
    for out in (data.parent, tmp_path):
        code, _o, err = cli("train", data, "--out", out)
        assert code == 1 and "input" in err, (out, err)
    assert snapshot(tmp_path) == {**before, "foreign/x.txt": snapshot(foreign)["x.txt"],
                                  "coco/panoptic_all.json": snapshot(data.parent)["panoptic_all.json"]}


def test_overlap_is_seen_through_symlinks(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(UnsafeOutputError, match="is the input"):
        check_no_overlap(tmp_path / "link", [real])
    with pytest.raises(UnsafeOutputError, match="lies inside"):
        check_no_overlap(tmp_path / "link" / "sub", [real])
    check_no_overlap(tmp_path / "other", [real])   # beside it is fine


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_a_killed_export_are_removed_by_the_next(project, tmp_path, cli):
    out = tmp_path / "export"
    dead = _dead_pid()
    stale = tmp_path / "export.partial-abc123"
    stale.mkdir()
    write_marker(stale, "export")
    (stale / MARKER).write_text((stale / MARKER).read_text().replace(f'"pid": {os.getpid()}', f'"pid": {dead}'))
    live = tmp_path / "export.partial-live00"    # a concurrent export of a live process
    live.mkdir()
    write_marker(live, "export")
    foreign = tmp_path / "export.partial-notours"  # no marker: not ours to judge
    foreign.mkdir()
    assert cli("export", project, "--out", out)[0] == 0
    assert not stale.exists() and live.is_dir() and foreign.is_dir()


def test_a_kill_between_the_two_renames_gives_the_earlier_export_back(project, tmp_path, cli):
    out = tmp_path / "export"
    assert cli("export", project, "--out", out)[0] == 0
    before = snapshot(out)
    os.rename(out, tmp_path / "export.old-1234abcd")      # where a kill at that moment leaves it
    code, _o, err = cli("export", project, "--out", out)  # the earlier export is back, so: not empty
    assert code == 1 and "--overwrite" in err
    assert snapshot(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["ds", "export"]


def test_dry_runs_write_nothing_and_say_what_would_happen(project, dataset, tmp_path, cli):
    before = snapshot(tmp_path)
    code, out, _e = cli("export", project, "--out", tmp_path / "new", "--dry-run")
    assert code == 0 and "would create" in out and "3 annotated images" in out
    assert cli("export", project, "--out", tmp_path / "done")[0] == 0
    before_done = snapshot(tmp_path)
    code, out, _e = cli("export", project, "--out", tmp_path / "done", "--overwrite", "--dry-run")
    assert code == 0 and "would replace the earlier output" in out
    code, out, _e = cli(*dataset.import_args("--project", project, "--dry-run"))
    assert code == 0 and "would add 0 photos" in out and "3 already there" in out and "would leave 3" in out
    code, out, _e = cli(*dataset.import_args("--project", tmp_path / "fresh.pinspect", "--dry-run"))
    assert code == 0 and "would create the project" in out
    code, out, _e = cli(*dataset.import_args("--out", tmp_path / "coco", "--dry-run"))
    assert code == 0 and "would create" in out
    assert snapshot(tmp_path) == before_done
    assert set(before_done) - set(before) == {p for p in before_done if p.startswith("done/")}
    code, _o, err = cli("export", project, "--out", dataset.photos, "--dry-run")
    assert code == 1 and "input" in err                 # the dry run refuses what the run would


def test_synth_overwrite_keeps_foreign_folders(tmp_path, cli):
    foreign = tmp_path / "f"
    foreign.mkdir()
    (foreign / "a.txt").write_text("keep")
    code, _o, err = cli("synth", foreign, "--n", "2", "--size", "64", "--overwrite")
    assert code != 0 and (foreign / "a.txt").read_text() == "keep"


def test_a_prediction_never_goes_into_an_earlier_export(project, tmp_path, cli):
    out = tmp_path / "export"
    assert cli("export", project, "--out", out)[0] == 0
    before = snapshot(out)
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"not read: the output is checked first")
    code, _o, err = cli("predict", ckpt, project.parent / "photos", "--out", out)
    assert code == 1 and "earlier export output" in err
    code, _o, err = cli("train", project, "--out", out)
    assert code == 1 and "earlier export output" in err
    assert snapshot(out) == before


def test_a_report_may_sit_beside_its_photos_but_never_over_them(project, dataset, cli):
    # The window's default report folder lies beside the project, often among the photos: a report
    # holds only HTML and CSV, so that is allowed; a folder that is or holds the photos is not.
    beside = project.parent / "proj report"
    code, _o, err = cli("report", project, "--out", beside)
    assert code == 0 and (beside / "report.html").is_file(), err
    before = snapshot(dataset.root)
    for out in (dataset.photos, dataset.root):
        code, _o, err = cli("report", project, "--out", out)
        assert code == 1 and "input" in err, (out, err)
    assert snapshot(dataset.root) == before
