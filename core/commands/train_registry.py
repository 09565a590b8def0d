"""Headless training of a project, registered like the window's: ``main.py train bridge.pinspect``
writes its run beside the project (``<project>_models/<date-time>``, as the train dialog does) and
records it as a model of the project from the start (status, epochs, PQ, checkpoint, end), so
``evaluate --project`` and the Models panel see it.

The project is opened for each update and closed again (a training run lasts hours; holding the
project's single-writer lock that long would shut the window out). When the project cannot be
written (open in the window, read-only), training still runs and the reason is said once.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Callable

if TYPE_CHECKING:
    from core.project import Project
    from core.training.config import TrainConfig
    from core.training.records import ProgressRecord

log = logging.getLogger(__name__)


def default_run_dir(project_path: Path) -> Path:
    """A new run folder beside the project (what the train dialog proposes)."""
    from core.project import Project
    from core.training.project_models import new_run_dir

    with Project.open(project_path, read_only=True) as project:
        return new_run_dir(project)


class RunRegistry:
    """Keeps one run's model record in the project up to date; a no-op after the first failure
    to write (said once through ``say``)."""

    def __init__(self, project_path: Path, say: Callable[[str], None]):
        self.project_path = project_path
        self.say = say
        self.model_id: int | None = None
        self._broken = False

    def _with_project(self, what: str, fn: Callable) -> None:
        from core.errors import InspectorError
        from core.project import Project

        if self._broken:
            return
        try:
            with Project.open(self.project_path) as project:
                if project.read_only:
                    raise InspectorError(f"opened read-only ({project.read_only_reason})", self.project_path)
                fn(project)
        except (InspectorError, OSError) as e:
            self._broken = True
            reason = e.message() if isinstance(e, InspectorError) else str(e)
            self.say(f"note: the run is not recorded in the project ({what}): {reason}")

    def start(self, out: Path, config: TrainConfig, preset: str, resumed: bool) -> None:
        """Register the run (or, resuming, find its record by its folder and mark it running)."""
        from core.project.paths import normalized_abs
        from core.training import project_models as pm

        def register(project: Project) -> None:
            if resumed:
                for model in project.models.list():
                    info = pm.run_info(project, model)
                    if info.output_dir is not None and normalized_abs(info.output_dir) == normalized_abs(out):
                        self.model_id = model.id
                        pm.mark_running(project, model.id)
                        return
            self.model_id = pm.register_run(project, out, config, preset)

        self._with_project("registering it", register)

    def record(self, rec: ProgressRecord) -> None:
        """Follow one progress record (epochs, evaluations, the end; steps are skipped)."""
        from core.training.records import StatusRecord, StepRecord

        model_id = self.model_id
        if model_id is None or isinstance(rec, StepRecord):
            return
        if isinstance(rec, StatusRecord) and rec.phase != "prepare":
            return
        from core.training import project_models as pm

        self._with_project("recording its progress", lambda project: pm.follow_record(project, model_id, rec))

    def failed(self, message: str) -> None:
        model_id = self.model_id
        if model_id is None:
            return
        from core.training import project_models as pm

        self._with_project("recording its end", lambda project: pm.mark_failed(project, model_id, message))
