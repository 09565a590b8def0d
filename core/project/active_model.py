"""Which of a project's models predicts: the "active model" setting (no torch needed).

``core.inference.project_model`` loads it (``load_project_predictor``); the application reads
and sets it on every project open and in the Models panel, where importing torch would cost
seconds for nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.project import ModelRecord, Project

#: Project setting holding the id of the model chosen for prediction ("set active model").
ACTIVE_MODEL_SETTING = "models.active"


#: Training statuses (``core.training.project_models``) of runs that ended as planned: at their
#: last epoch or at the time budget the user gave. Spelled out here to keep this module light.
COMPLETED_RUNS = ("finished", "time_limit")


def completed(model: ModelRecord) -> bool:
    """Whether ``model`` may become active without the user choosing it: a model that is not a
    training run of this project (imported, the demo model), or a run that ended as planned. A
    cancelled, failed, interrupted or still running run may hold weights that learnt nothing."""
    status = (model.training or {}).get("status")
    return status is None or status in COMPLETED_RUNS


def active_model_id(project: Project) -> int | None:
    """The project's active model: the one set with ``set_active_model`` when it is still
    registered, else the newest completed model (``completed``) whose checkpoint file exists,
    else None."""
    models = project.models.list()
    chosen = project.get_setting(ACTIVE_MODEL_SETTING)
    if isinstance(chosen, int) and not isinstance(chosen, bool) and any(m.id == chosen for m in models):
        return chosen
    usable = [m for m in models if m.checkpoint is not None and m.checkpoint_exists and completed(m)]
    return usable[-1].id if usable else None


def set_active_model(project: Project, model_id: int | None) -> None:
    """Remember ``model_id`` as the project's active model (None: back to the newest one).
    Raises ``ProjectError`` for an id the project does not have."""
    if model_id is not None:
        project.models.get(model_id)  # raises for an unknown id
    project.set_setting(ACTIVE_MODEL_SETTING, None if model_id is None else int(model_id))
