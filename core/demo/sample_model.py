"""The demo model shipped in ``resources/models/``, put into a project ready to look at.

``add_demo_model(project_path)`` copies the model next to the project (into its runs folder,
``<project>_models/demo/``, where the application keeps trained models), registers it, makes it
the active model and predicts every photo, so the first start opens with predictions the
confidence slider can re-threshold at once. The sample project builder calls it
(``core.demo.sample_project.build_sample_project(..., with_demo_model=True)``).

The model is an ordinary checkpoint of ours (``core.model.checkpoint.export_model``: float16
weights, loaded as float32); ``resources/models/README.md`` says how it was trained.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from core.progress import CancelFlag, ProgressFn

log = logging.getLogger(__name__)

#: The shipped model, as ``core.resources.resource_path`` names it.
DEMO_MODEL_RESOURCE = "models/demo_cpu_fast.pt"
#: Name and note of the model in a project's model list.
DEMO_MODEL_NAME = "demo model (cpu_fast, synthetic photos)"
DEMO_MODEL_NOTE = ("Shipped with the application: trained on generated photos of concrete "
                   "(resources/models/README.md). Train on your own photos for real work.")
#: Sub-folder of the project's runs folder that holds the copy.
DEMO_FOLDER = "demo"





@dataclass
class DemoModelReport:
    """What ``add_demo_model`` did: the model's id in the project (None when there is no demo
    model), its copy, the photos predicted and skipped (``(image id, path, reason)``), and
    whether a cancel cut the predicting short (what was predicted stays)."""

    model_id: int | None = None
    checkpoint: Path | None = None
    predicted: list[int] = field(default_factory=list)
    failed: list[tuple[int, str, str]] = field(default_factory=list)
    cancelled: bool = False


def demo_model_path() -> Path | None:
    """``resources/models/demo_cpu_fast.pt``, or None when this build has no demo model."""
    from core.resources import resource_path

    try:
        return resource_path(DEMO_MODEL_RESOURCE)
    except FileNotFoundError:
        return None


def add_demo_model(project_path: str | Path, progress: ProgressFn | None = None, cancel: CancelFlag | None = None,
                   *, model_path: str | Path | None = None, threshold: float = 0.5,
                   device: str = "auto") -> DemoModelReport:
    """Copy the demo model next to the project, register it, set it active and predict every photo.

    Args:
        project_path: an existing project (opened for writing here, closed again).
        progress: ``progress(done, total, photo name)`` while predicting.
        cancel: ``is_set()`` stops the predicting; what was stored stays and the model stays active.
        model_path: another model file (default: ``demo_model_path()``).
        threshold: the confidence the stored results are shown at (re-thresholdable later).
    Returns an empty report (``model_id`` None) when there is no demo model: the project is left as
    it was.
    Raises:
        CheckpointError: the model file is damaged or its weights are not finite.
        CategoryError: its categories are not the project's.
        ProjectError: the project cannot be opened for writing.
    """
    from core.project import Project

    src = Path(model_path) if model_path is not None else demo_model_path()
    if src is None:
        log.info("no demo model in this build (%s); %s is left without one", DEMO_MODEL_RESOURCE, project_path)
        return DemoModelReport()
    from core.demo.threads import torch_threads
    from core.inference.store import predict_images

    with Project.open(project_path) as project, torch_threads():
        predictor, copy = _load_copy(project, src, device)
        model_id = _register(project, predictor)
        done = predict_images(project, predictor, model_id=model_id, threshold=threshold, progress=progress,
                              cancel=cancel)
    log.info("demo model %s added to %s: %d photos predicted", src.name, project_path, len(done.predicted))
    return DemoModelReport(model_id, copy, done.predicted, done.failed, done.cancelled)


def _load_copy(project, src: Path, device: str):
    """Copy ``src`` into the project's runs folder (atomically) and load the copy, checked: a
    damaged or diverged file, or one of other categories, is refused before anything is registered."""
    from core.inference.predictor import Predictor
    from core.inference.project_model import check_finite_weights
    from core.inference.store import check_categories
    from core.training.checkpointing import atomic_copy
    from core.training.project_models import runs_folder

    dest = runs_folder(project) / DEMO_FOLDER / src.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not (dest.is_file() and dest.stat().st_size == src.stat().st_size and dest.read_bytes() == src.read_bytes()):
        atomic_copy(src, dest)
    try:
        predictor = Predictor.from_checkpoint(dest, device)
        check_categories(predictor.categories, project.categories.get(), f"the demo model {src.name}")
        check_finite_weights(predictor, dest)
    except BaseException:
        dest.unlink(missing_ok=True)  # an unusable copy would only puzzle whoever opens the folder
        raise
    return predictor, dest


def _register(project, predictor) -> int:
    """Registered (or found registered) with its note, as the project's active model."""
    from core.project.active_model import set_active_model
    from core.inference.store import register_model

    model_id = register_model(project, predictor, name=DEMO_MODEL_NAME)
    project.models.update(model_id, notes=DEMO_MODEL_NOTE)
    set_active_model(project, model_id)
    return model_id
