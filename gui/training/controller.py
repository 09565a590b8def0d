"""``TrainingController``: the project's training run, from start to registered model.

It owns the one ``TrainingProcess`` and keeps the project's model registry up to date with the
run's records (``core.training.project_models``): a run is registered when it starts, follows
its epochs, PQ and checkpoints, and ends finished, stopped (resumable) or failed. Views (the
training panel, the models panel) listen to its signals and never talk to the process.

Signals:
    stateChanged(str): ``idle`` | ``starting`` | ``running`` | ``paused`` | ``stopping``.
    runStarted(int): the model id of the run that starts (a new one, or one resumed).
    record(object): every ``ProgressRecord`` of the run.
    runEnded(str): ``finished`` | ``cancelled`` | ``time_limit`` | ``failed``.
    failed(object): the error that stopped the run (also given to ``on_error``).
    modelsChanged(): the project's models changed (registered, updated, deleted, active).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from core.errors import ProjectError, TrainingError
from core.training import project_models as pm
from core.training.background import RunSpec
from core.training.config import TrainConfig
from gui.session.project_session import ProjectSession
from gui.training.process import TrainingProcess

log = logging.getLogger(__name__)

IDLE, STARTING, RUNNING, PAUSED, STOPPING = "idle", "starting", "running", "paused", "stopping"


@dataclass(frozen=True)
class TrainRequest:
    """What the train dialog asks for: the settings, the preset they started from, and the model
    config of the initial weights when they are a model of this project (else None)."""

    config: TrainConfig
    preset: str
    model_config: dict | None = None


def stored_budget(stored: dict) -> tuple[float, bool]:
    """``run_time_budget()`` of a run from its stored ``TrainConfig`` dict (a resumed run keeps
    its schedule; its elapsed time counts against the same budget)."""
    try:
        seconds = max(float(stored.get("max_minutes", 0) or 0), 0.0) * 60
    except (TypeError, ValueError):  # a hand-edited or damaged record: no budget shown, the run decides
        seconds = 0.0
    return seconds, bool(stored.get("follow_budget")) and seconds > 0


class TrainingController(QObject):
    stateChanged = Signal(str)
    runStarted = Signal(int)
    record = Signal(object)
    runEnded = Signal(str)
    failed = Signal(object)
    modelsChanged = Signal()

    def __init__(self, session: ProjectSession, on_error: Callable[[BaseException, str], object] | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.on_error = on_error
        self.process = TrainingProcess(self)
        self.state = IDLE
        self.model_id: int | None = None      # the run in progress (or the last one)
        self.records: list = []               # the run's records so far (views joining late replay them)
        self._project = None                  # the project the run belongs to
        self._epochs = 0
        self._eval_every = 1
        self._budget: tuple[float, bool] = (0.0, False)
        self.process.record.connect(self._on_record)
        self.process.failed.connect(self._on_failed)
        self.process.ended.connect(self._on_ended)
        session.opened.connect(self._project_opened)
        session.closing.connect(self._project_closing)

    # --- asking -----------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.state != IDLE

    def _writable_project(self):
        project = self.session.project
        if project is None:
            raise TrainingError("open a project first")
        if project.read_only:
            raise ProjectError("the project is open read-only, so a trained model could not be registered in it",
                               project.path, hint="use File › Save as copy, then train in the copy")
        if self.busy:
            raise TrainingError("a training run is already in progress", hint="wait for it, or cancel it")
        return project

    def start(self, request: TrainRequest, output_dir: Path | None = None) -> int:
        """Register a new run and start it; returns its model id. Errors are raised (the dialog
        shows them), nothing is started then."""
        project = self._writable_project()
        out = Path(output_dir) if output_dir else pm.new_run_dir(project)
        try:  # here, so a folder that cannot be written is said before anything is registered
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TrainingError(f"cannot create the run's folder: {e.strerror or e}", out,
                                hint="the project's folder must be writable; copy the project elsewhere") from e
        model_id = pm.register_run(project, out, request.config, request.preset, request.model_config)
        cfg = request.config
        self._launch(project, model_id, RunSpec(str(project.path), str(out), cfg.to_dict()), cfg.epochs,
                     cfg.eval_every, (cfg.max_minutes * 60, cfg.follow_budget and cfg.max_minutes > 0))
        QTimer.singleShot(0, self, self.modelsChanged.emit)  # the lists refresh in the next turn of the loop
        return model_id

    def resume(self, model_id: int) -> None:
        """Continue a stopped or interrupted run from its ``last.pt``, with its own settings."""
        project = self._writable_project()
        info = pm.run_info(project, project.models.get(model_id))
        if not info.resumable:
            raise TrainingError("this run cannot be resumed: " + (
                "it has finished" if info.status == pm.FINISHED else "no resumable checkpoint (last.pt) was found"),
                info.output_dir)
        pm.mark_running(project, model_id)
        stored = (project.models.get(model_id).training or {}).get("train_config") or {}
        self._launch(project, model_id, RunSpec(str(project.path), str(info.output_dir), None,
                                                resume=str(info.last_checkpoint)), info.epochs,
                     int(stored.get("eval_every", 1) or 0), stored_budget(stored))
        QTimer.singleShot(0, self, self.modelsChanged.emit)

    def run_epochs(self) -> int:
        """Epochs the current (or last) run trains in all."""
        return self._epochs

    def run_eval_every(self) -> int:
        """The current (or last) run evaluates every this many epochs and after its last (0: never)."""
        return self._eval_every

    def run_time_budget(self) -> tuple[float, bool]:
        """``(seconds, follows)`` of the current (or last) run: its time limit (0: none) and
        whether the run lasts that long (``TrainConfig.follow_budget``: the epochs no longer count,
        the run ends when the budget is spent) rather than merely stopping there."""
        return self._budget

    def _launch(self, project, model_id: int, spec: RunSpec, epochs: int, eval_every: int = 1,
                budget: tuple[float, bool] = (0.0, False)) -> None:
        self._project, self.model_id, self.records, self._epochs = project, model_id, [], epochs
        self._eval_every, self._budget = eval_every, budget
        try:
            self.process.start(spec)
        except BaseException as e:
            pm.mark_failed(project, model_id, f"could not start the training process: {e}")
            self._project = None
            raise
        self._set_state(STARTING)
        self.runStarted.emit(model_id)

    def pause(self) -> None:
        if self.state in (STARTING, RUNNING):
            self.process.pause()
            self._set_state(PAUSED)

    def resume_paused(self) -> None:
        if self.state == PAUSED:
            self.process.resume()
            self._set_state(RUNNING)

    def toggle_pause(self) -> None:
        """Pause a running run, or let a paused one continue (the panel's button, the menu's action)."""
        if self.state == PAUSED:
            self.resume_paused()
        else:
            self.pause()

    def cancel(self) -> None:
        """Stop after the current step with a resumable checkpoint."""
        if self.state in (STARTING, RUNNING, PAUSED):
            self.process.cancel()
            self._set_state(STOPPING)

    # --- the run's messages -----------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)

    def _registry(self, what: str, fn: Callable, *args) -> None:
        """Write to the run's project, if it is still the open one; a failed write is shown but
        does not stop the run (the run's own files hold everything; reopening reconciles)."""
        project = self._project
        if project is None or project is not self.session.project or self.model_id is None:
            return
        try:
            fn(project, self.model_id, *args)
        except Exception as e:  # noqa: BLE001 - a failed registry write is shown, never stops the run
            log.warning("could not %s: %s", what, e)
            if self.on_error is not None:
                self.on_error(e, what)

    def _on_record(self, rec) -> None:
        self.records.append(rec)
        if self.state == STARTING and rec.kind == "step":
            self._set_state(RUNNING)
        if rec.kind in ("epoch", "eval", "summary") or (rec.kind == "status" and rec.phase == "prepare"):
            self._registry("record the training progress in the project", pm.follow_record, rec)
            if rec.kind != "status":
                self.modelsChanged.emit()
        self.record.emit(rec)

    def _on_failed(self, error: BaseException) -> None:
        message = getattr(error, "reason", None) or str(error)
        details = getattr(error, "details", "")
        if details:  # a bug in the training code: its traceback, for the log
            log.error("the training process failed:\n%s", details)
        self._registry("record the training failure in the project", pm.mark_failed, message)
        self.failed.emit(error)
        if self.on_error is not None:
            self.on_error(error, "train the model")

    def _on_ended(self, status: str) -> None:
        self._project = None
        self._set_state(IDLE)
        self.runEnded.emit(status)
        QTimer.singleShot(0, self, self._settle)  # the lists refresh in the next turn of the loop

    def _settle(self) -> None:
        # A run whose records could not reach the registry (its project was closed and opened
        # again meanwhile) is settled from its own folder now.
        project = self.session.project
        if project is not None and not self.busy:
            self._project_opened(project)
        self.modelsChanged.emit()

    # --- the project ------------------------------------------------------------------------------
    def _project_opened(self, project) -> None:
        if project.read_only:
            return
        try:
            changed = pm.reconcile(project, {self.model_id} if self.busy and self.model_id is not None else set())
        except Exception as e:  # noqa: BLE001 - a registry read problem must not block opening
            log.warning("could not check the project's training runs: %s", e)
            return
        if changed:
            log.info("training runs settled after a restart: %s", changed)
            self.modelsChanged.emit()

    def _project_closing(self) -> None:
        """The run's project closes: stop the run with a checkpoint; its outcome is read back from
        its folder (``summary.json``) when the project opens again."""
        if self.busy and self._project is self.session.project:
            self.cancel()
            self._project = None
