"""The model a project predicts with: which one is active, and loading it with every check.

    model_id = active_model_id(project)                 # None when the project has no usable model
    predictor = load_project_predictor(project, model_id)

``load_project_predictor`` is what the application (and scripts) call before predicting or
evaluating: it refuses, with a message naming the checkpoint, a model that has no checkpoint yet,
whose file is missing or damaged (``Predictor.from_checkpoint``), whose categories are not the
project's (``check_categories``), or whose weights hold NaN or infinite values (a diverged
training run: its predictions would be empty or garbage without saying why).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.errors import CheckpointError, ProjectError
# Re-exported from here, torch-free, so the application can ask which model is active without loading torch.
from core.project.active_model import (ACTIVE_MODEL_SETTING, active_model_id,  # noqa: F401 - re-exported
                                       set_active_model)

if TYPE_CHECKING:
    from pathlib import Path

    from core.inference.predictor import Predictor
    from core.project import Project

log = logging.getLogger(__name__)


def check_finite_weights(predictor: Predictor, where: str | Path | None = None) -> None:
    """Raise ``CheckpointError`` when any parameter or buffer of the model is NaN or infinite.

    One pass over the weights (tens of milliseconds for DETR-R50); a model trained into NaN
    otherwise predicts nothing at all, which looks like a model that sees no defects."""
    import torch

    model = predictor.model
    with torch.no_grad():
        for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise CheckpointError(f"the model's weights contain NaN or infinite values ({name}); its training "
                                      "diverged", where, hint="use an earlier checkpoint, or train again with a lower "
                                                              "learning rate")


def load_project_predictor(project: Project, model_id: int, device: str = "auto") -> Predictor:
    """A ``Predictor`` for the registered model ``model_id``, checked against the project.

    Raises:
        ProjectError: no such model, or it has no checkpoint yet.
        CheckpointError: the file is missing, damaged, unsafe, box-only, or its weights are not finite.
        CategoryError: the model's categories are not the project's.
    """
    from core.inference.predictor import Predictor
    from core.inference.store import check_categories

    rec = project.models.get(model_id)
    if rec.checkpoint is None:
        raise ProjectError(f"the model {rec.name!r} has no checkpoint yet", project.path,
                           hint="wait until its training has saved one")
    if not rec.checkpoint_exists:
        raise CheckpointError(f"the checkpoint of the model {rec.name!r} is missing", rec.checkpoint,
                              hint="move the file back, or train the model again")
    predictor = Predictor.from_checkpoint(rec.checkpoint, device)
    check_categories(predictor.categories, project.categories.get(), f"the model {rec.name!r}")
    check_finite_weights(predictor, rec.checkpoint)
    log.info("model %d (%s) ready for prediction", model_id, rec.name)
    return predictor
