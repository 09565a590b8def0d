"""The train dialog's device and speed: ``SpeedEstimate`` measures, ``estimate_words`` says it.

The run's length is measured on this machine, on a few of the project's own photos through the
run's data pipeline, in a helper process a moment after the choices settle
(``core.training.estimate``): torch's threads and memory stay the helper's, and the dialog never
waits on it. A newer measurement or closing the dialog ends an older one; an older result that
still arrives is dropped.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from gui.workers.base import Task, TaskRunner

if TYPE_CHECKING:
    from core.training.config import TrainConfig
    from core.training.estimate import RunEstimate

#: Wait this long after the last change before measuring the speed again.
ESTIMATE_DELAY_MS = 700


@dataclass(frozen=True)
class SpeedSample:
    """What to measure: the project, the run's config (``TrainConfig.to_dict()``), the model's
    architecture when fine-tuning one of the project's models (else None), and, for the words
    shown meanwhile, how many photos are timed at which size."""

    project_path: str
    config: dict
    model_config: dict | None
    photos: int
    size: int


class SpeedEstimate(QObject):
    """Measures the run's speed for the dialog's choices and shows the device.

    ``sample()`` says what to measure now (None: nothing to measure, e.g. the choices do not fit).
    ``estimate`` is the last measurement (None before one, or while a new one is due).

    Signals:
        measured(object): a measurement ended (its ``RunEstimate``).
    """

    measured = Signal(object)

    def __init__(self, runner: TaskRunner, sample: Callable[[], SpeedSample | None], device_label: QLabel,
                 estimate_label: QLabel, enabled: bool = True, parent: QObject | None = None):
        super().__init__(parent)
        self.runner, self.sample, self.enabled = runner, sample, enabled
        self.device_label, self.estimate_label = device_label, estimate_label
        self.estimate: RunEstimate | None = None
        self._task: Task | None = None
        self._token: object | None = None  # results of an older measurement are dropped
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(ESTIMATE_DELAY_MS)
        self._timer.timeout.connect(self._measure)
        if not enabled:
            device_label.setText("(device not checked)")

    @property
    def measuring(self) -> bool:
        """A measurement is running or due."""
        return self._task is not None or self._timer.isActive()

    def schedule(self, delay: int = ESTIMATE_DELAY_MS) -> None:
        """Measure again ``delay`` ms after the last call (the figure shown so far is withdrawn)."""
        if self.enabled:
            self.estimate = None
            self.estimate_label.setText("Measuring the speed on your photos…")
            self._timer.start(delay)

    def stop(self) -> None:
        """End a due or running measurement (closing the dialog)."""
        self._timer.stop()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _measure(self) -> None:
        from core.training.background import call_in_child
        from core.training.estimate import estimate_project_run

        self.stop()
        sample = self.sample()
        if sample is None:
            self.estimate_label.setText("")
            return
        args = (sample.project_path, sample.config, sample.model_config)
        self.estimate = None
        self.estimate_label.setText(f"Measuring the speed on {sample.photos} of your photos at {sample.size} px…")
        token = object()
        self._token = token
        self._task = self.runner.start(
            lambda _p, cancel: call_in_child(estimate_project_run, args, cancel), "measure the training speed",
            on_finished=lambda r: self._measured(r) if self._token is token else None,
            on_failed=lambda e: self._failed(e) if self._token is token else None,
            report_errors=False)

    def _measured(self, result: RunEstimate) -> None:
        self._task = None
        self.estimate = result
        self.device_label.setText(result.device.words())
        self.measured.emit(result)

    def _failed(self, error: BaseException) -> None:
        self._task = None
        self.estimate_label.setText(f"Could not measure the speed: {getattr(error, 'reason', None) or error}")


def estimate_words(est: RunEstimate, cfg: TrainConfig, total_s: float, n_train: int, n_val: int) -> str:
    """The estimate as the dialog shows it (rich text): the whole run (``total_s``), an epoch with
    its share of evaluation, where it runs, and what the figure was measured on."""
    from core.training.estimate import duration_words, epoch_train_seconds

    budget_run = cfg.follow_budget and cfg.max_minutes > 0
    # A budget run saves and evaluates about once a minute (core.training.save_points), not per epoch.
    epoch = epoch_train_seconds(est, n_train, n_val, cfg.batch_size, checkpoint=not budget_run)
    if cfg.eval_every > 0 and not budget_run:  # the evaluation's share, spread over the epochs
        epoch += n_val * est.eval_s / cfg.eval_every
    per_epoch = "per epoch" if budget_run else "per epoch with evaluation and checkpoints"
    where = "on the GPU" if est.device.kind == "cuda" else "on the CPU"
    photos = f"{est.photos} of your photos" if est.photos != 1 else "one of your photos"
    budget = ""
    if cfg.max_minutes > 0:
        budget = " (the time budget)" if cfg.follow_budget else f" (at most the {cfg.max_minutes:g} min budget)"
    return (f"The whole run: <b>{duration_words(total_s)}</b> {where}{budget}, {duration_words(epoch)} {per_epoch}."
            f"<br>Measured on {photos} at {cfg.max_size} px (reading one "
            f"{est.decode_s:.2f} s, a training step {est.step_s * cfg.batch_size:.2f} s); refined from the "
            "first epoch once training starts.")


__all__ = ["ESTIMATE_DELAY_MS", "SpeedEstimate", "SpeedSample", "estimate_words"]
