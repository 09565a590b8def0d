"""``main.py predict --project``: predictions stored in the project as the window stores them."""
from __future__ import annotations

from pathlib import Path

from core.cli import main
from core.inference.store import load_prediction
from core.project import Project
from core.project.active_model import active_model_id, set_active_model
from tests.support.models import write_photo


def _project(root: Path) -> Path:
    """Three photos; the first annotated (done), the others unlabeled."""
    photos = []
    for k in range(3):
        path = root / f"wall_{k}.jpg"
        write_photo(path, 40 + k, (160, 120), quality=95)
        photos.append(path)
    project_path = root / "bridge.pinspect"
    with Project.create(project_path) as project:
        project.images.add_files(photos)
        first = project.images.list()[0]
        _, truth = write_photo(root / "truth.png", 40, (160, 120))
        project.annotations.save(first.id, truth, status="done")
    return project_path


def test_a_checkpoint_predicts_the_unlabeled_photos_into_the_project(tmp_path, checkpoint, capsys):
    path = _project(tmp_path)
    code = main(["predict", str(checkpoint), "--project", str(path), "--threshold", "0.5", "--threads", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "on 2 of 3 photos" in out and "stored 2 predictions" in out
    with Project.open(path) as project:
        records = project.images.list()
        (model,) = project.models.list()
        assert model.checkpoint is not None and Path(model.checkpoint).resolve() == checkpoint.resolve()
        stored = {r.name: load_prediction(project, r.id, model.id) for r in records}
        assert stored["wall_0.jpg"] is None                                   # annotated: left alone
        for name in ("wall_1.jpg", "wall_2.jpg"):
            pred = stored[name]
            assert pred is not None and pred.panoptic(0.5).shape == (120, 160)  # re-thresholdable
        assert project.annotations.load(records[0].id) is not None             # the annotation kept
    # Again, with every photo and the project's active model: the same registration is used.
    with Project.open(path) as project:
        set_active_model(project, project.models.list()[0].id)
    assert main(["predict", "--project", str(path), "--photos", "all", "--threads", "1"]) == 0
    assert "on 3 of 3 photos" in capsys.readouterr().out
    with Project.open(path) as project:
        assert len(project.models.list()) == 1 and active_model_id(project) is not None
        assert all(load_prediction(project, r.id, project.models.list()[0].id) for r in project.images.list())


def test_wrong_uses_of_project_are_one_line_errors(tmp_path, checkpoint, capsys):
    path = _project(tmp_path)
    assert main(["predict", "--project", str(path)]) == 1                   # no model yet
    assert "no trained model" in capsys.readouterr().err
    assert main(["predict", str(checkpoint), str(tmp_path), "--project", str(path)]) == 2
    assert "at most a checkpoint" in capsys.readouterr().err
    assert main(["predict", str(checkpoint), "--project", str(path), "--out", str(tmp_path / "o")]) == 2
    assert main(["predict", "--project", str(tmp_path / "missing.pinspect")]) == 1
    assert "no such project" in capsys.readouterr().err
    assert main(["predict", str(checkpoint)]) == 2                          # neither photos nor --project
    assert "--project" in capsys.readouterr().err
