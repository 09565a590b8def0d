"""Fine-tuning is the normal path: ``main.py train`` starts from the project's active model, else
the shipped model when the data has its categories, else random weights; ``--init random`` and
``--init imagenet`` choose explicitly; class rows of categories with the same name are kept and a
new category gets a new row."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from core.categories import default_categories
from core.cli import main
from core.errors import TrainingError
from core.model import build_model, save_checkpoint
from core.model.checkpoint import load_checkpoint
from core.project import Project
from core.training import setup
from core.training.start import Start, apply_start, default_start, shared_defects
from core.training.weights import class_rows_by_name, load_our_checkpoint
from tests.core.data.synth import make_coco_dataset
from tests.core.training.helpers import TINY_MODEL

HEAD = "detr.class_embed"


def tiny_checkpoint(path: Path, categories, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model, _, _ = build_model(TINY_MODEL, categories, backbone_weights=None)
    save_checkpoint(path, model, TINY_MODEL, categories)
    return path


@pytest.fixture
def project(tmp_path) -> Path:
    """A project of 4 annotated generated photos with the default categories."""
    data = make_coco_dataset(tmp_path / "data", n=4, sizes=((64, 64),))
    path = tmp_path / "p.pinspect"
    assert main(["import", "coco-panoptic", str(data), "--project", str(path)]) == 0
    return path


def test_class_rows_are_kept_by_name_and_a_new_category_gets_a_new_row(tmp_path):
    stored = default_categories().removed(3)  # crack, spalling, concrete, background
    ckpt = load_checkpoint(tiny_checkpoint(tmp_path / "m.pt", stored))
    data = default_categories().added("efflorescence", True)  # + exposed_rebar, efflorescence
    torch.manual_seed(1)
    model, _, _ = build_model(TINY_MODEL, data, backbone_weights=None)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    message = load_our_checkpoint(model, ckpt, data, new_class_head=True, path="m.pt")
    rows = class_rows_by_name(stored, data)
    names = [c.name for c in data]
    assert [names[i] for i, j in enumerate(rows) if j is None] == ["exposed_rebar", "efflorescence"]
    got = model.state_dict()
    for key in (f"{HEAD}.weight", f"{HEAD}.bias"):
        old = ckpt["model"][key]
        assert got[key].shape[0] == len(data) + 1
        for i, c in enumerate(data):
            if c.name in {s.name for s in stored}:
                j = [s.name for s in stored].index(c.name)
                assert torch.equal(got[key][i], old[j]), (key, c.name)  # what it learnt of the class
            else:
                assert torch.equal(got[key][i], fresh[key][i]), (key, c.name)  # a new row
        assert torch.equal(got[key][-1], old[-1])  # "no object"
    assert all(torch.equal(got[k], v) for k, v in ckpt["model"].items() if not k.startswith(HEAD))
    assert "rows kept by name for crack, spalling, concrete, background" in message
    assert "new rows for exposed_rebar, efflorescence" in message


def test_a_category_that_changed_kind_is_a_new_row():
    stored = default_categories()
    data = default_categories().removed(3).added("exposed_rebar", False)  # now stuff
    assert class_rows_by_name(stored, data)[-1] is None
    assert shared_defects(stored, data) == ["crack", "spalling"]


def test_default_start_prefers_the_active_model_then_the_shipped_one(tmp_path, project):
    cats = default_categories()
    shipped = tiny_checkpoint(tmp_path / "shipped.pt", cats)
    start = default_start(project, cats, shipped)
    assert start.kind == "shipped" and start.checkpoint == shipped  # no model in the project yet
    fewer = default_start(project, cats.removed(2), shipped)  # the data lacks spalling: cracks still carry over
    assert fewer.kind == "shipped" and "crack" in fewer.words and "spalling" not in fewer.words
    stuff_only = cats.removed(1).removed(2).removed(3).added("efflorescence", True)
    assert default_start(project, stuff_only, shipped).kind == "fresh"  # no defect in common
    assert default_start(project, cats, None).kind == "fresh"
    # a model asked for by name: only a checkpoint of exactly that config is fine-tuned
    assert default_start(project, cats, shipped, TINY_MODEL.to_dict()).kind == "shipped"
    assert default_start(project, cats, shipped, TINY_MODEL.replace(hidden_dim=64, nheads=2).to_dict()).kind == "fresh"
    # a checkpoint written before a config field existed still is that config
    older = torch.load(shipped, weights_only=False)
    del older["config"]["thin_head_context"]
    torch.save(older, tmp_path / "older.pt")
    assert default_start(project, cats, tmp_path / "older.pt", TINY_MODEL.to_dict()).kind == "shipped"

    own = tiny_checkpoint(tmp_path / "own.pt", cats.removed(3), seed=3)
    with Project.open(project) as p:
        p.models.add("own model", checkpoint=own, config=TINY_MODEL.to_dict(), categories=cats.removed(3))
    start = default_start(project, cats, shipped)
    assert start.kind == "active" and start.checkpoint == own and "own model" in start.words
    cfg = apply_start(setup_config(), start)
    assert (cfg.init_weights, cfg.init_kind, cfg.new_class_head) == (str(own), "checkpoint", True)
    assert default_start(tmp_path / "data" / "panoptic_train.json", cats, shipped).kind == "shipped"


def setup_config():
    from core.training.config import get_train_preset

    return get_train_preset("tiny")


@pytest.mark.slow
def test_train_fine_tunes_the_active_model_of_a_project(tmp_path, project, capsys):
    cats = default_categories().removed(3)
    own = tiny_checkpoint(tmp_path / "own.pt", cats, seed=5)
    with Project.open(project) as p:
        p.models.add("own model", checkpoint=own, config=TINY_MODEL.to_dict(), categories=cats)
    args = ["train", str(project), "--preset", "tiny", "--epochs", "1", "--min-size", "64", "--max-size", "64",
            "--eval-every", "0"]
    assert main(args + ["--out", str(tmp_path / "r1")]) == 0
    err = capsys.readouterr().err
    assert "fine-tuning the project's active model 'own model'" in err
    assert "new rows for exposed_rebar" in err and "rows kept by name for crack, spalling, concrete" in err
    trained = load_checkpoint(tmp_path / "r1" / "last.pt")
    assert trained["config"] == TINY_MODEL.to_dict()  # the active model's own architecture
    assert [c["name"] for c in trained["categories"]] == [c.name for c in default_categories()]

    assert main(args + ["--init", "random", "--out", str(tmp_path / "r2")]) == 0
    err = capsys.readouterr().err
    assert "fine-tuning" not in err and "weights from" not in err
    assert load_checkpoint(tmp_path / "r2" / "last.pt")["config"]["backbone"] == "resnet18"  # tiny's own model

    # a model asked for by name (--model) that the active model (the newest run here) is not: afresh
    assert main(args + ["--model", "cpu_medium", "--out", str(tmp_path / "r3")]) == 0
    err = capsys.readouterr().err
    assert "training afresh (no model to fine-tune with the model asked for)" in err and "fine-tuning" not in err


def _args(*argv):
    from core.commands import train_cmd

    parser = argparse.ArgumentParser()
    train_cmd.register(parser.add_subparsers())
    return parser.parse_args(["train", "data.json", *argv])


def test_init_words_choose_random_weights_or_imagenet_features():
    from core.commands.train_cmd import build_config

    imagenet = build_config(_args("--init", "imagenet"), None)
    assert (imagenet.model_preset, imagenet.init_weights, imagenet.init_kind) == ("cpu_lite0", "", "imagenet")
    random_ = build_config(_args("--init", "random"), None)
    assert (random_.model_preset, random_.init_weights, random_.init_kind) == ("cpu_fast", "", "none")
    named = build_config(_args("--init", "imagenet", "--preset", "cpu_small"), None)
    assert named.model_preset == "cpu_small" and named.init_kind == "imagenet"


def test_imagenet_features_are_never_downloaded_for_a_resnet():
    cfg = build_imagenet("cpu_small")
    with pytest.raises(TrainingError, match="never does"):
        setup.choose_model(cfg, default_categories(), None)
    lite = setup.choose_model(build_imagenet("cpu_lite0"), default_categories(), None)
    assert lite.backbone_weights == "imagenet" and lite.config.backbone == "efficientnet_lite0"


def build_imagenet(preset: str):
    from core.training.config import get_train_preset

    return get_train_preset(preset).replace(init_weights="", init_kind="imagenet")


def test_a_fresh_start_keeps_the_presets_own_initial_weights():
    from core.training.config import get_train_preset

    lite = get_train_preset("cpu_lite0")
    assert apply_start(lite, Start("fresh", None, "afresh")) == lite  # ImageNet features ("auto")
    assert apply_start(setup_config(), Start("fresh", None, "afresh")) == setup_config()


def test_a_checkpoints_categories_are_read_without_torch(tmp_path):
    import subprocess
    import sys

    from core.categories import CategorySet
    from core.errors import CheckpointError
    from core.training.start import checkpoint_categories

    cats = default_categories().added("efflorescence", True)
    path = tiny_checkpoint(tmp_path / "m.pt", cats)
    assert checkpoint_categories(path).to_json() == cats.to_json()
    (tmp_path / "not.pt").write_bytes(b"no zip")
    with pytest.raises(CheckpointError, match="categories"):
        checkpoint_categories(tmp_path / "not.pt")
    # the train dialog reads them on the GUI thread: no torch import (seconds) for it
    code = ("import sys; from core.training.start import checkpoint_categories; "
            f"print(len(checkpoint_categories({str(path)!r})), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[3])
    assert out.stdout.split() == [str(len(cats)), "False"], out.stderr
    assert isinstance(checkpoint_categories(path), CategorySet)


def test_a_model_is_fine_tuned_with_the_recipe_it_was_made_with():
    """Without a preset named, fine-tuning takes the training preset whose model preset made the
    checkpoint (a model on ImageNet features: cpu_lite0's lower backbone rate), the thin head left
    out of the match (the shipped model is cpu_fast's with the head); a model no preset makes
    keeps the default recipe."""
    from core.demo.sample_model import demo_model_path
    from core.model.checkpoint import load_checkpoint
    from core.model.config import get_preset
    from core.training.config import get_train_preset
    from core.training.start import recipe_of

    assert recipe_of(get_preset("cpu_lite0").to_dict()) == "cpu_lite0"
    assert get_train_preset("cpu_lite0").lr_backbone < get_train_preset("cpu_fast").lr_backbone
    assert recipe_of(get_preset("cpu_fast")) == "cpu_fast"
    assert recipe_of(get_preset("cpu_fast").replace(num_queries=31)) is None
    assert recipe_of(get_preset("cpu_lite0").replace(thin_head=True)) == "cpu_lite0"  # an add-on
    assert recipe_of(load_checkpoint(demo_model_path())["config"]) == "cpu_fast"
