"""``python main.py synth``: writes the dataset (and a project), refuses bad input with exit codes."""
import json

import pytest

from core.cli import main
from core.project import Project


def test_synth_writes_a_dataset_and_a_project(tmp_path, capsys):
    out, proj = tmp_path / "ds", tmp_path / "synth.pinspect"
    rc = main(["synth", str(out), "--n", "3", "--seed", "4", "--size", "80x64", "--project", str(proj)])
    assert rc == 0
    data = json.loads((out / "panoptic.json").read_text())
    assert len(data["images"]) == 3 and {(i["width"], i["height"]) for i in data["images"]} == {(80, 64)}
    assert "wrote 3 photos" in capsys.readouterr().out
    with Project.open(proj, read_only=True) as project:
        assert project.images.count() == 3


def test_synth_refuses_a_non_empty_folder_and_bad_sizes(tmp_path, capsys):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "x.txt").write_text("keep")
    assert main(["synth", str(out), "--n", "1", "--size", "64"]) == 1
    assert "not empty" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["synth", str(tmp_path / "other"), "--size", "huge"])
    assert e.value.code == 2
