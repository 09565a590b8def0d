"""Training and models in the main window: one call, ``install_training(services)``.

It adds the Training and Models panels (bottom dock area, tabbed with the other bottom panels),
the Model menu's training actions, a status-bar button while a run is in progress, and the
question asked when the window closes during a run. The window connects ``activeModelChanged``
to prediction, calls ``confirm_close()`` in its ``closeEvent`` and closes itself on
``readyToClose``.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QToolButton

from core.training import project_models as pm
from gui.training import controller as ctl
from gui.training.controller import TrainingController
from gui.training.models_panel import ModelsPanel
from gui.training.train_dialog import TrainDialog
from gui.training.training_panel import TrainingPanel

if TYPE_CHECKING:
    from gui.shell.services import Services

log = logging.getLogger(__name__)

#: How long closing waits for a cancelled run's checkpoint before ending the process by force.
CLOSE_WAIT_MS = 60_000


class TrainingInstall(QObject):
    """The training features of a window.

    Attributes: ``controller`` (``TrainingController``), ``panel`` (``TrainingPanel``),
    ``models_panel`` (``ModelsPanel``), ``dialog`` (the open ``TrainDialog`` or None).

    Signals:
        activeModelChanged(object): the project's active model changed — its id (int), or None
            when no model is active (deleted, or a project without one opened; a finished first
            run becomes the active model). Prediction follows it (the window connects them) and
            reads the model from the project store (``project.models.active()``).
        readyToClose(): the run stopped after ``confirm_close`` was answered yes: the window
            may close now.
    """

    activeModelChanged = Signal(object)
    readyToClose = Signal()

    def __init__(self, services: Services):
        super().__init__(services.dialog_parent)
        s = self.services = services
        self.controller = TrainingController(s.session, s.reporter.report, self)
        self.panel = TrainingPanel(self.controller)
        self.models_panel = ModelsPanel(s.session, self.controller, s.runner)
        self.training_dock = s.panels.place("training", "Training", self.panel)
        self.models_dock = s.panels.place("models", "Models", self.models_panel)
        self.dialog: TrainDialog | None = None
        #: ``() -> bool``: may the window close, stopping the run? Replaced by tests.
        self.ask_stop = self._ask_stop
        self._closing = False
        self._build_actions()
        # While annotating with another panel in front, the status bar still shows the run.
        self.status_button = QToolButton()
        self.status_button.setAutoRaise(True)
        self.status_button.setToolTip("The training run in progress: click to show it")
        self.status_button.clicked.connect(lambda: self.show_dock(self.training_dock))
        s.status.addPermanentWidget(self.status_button)
        self.status_button.hide()
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(1000)
        self._status_timer.timeout.connect(self._show_status)
        self.models_panel.activeChanged.connect(self.activeModelChanged)
        self.models_panel.resumeRequested.connect(self.resume)
        self.models_panel.errorOccurred.connect(s.reporter.report)
        self.panel.trainRequested.connect(self.open_train_dialog)
        self.panel.resumeRequested.connect(self._resume_interrupted)
        self.controller.stateChanged.connect(self._update_actions)
        self.controller.runEnded.connect(self._run_ended)
        self.controller.modelsChanged.connect(self._find_resumable)
        s.session.opened.connect(lambda _p: self._refresh())
        s.session.closed.connect(self._refresh)
        self._update_actions()

    # --- menu -------------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        acts = self.services.actions
        m = acts.menu("model", "&Model")
        m.addSeparator()
        self.train_action = acts.add("train", "&Train a model…", self.open_train_dialog, "Ctrl+Shift+T",
                                     "mdi6.school-outline", "Train a DETR model on the project's annotated photos")
        self.pause_action = acts.add("train_pause", "&Pause training", self.controller.toggle_pause, None,
                                     "mdi6.pause")
        self.cancel_action = acts.add("train_cancel", "&Cancel training", self.controller.cancel, None, "mdi6.stop",
                                      "Stop after the current step; a checkpoint is kept")
        self.resume_action = acts.add("train_resume", "&Resume the interrupted training",
                                      self._resume_interrupted, None, "mdi6.play-circle-outline")
        self.models_action = acts.add("models", "&Models", lambda: self.show_dock(self.models_dock), None,
                                      "mdi6.cube-outline", "The project's models: set the active one, delete, open")
        for a in (self.train_action, self.pause_action, self.cancel_action, self.resume_action):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.models_action)

    def _resume_interrupted(self) -> None:
        """Resume the run the panel offers, if it still offers one."""
        if self.panel.resumable_id is not None:
            self.resume(self.panel.resumable_id)

    def _refresh(self) -> None:
        """After a project opens or closes: what can be resumed, and which actions apply."""
        self._find_resumable()
        self._update_actions()

    def _show_status(self) -> None:
        state, bar = self.controller.state, self.panel.progress
        if state == ctl.IDLE:
            self.status_button.hide()
            self._status_timer.stop()
            return
        if state == ctl.STARTING or bar.maximum() <= 0:
            text = "Training: starting…"
        else:
            words = {ctl.PAUSED: "paused", ctl.STOPPING: "stopping…"}.get(state, self.panel.eta.text().split(" · ")[0])
            text = f"Training {100 * bar.value() // max(bar.maximum(), 1)} % · {words}"
        self.status_button.setText(text)
        self.status_button.show()

    def _update_actions(self, *_args) -> None:
        if self.controller.busy and not self._status_timer.isActive():
            self._status_timer.start()
            self._show_status()
        s, state = self.services.session, self.controller.state
        writable = s.project is not None and not s.read_only
        self.train_action.setEnabled(writable and state == ctl.IDLE)
        self.pause_action.setEnabled(state in (ctl.STARTING, ctl.RUNNING, ctl.PAUSED))
        self.pause_action.setText("Continue training" if state == ctl.PAUSED else "&Pause training")
        self.cancel_action.setEnabled(state in (ctl.STARTING, ctl.RUNNING, ctl.PAUSED))
        self.resume_action.setEnabled(writable and state == ctl.IDLE and self.panel.resumable_id is not None)

    def show_dock(self, dock) -> None:
        self.services.panels.show(dock)

    # --- training ---------------------------------------------------------------------------------
    def open_train_dialog(self, measure: bool = True) -> TrainDialog | None:
        """Open the train dialog (window-modal); starting happens when it is accepted."""
        sv = self.services
        s = sv.session
        if s.project is None or s.read_only or self.controller.busy:
            sv.status.showMessage("Training needs an open, writable project and no run in progress", 6000)
            return None
        dialog = TrainDialog(s, sv.runner, sv.dialog_parent, measure=measure)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda d=dialog: self.start(d.request()))
        dialog.destroyed.connect(lambda _o=None: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog

    def start(self, request: ctl.TrainRequest) -> int | None:
        try:
            model_id = self.controller.start(request)
        except Exception as e:  # noqa: BLE001 - shown, nothing started
            self.services.reporter.report(e, "start the training")
            return None
        self.show_dock(self.training_dock)
        return model_id

    def resume(self, model_id: int) -> None:
        try:
            self.controller.resume(model_id)
        except Exception as e:  # noqa: BLE001 - whatever stops a resume is reported in the window
            self.services.reporter.report(e, "resume the training")
            return
        self.show_dock(self.training_dock)

    def _run_ended(self, status: str) -> None:
        project, model_id = self.services.session.project, self.controller.model_id
        words = {"finished": "Training finished", "cancelled": "Training stopped (resumable)",
                 "time_limit": "Training stopped at its time limit", "failed": "Training failed"}
        self.services.status.showMessage(words.get(status, status), 10_000)
        if status == "finished" and project is not None and not project.read_only and model_id is not None:
            from core.project.active_model import ACTIVE_MODEL_SETTING

            try:  # the first trained model becomes the one prediction uses
                if project.get_setting(ACTIVE_MODEL_SETTING) is None and project.models.get(model_id).checkpoint_exists:
                    self.models_panel.set_active(model_id)
                    self.services.status.showMessage("Training finished; the new model is now the active one",
                                                     10_000)
            except Exception as e:  # noqa: BLE001 - the model is trained; this must not hide that
                log.warning("could not make the new model active: %s", e)
        self._update_actions()

    def _find_resumable(self) -> None:
        """The newest stopped run that can continue, offered by the panel's Resume button."""
        project = self.services.session.project
        found, words = None, ""
        if project is not None and not project.read_only:
            try:
                for m in reversed(project.models.list()):
                    info = pm.run_info(project, m)
                    if info.status == pm.RUNNING and self.controller.busy:
                        continue
                    if info.resumable:
                        found = m.id
                        of = f" of {info.epochs}" if info.epochs else ""  # a time budget has no count
                        words = (f"The run “{m.name}” was {info.status_words} after {info.epochs_done}{of} "
                                 "epochs; Resume continues it from its last checkpoint.")
                    break
            except Exception as e:  # noqa: BLE001 - a damaged run record must not stop the project opening
                log.warning("cannot look for an interrupted run: %s", e)
        self.panel.set_resumable(found, words)
        self._update_actions()

    # --- closing ----------------------------------------------------------------------------------
    def confirm_close(self) -> bool:
        """Called by the window's ``closeEvent``: True lets it close now. During a run, asks; on yes
        the run is cancelled (a resumable checkpoint is written) and ``readyToClose`` is emitted
        once the run has ended; False meanwhile."""
        if not self.controller.busy:
            if self.dialog is not None:
                self.dialog.reject()
            return True
        if self._closing:
            self.services.status.showMessage("Stopping the training (saving a checkpoint)…")
            return False
        if not self.ask_stop():
            return False
        self._closing = True
        self.controller.runEnded.connect(lambda _s: self.readyToClose.emit())
        QTimer.singleShot(CLOSE_WAIT_MS, self._force_stop)
        self.controller.cancel()
        self.services.status.showMessage("Stopping the training (saving a checkpoint)…")
        return False

    def _force_stop(self) -> None:
        if self.controller.busy:
            log.warning("the training did not stop in %d s; ending it", CLOSE_WAIT_MS // 1000)
            self.controller.process.kill()

    def _ask_stop(self) -> bool:
        answer = QMessageBox.question(
            self.services.dialog_parent, "Training in progress",
            "A model is being trained. Stop it and close?\n\nThe training stops after the current step and "
            "saves a checkpoint; you can resume it the next time (Model › Resume the interrupted training).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes


def install_training(services: Services) -> TrainingInstall:
    """Add training and the models panel with ``services``; see ``TrainingInstall``."""
    return TrainingInstall(services)
