"""``TrainingPanel``: the run in progress — progress with ETA, live loss and PQ charts, the log,
and Pause / Continue / Cancel / Resume. Built from a ``TrainingController``.

A run that lasts a time budget (``TrainConfig.follow_budget``) has no last epoch: its progress
bar fills with the budget spent and its time left counts down the budget (the trainer's own
clock, carried by every step record as ``elapsed_s``), plus the closing evaluation. A run that
counts epochs shows them, its time left capped by a time limit when it has one.

Records arrive in bursts (a tiny model makes many steps a second); they are buffered and drawn
at most every ``FLUSH_MS``, so the charts never cost the window its smoothness.
"""
from __future__ import annotations

import math
import statistics
import time
from collections import deque

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QSizePolicy,
                               QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from gui.shell.icons import bind, icon_button
from gui.training import controller as ctl
from gui.training.charts import LossChart, PQChart, loss_terms

FLUSH_MS = 250
#: Steps whose median pace gives the ETA during the first epoch.
PACE_STEPS = 25
#: Recent epochs (and evaluations) whose median time gives the ETA from the second epoch on.
PACE_EPOCHS = 5
LOG_LINES = 2000


def hms(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class TrainingPanel(QWidget):
    """Shows ``controller``'s run. ``trainRequested`` asks for the train dialog (no run yet)."""

    trainRequested = Signal()
    resumeRequested = Signal()

    def __init__(self, controller: ctl.TrainingController, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self.controller = controller
        self.headline = QLabel("No training run yet.")
        self.headline.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.progress.setTextVisible(True)
        self.eta = QLabel("")
        self.eta.setMinimumWidth(150)
        self.train_button = icon_button("Train…", "mdi6.school-outline")
        self.pause_button = icon_button("Pause", "mdi6.pause")
        self.cancel_button = icon_button("Cancel", "mdi6.stop", "Stop after the current step; a checkpoint is kept "
                                         "and the run can be resumed")
        self.resume_button = icon_button("Resume", "mdi6.play-circle-outline",
                                         "Continue the interrupted run from its last checkpoint")
        self.loss_chart = LossChart()
        self.pq_chart = PQChart()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setPlaceholderText("The run's messages appear here.")
        self.log.setMinimumHeight(40)  # the bottom panels must not force a tall window

        top = QHBoxLayout()
        top.addWidget(self.progress, 1)
        top.addWidget(self.eta)
        for b in (self.train_button, self.pause_button, self.cancel_button, self.resume_button):
            top.addWidget(b)
        split = QSplitter()
        split.addWidget(self.loss_chart)
        split.addWidget(self.pq_chart)
        split.addWidget(self.log)
        split.setChildrenCollapsible(False)
        split.setSizes([420, 340, 300])  # relative: the charts get most of the width
        split.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.setSpacing(3)
        lay.addWidget(self.headline)
        lay.addLayout(top)
        # Before the first run, words instead of two empty charts.
        self.placeholder = QLabel("Train a model (Model › Train a model…, or Train… above) to follow its loss, "
                                  "validation PQ and messages here. The Models panel lists the project's models.")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setEnabled(False)  # drawn in the palette's dimmed text colour
        self.pages = QStackedWidget()
        self.pages.addWidget(self.placeholder)
        self.pages.addWidget(split)
        lay.addWidget(self.pages, 1)
        keep = self.progress.sizePolicy()
        keep.setRetainSizeWhenHidden(True)  # the buttons stay on the right
        self.progress.setSizePolicy(keep)
        self.progress.hide()  # shown from the first run on

        self._pending: list = []
        self._step_times: deque = deque(maxlen=PACE_STEPS)  # (step, elapsed_s) of recent steps
        # Measured seconds of the run's recent epochs (training part) and evaluations: once one
        # epoch has ended, the time left is counted in epochs, so a wrong first guess corrects itself.
        self._epoch_seconds: deque = deque(maxlen=PACE_EPOCHS)
        self._eval_seconds: deque = deque(maxlen=PACE_EPOCHS)
        self._epochs_done = 0
        self._eval_pending = False  # the last ended epoch's evaluation is still running
        self._rate: float | None = None  # images per second last shown
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self.flush)
        self.resumable_id: int | None = None
        self._epochs = 0
        self._paused_at: float | None = None
        # The run's time limit in seconds (0: none) and whether the run lasts it; set per run.
        self._budget_s, self._follows_budget = 0.0, False
        # The latest step record's elapsed_s and this clock's reading when it arrived: between
        # records (an evaluation takes minutes) a budget's countdown goes on from there.
        self.clock = time.monotonic
        self._last_elapsed: tuple[float, float] | None = None
        self.train_button.clicked.connect(self.trainRequested)
        self.pause_button.clicked.connect(controller.toggle_pause)
        self.cancel_button.clicked.connect(controller.cancel)
        self.resume_button.clicked.connect(self.resumeRequested)
        controller.runStarted.connect(self._run_started)
        controller.record.connect(self._queue)
        controller.stateChanged.connect(self._state_changed)
        controller.runEnded.connect(self._run_ended)
        controller.failed.connect(lambda e: self.append_log(f"ERROR: {getattr(e, 'reason', None) or e}"))
        self._state_changed(controller.state)

    # --- controls ---------------------------------------------------------------------------------
    def set_resumable(self, model_id: int | None, words: str = "") -> None:
        """Offer Resume for a stopped run (the install object finds it in the project)."""
        self.resumable_id = model_id
        if model_id is not None and not self.controller.busy and words:
            self.headline.setText(words)
        self._state_changed(self.controller.state)

    def _state_changed(self, state: str) -> None:
        busy = state != ctl.IDLE
        self.train_button.setVisible(not busy)
        self.pause_button.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.pause_button.setEnabled(state in (ctl.STARTING, ctl.RUNNING, ctl.PAUSED))
        self.cancel_button.setEnabled(state in (ctl.STARTING, ctl.RUNNING, ctl.PAUSED))
        self.resume_button.setVisible(not busy and self.resumable_id is not None)
        paused = state == ctl.PAUSED
        self.pause_button.setText("Continue" if paused else "Pause")
        bind(self.pause_button, "mdi6.play" if paused else "mdi6.pause")
        if paused:
            self._paused_at = time.monotonic()
            self.eta.setText("paused")
            self.append_log("paused (the model stays in memory; Continue goes on from the same step)")
        elif state == ctl.STOPPING:
            self.eta.setText("stopping…")
            self.append_log("stopping after the current step, with a checkpoint…")
        elif state == ctl.RUNNING and self._paused_at is not None:
            self.append_log("continued")
            self._paused_at = None

    # --- records ----------------------------------------------------------------------------------
    def _run_started(self, model_id: int) -> None:
        self.flush()
        # Cleared in the next turn of the event loop: starting a run already costs this one some
        # work, and the window must not stall (the new records wait in ``_pending`` meanwhile).
        QTimer.singleShot(0, self, self._clear_charts)
        self._epochs = 0
        self._step_times.clear()
        self._epoch_seconds.clear()
        self._eval_seconds.clear()
        self._epochs_done, self._eval_pending = 0, False
        self._budget_s, self._follows_budget = self.controller.run_time_budget()
        self._last_elapsed = None
        self.resumable_id = None
        self.progress.setRange(0, 0)  # busy until the first step says how many there are
        self.progress.setFormat("starting…")
        self.eta.setText("")
        self.headline.setText("Starting the training process…")
        self.append_log(f"— run of model {model_id} —")
        self._flush_timer.start()
        self.pages.setCurrentIndex(1)
        self.progress.show()
        self._state_changed(self.controller.state)

    def _clear_charts(self) -> None:
        self.loss_chart.clear()
        self.pq_chart.clear()

    def _queue(self, rec) -> None:
        self._pending.append(rec)
        if rec.kind == "step":
            self._last_elapsed = (rec.elapsed_s, self.clock())

    def flush(self) -> None:
        """Draw the records received since the last flush (charts once, log lines, progress)."""
        recs, self._pending = self._pending, []
        if not recs:
            if self._follows_budget and self._last_elapsed is not None and self.controller.state == ctl.RUNNING:
                self._show_eta(self.remaining_seconds(), self._rate)  # the budget runs on between records
            return
        losses: dict[str, list[tuple[float, float]]] = {}
        pq: dict[str, list[tuple[float, float]]] = {"pq": [], "pq_things": [], "pq_stuff": []}
        last_step, timing = None, None
        for rec in recs:
            kind = rec.kind
            if kind == "step":
                last_step = rec
                self._step_times.append((rec.step, rec.elapsed_s))
                for k in loss_terms(rec.losses):
                    losses.setdefault(k, []).append((rec.step, rec.losses[k]))
            elif kind == "eval":
                self._eval_seconds.append(rec.seconds)
                self._eval_pending, timing = False, rec
                for k in pq:
                    pq[k].append((rec.epoch, 100 * getattr(rec, k)))
                best = "  — best so far" if rec.best else ""
                self.append_log(f"epoch {rec.epoch}: PQ {100 * rec.pq:.1f} (SQ {100 * rec.sq:.1f}, "
                                f"RQ {100 * rec.rq:.1f}) on {rec.images} photos{best}")
            elif kind == "epoch":
                self._epoch_seconds.append(rec.seconds)
                self._epochs_done, timing = rec.epoch, rec
                self._eval_pending = self._eval_due(rec.epoch)
                self.append_log(f"epoch {rec.epoch} ({rec.stage}): loss {rec.losses.get('loss', math.nan):.3f}, "
                                f"{rec.seconds:.0f} s" + ("  (ended early: time per epoch)" if rec.truncated else ""))
            elif kind == "status":
                if rec.phase == "cache" and rec.total:
                    self.progress.setRange(0, rec.total)
                    self.progress.setValue(rec.done)
                    self.progress.setFormat(rec.message)
                if rec.phase != "cache" or rec.done in (0, rec.total):
                    self.append_log(rec.message)
                if rec.phase in ("prepare", "stage", "resume"):
                    self.headline.setText(rec.message[:1].upper() + rec.message[1:])
            elif kind == "summary":
                self._show_summary(rec)
        if any(losses.values()):
            self.loss_chart.add(losses)
        if any(pq.values()):
            self.pq_chart.add(pq)
        if last_step is not None:
            self._show_step(last_step)
        elif timing is not None and self.controller.state == ctl.RUNNING:
            eta = self.remaining_seconds()
            if timing.kind == "epoch" and timing.seconds > 0:
                self._rate = timing.images / timing.seconds
            self._show_eta(eta, self._rate)

    def _show_step(self, rec) -> None:
        loss = f"loss {rec.losses.get('loss', math.nan):.3f}"
        if self._follows_budget:
            self._show_budget_step(rec)
            self.headline.setText(f"Training — {rec.stage} stage, epoch {rec.epoch} (the run lasts its "
                                  f"{self._budget_s / 60:.4g} min time budget); {loss}")
            return
        epochs = self._config_epochs()
        total_steps = max(1, epochs * rec.steps_per_epoch)
        self.progress.setRange(0, total_steps)
        self.progress.setValue(min(rec.step, total_steps))
        self.progress.setFormat(f"epoch {rec.epoch}/{epochs} · step {rec.epoch_step}/{rec.steps_per_epoch} · %p%")
        if self.controller.state == ctl.RUNNING:
            eta, rate = self._pace(rec, total_steps)
            if self._epoch_seconds:
                eta = self.remaining_seconds(rec)
            if self._budget_s > 0:  # the run stops at its time limit if the epochs take longer
                eta = min(eta, max(self._budget_s - rec.elapsed_s, 0.0))
            self._show_eta(eta, rate)
        self.headline.setText(f"Training — {rec.stage} stage, epoch {rec.epoch} of {epochs}; {loss}")

    def _show_budget_step(self, rec) -> None:
        """Progress of a run that lasts its time budget: the share of the budget spent (whole
        seconds, so the bar moves smoothly however few steps there are)."""
        budget = max(int(round(self._budget_s)), 1)
        self.progress.setRange(0, budget)
        self.progress.setValue(min(int(rec.elapsed_s), budget))
        self.progress.setFormat(f"epoch {rec.epoch} · step {rec.epoch_step}/{rec.steps_per_epoch} · "
                                f"%p% of the time budget")
        if self.controller.state == ctl.RUNNING:
            self._show_eta(self.remaining_seconds(rec), rec.images_per_s)

    def _show_eta(self, eta: float, rate: float | None) -> None:
        self._rate = rate
        self.eta.setText(f"{hms(eta)} left" + (f" · {rate:.1f} img/s" if rate is not None else ""))
        if self._follows_budget:
            closing = (f", then the closing evaluation ({statistics.median(self._eval_seconds):.0f} s)"
                       if self._eval_seconds and self.controller.run_eval_every() > 0 else "")
            self.eta.setToolTip(f"The run lasts its time budget of {self._budget_s / 60:.4g} min{closing}; the "
                                "last epoch is cut there, evaluated and saved")
        elif self._epoch_seconds:
            per_eval = f", {statistics.median(self._eval_seconds):.0f} s per evaluation" if self._eval_seconds else ""
            self.eta.setToolTip(f"From the run's measured epochs: {statistics.median(self._epoch_seconds):.0f} s per "
                                f"epoch{per_eval}")
        else:
            self.eta.setToolTip("From the pace of the recent steps; counted in epochs once the first one ends")

    def _eval_due(self, epoch: int) -> bool:
        """Whether the run evaluates after ``epoch`` (1-based), as the trainer decides."""
        every = self.controller.run_eval_every()
        if self._follows_budget:  # evaluates at save points (core.training.save_points); its time is the budget's
            return False
        return every > 0 and (epoch % every == 0 or epoch == self._config_epochs())

    def remaining_seconds(self, rec=None) -> float:
        """Seconds left from the measured epochs: the median training time of the recent epochs
        for each epoch left (the current one's share by its steps left, ``rec`` being its latest
        step record; None: right after an epoch ended), and the median evaluation time for each
        evaluation left (the evaluation cadence of the run, the pending one included). Before any
        evaluation has been timed, evaluations count nothing. NaN before the first epoch ends.

        A run that lasts its time budget: the budget left on the trainer's clock (``rec``'s, else
        the latest step's carried on by the time since it arrived) plus the closing evaluation
        once an evaluation has been timed; the whole budget before the first step."""
        if self._follows_budget:
            return self._budget_left(rec)
        if not self._epoch_seconds:
            return math.nan
        per_epoch = statistics.median(self._epoch_seconds)
        per_eval = statistics.median(self._eval_seconds) if self._eval_seconds else 0.0
        epochs = self._config_epochs()
        if rec is not None and rec.epoch > self._epochs_done:  # inside epoch rec.epoch
            current = rec.epoch
            left = (rec.steps_per_epoch - rec.epoch_step) / max(rec.steps_per_epoch, 1) + (epochs - current)
            evals = sum(self._eval_due(e) for e in range(current, epochs + 1))
        else:
            left = epochs - self._epochs_done
            evals = sum(self._eval_due(e) for e in range(self._epochs_done + 1, epochs + 1)) + self._eval_pending
        return max(left, 0.0) * per_epoch + evals * per_eval

    def _budget_left(self, rec=None) -> float:
        if rec is not None:
            elapsed = rec.elapsed_s
        elif self._last_elapsed is not None:
            elapsed, at = self._last_elapsed
            if self.controller.state == ctl.RUNNING:
                elapsed += max(self.clock() - at, 0.0)
        else:
            elapsed = 0.0
        closing = 0.0
        if self._eval_seconds and self.controller.run_eval_every() > 0:
            closing = statistics.median(self._eval_seconds)
        return max(self._budget_s - elapsed, 0.0) + closing

    def _pace(self, rec, total_steps: int) -> tuple[float, float]:
        """``(seconds left, images per second)`` from the median time per step of the recent
        steps. The trainer's own figures are a moving average that a pause (one very long step)
        throws off for many steps; the median is not moved by it."""
        times = list(self._step_times)
        paces = [(t1 - t0) / (s1 - s0) for (s0, t0), (s1, t1) in zip(times, times[1:]) if s1 > s0 and t1 >= t0]
        remaining = max(total_steps - rec.step, 0)
        if len(paces) < 3:
            return rec.eta_s, rec.images_per_s
        pace = sorted(paces)[len(paces) // 2]
        rate = rec.images_per_s
        if remaining and rec.eta_s > 0 and pace > 0:  # the trainer's ETA is remaining x its average pace
            rate = rec.images_per_s * (rec.eta_s / remaining) / pace
        return remaining * pace, rate

    def _config_epochs(self) -> int:
        if not self._epochs:
            self._epochs = self.controller.run_epochs() or 1
        return self._epochs

    def _show_summary(self, rec) -> None:
        words = {"finished": "Finished", "cancelled": "Stopped", "time_limit": "Stopped at the time limit"}
        pq = f"; best PQ {100 * rec.best_pq:.1f} at epoch {rec.best_epoch}" if math.isfinite(rec.best_pq) else ""
        text = (f"{words.get(rec.status, rec.status)}: {rec.epochs_done} epochs, {rec.steps} steps in "
                f"{hms(rec.elapsed_s)}{pq}.")
        if rec.status != "finished" and rec.last_checkpoint:
            text += " Resume continues from the checkpoint."
        self.headline.setText(text)
        self.append_log(text)

    def _run_ended(self, status: str) -> None:
        self.flush()
        self._flush_timer.stop()
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        if status == "finished":
            self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(f"{status.replace('_', ' ')} · %p%")
        self.eta.setText("")
        if status == "failed":
            self.headline.setText("The training stopped on an error (see the log); the last checkpoint is kept.")
        self._state_changed(self.controller.state)

    def changeEvent(self, event) -> None:
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.PaletteChange:  # light <-> dark: charts draw their own colours
            self.loss_chart.apply_palette()
            self.pq_chart.apply_palette()
        super().changeEvent(event)

    def append_log(self, line: str) -> None:
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {line}")
        self.log.moveCursor(QTextCursor.MoveOperation.End)
