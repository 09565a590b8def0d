"""Headless training of a project is like the window's: the run goes beside the project and is
registered in it (so ``evaluate --project`` and the Models panel see it), never into ./runs."""
from __future__ import annotations

import pytest

from core.project import Project
from core.training.project_models import run_info, runs_folder


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_projects_headless_run_goes_beside_it_and_is_registered(project, tmp_path, cli, monkeypatch,
                                                                  one_torch_thread):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("train", project, "--preset", "tiny", "--init", "random", "--epochs", "1",
                         "--eval-every", "0", "--threads", "1", "--workers", "0")
    assert code == 0, err
    assert not (tmp_path / "runs").exists()                     # nothing in the current folder
    with Project.open(project, read_only=True) as p:
        models = p.models.list()
        assert len(models) == 1
        info = run_info(p, models[0])
        assert info.status == "finished" and info.epochs_done == 1
        assert info.output_dir is not None and info.output_dir.parent == runs_folder(p)
        assert models[0].checkpoint is not None and models[0].checkpoint_exists
    # the registered run is what evaluate --project finds
    code, out, err = cli("evaluate", "--project", project, "--model", models[0].id, "--photos", "annotated",
                         "--device", "cpu")
    assert code == 0, err
    assert "PQ" in out
