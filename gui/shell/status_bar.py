"""The window's status bar: what is under the cursor, zoom, save state, background work."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from gui.editing.autosave import FAILED, PENDING, SAVED, SAVING
from gui.shell.icons import bind
from gui.workers.base import Task

SAVE_TEXT = {SAVED: "All changes saved", PENDING: "Unsaved changes", SAVING: "Saving…",
             FAILED: "Not saved — press Ctrl+S to retry"}


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizeGripEnabled(True)
        self.hover = QLabel()
        self.hover.setMinimumWidth(360)
        self.hover.setTextFormat(Qt.TextFormat.PlainText)
        self.task_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.cancel = QToolButton()
        bind(self.cancel, "mdi6.close")
        self.cancel.setToolTip("Cancel")
        self.cancel.setAutoRaise(True)
        self.zoom = QLabel()
        self.zoom.setMinimumWidth(56)
        self.zoom.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.save = QLabel()
        self.addWidget(self.hover, 1)
        for w in (self.task_label, self.progress, self.cancel):
            self.addPermanentWidget(w)
            w.hide()
        self.addPermanentWidget(self.zoom)
        self.addPermanentWidget(self.save)
        self._task: Task | None = None
        self.cancel.clicked.connect(self._cancel)

    def show_hover(self, text: str) -> None:
        self.hover.setText(text)

    def show_zoom(self, zoom: float) -> None:
        self.zoom.setText(f"{zoom * 100:.0f} %" if zoom >= 0.1 else f"{zoom * 100:.1f} %")

    def show_save_state(self, state: str, read_only: bool = False) -> None:
        if read_only:
            self.save.setText("Read-only")
            self.save.setToolTip("The project is open read-only; use File › Save as copy to keep working")
            return
        self.save.setText(SAVE_TEXT.get(state, state))
        colour = {FAILED: "#dc2626", PENDING: "#d97706", SAVING: "#d97706"}.get(state)
        self.save.setStyleSheet(f"color: {colour};" if colour else "")
        self.save.setToolTip("Edits are saved automatically a moment after you make them")

    # --- one long task at a time in view ----------------------------------------------------------
    def track(self, task: Task, text: str) -> None:
        """Show a task's progress with a cancel button until it is done."""
        self._task = task
        self.task_label.setText(text)
        self.progress.setRange(0, 0)
        for w in (self.task_label, self.progress, self.cancel):
            w.show()
        task.signals.progress.connect(self._progress)
        task.signals.done.connect(lambda t=task: self._done(t))

    def _progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total}")
        if message:
            self.progress.setToolTip(message)

    def _done(self, task: Task) -> None:
        if task is self._task:
            self._task = None
            for w in (self.task_label, self.progress, self.cancel):
                w.hide()

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.task_label.setText("Cancelling…")
