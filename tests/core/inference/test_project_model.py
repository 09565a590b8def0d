"""The project's active model and loading it with every check (core.inference.project_model)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.categories import Category, CategorySet, default_categories
from core.editing import compute_areas
from core.errors import CategoryError, CheckpointError, ProjectError
from core.inference.project_model import active_model_id, load_project_predictor, set_active_model
from core.inference.label_maps import expand_nearest, expanded_areas
from core.model import save_checkpoint
from core.project import Project
from tests.support.models import TINY, tiny_model


@pytest.fixture
def project(tmp_path):
    p = Project.create(tmp_path / "models.pinspect", default_categories())
    yield p
    p.close()


def test_the_active_model_is_the_chosen_one_else_the_newest_with_a_checkpoint(project, checkpoint, tmp_path):
    cats = default_categories()
    assert active_model_id(project) is None
    first = project.models.add("first", checkpoint=checkpoint, config={}, categories=cats)
    second = project.models.add("second", checkpoint=checkpoint, config={}, categories=cats)
    project.models.add("training", checkpoint=None, config={}, categories=cats)  # no checkpoint yet
    project.models.add("moved", checkpoint=tmp_path / "gone.pt", config={}, categories=cats)
    assert active_model_id(project) == second
    set_active_model(project, first)
    assert active_model_id(project) == first
    project.models.delete(first)
    assert active_model_id(project) == second  # a deleted choice falls back
    with pytest.raises(ProjectError):
        set_active_model(project, 999)
    set_active_model(project, None)
    assert active_model_id(project) == second


def test_loading_refuses_what_would_predict_wrongly(project, checkpoint, tmp_path):
    cats = default_categories()
    good = project.models.add("good", checkpoint=checkpoint, config={}, categories=cats)
    predictor = load_project_predictor(project, good, "cpu")
    assert predictor.categories == cats
    with pytest.raises(ProjectError, match="no checkpoint yet"):
        load_project_predictor(project, project.models.add("new", checkpoint=None, config={}, categories=cats))
    with pytest.raises(CheckpointError, match="missing"):
        load_project_predictor(project, project.models.add("gone", checkpoint=tmp_path / "gone.pt", config={},
                                                           categories=cats))
    cut = tmp_path / "cut.pt"
    cut.write_bytes(checkpoint.read_bytes()[:5000])
    with pytest.raises(CheckpointError) as info:
        load_project_predictor(project, project.models.add("cut", checkpoint=cut, config={}, categories=cats))
    assert "cut.pt" in str(info.value)
    model, _ = tiny_model()
    with torch.no_grad():
        model.mask_head.out_lay.weight[0, 0, 0, 0] = float("nan")
    diverged = tmp_path / "nan.pt"
    save_checkpoint(diverged, model, TINY, cats, {})
    with pytest.raises(CheckpointError, match="NaN"):
        load_project_predictor(project, project.models.add("nan", checkpoint=diverged, config={}, categories=cats))
    other = CategorySet([Category(1, "graffiti", True, (200, 0, 200)), *list(cats)[1:]])
    with Project.create(tmp_path / "other.pinspect", other) as p2:
        mid = p2.models.add("good", checkpoint=checkpoint, config={}, categories=cats)
        with pytest.raises(CategoryError, match="graffiti"):
            load_project_predictor(p2, mid, "cpu")


@pytest.mark.parametrize("small,full", [((7, 5), (30, 17)), ((24, 32), (3000, 4000)), ((9, 9), (9, 9)),
                                        ((5, 8), (4, 3))])
def test_areas_counted_on_the_small_map_equal_the_full_size_ones(small, full):
    labels = np.random.default_rng(sum(small)).integers(0, 6, small).astype(np.uint8)
    assert expanded_areas(labels, *full) == compute_areas(expand_nearest(labels, *full))
