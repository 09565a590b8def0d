"""The one place errors reach the user: worker failures, exceptions in slots, core errors.

``ErrorReporter.report(error, context)`` logs the error and shows a dialog saying what happened
and what to do. Typed core errors (``core.errors.InspectorError``) carry their own reason, file
and hint; anything else is an unexpected fault, shown with its traceback under "Details" and a
note that the work is saved. Dialogs are window-modal but non-blocking (``open()``), so a burst of
errors never stacks nested event loops; while one is shown, further errors join its details.

``install_excepthook(reporter)`` routes uncaught exceptions (a bug in a slot) here instead of
letting PySide6 print them or abort, so the window never dies silently.
"""
from __future__ import annotations

import logging
import sys
import traceback
from dataclasses import dataclass
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from core.errors import (AnnotationError, BadImageError, CancelledError, CategoryError, CheckpointError,
                         DatasetError, InspectorError, ProjectError, ProjectReadOnlyError, TrainingError)

log = logging.getLogger(__name__)

#: What to do, when a typed error brings no hint of its own.
_DEFAULT_HINTS: tuple[tuple[type, str], ...] = (
    (ProjectReadOnlyError, "Use File › Save as copy to keep working in a new file."),
    (ProjectError, "Your edits are kept in this window. Check the disk and folder, then press Ctrl+S "
                   "to save again, or use File › Save as copy."),
    (BadImageError, "Check that the file is a complete photo (JPEG, PNG, TIFF); other photos are not affected."),
    (DatasetError, "Check that the dataset is complete and in the chosen format."),
    (AnnotationError, "Nothing was changed; check the mask or segment named above."),
    (CategoryError, "Nothing was changed; choose another name or colour."),
    (CheckpointError, "Choose another model file or train a new model."),
    (TrainingError, "The last good checkpoint is kept; adjust the settings and start again."),
)


#: For a photo file that is not where the project last saw it.
MISSING_PHOTO_HINT = ("The photo was moved, renamed or deleted, or its drive is not connected; its annotation is "
                      "kept. Photo › Locate photo file… points the project at its new place.")


@dataclass(frozen=True)
class Report:
    """What was shown: ``title``, ``text`` (what happened), ``hint`` (what to do), ``details``."""

    title: str
    text: str
    hint: str
    details: str
    unexpected: bool


def describe(error: BaseException, context: str = "") -> Report:
    """Turn an exception into the words of a dialog."""
    doing = f"Could not {context}" if context else "Something went wrong"
    if isinstance(error, InspectorError):
        hint = error.hint or next((h for t, h in _DEFAULT_HINTS if isinstance(error, t)), "")
        if isinstance(error, BadImageError) and error.reason.startswith("file not found") and not error.hint:
            hint = MISSING_PHOTO_HINT  # a moved photo is not a damaged one
        text = error.reason[:1].upper() + error.reason[1:]
        if error.path:
            text += f"\n\n{error.path}"
        return Report(doing, text, hint, "", False)
    if isinstance(error, MemoryError):
        return Report(doing, "The computer ran out of memory.", "Close other programs, or work on smaller "
                      "photos; your saved work is safe.", "", False)
    if isinstance(error, OSError):
        where = f"\n\n{error.filename}" if getattr(error, "filename", None) else ""
        return Report(doing, f"{error.strerror or error}{where}",
                      "Check that the file exists and that you may read and write the folder.", "", False)
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return Report(doing, f"An unexpected error occurred: {type(error).__name__}: {error}",
                  "Your saved work is safe. If it happens again, please report it with the details below.",
                  details, True)


class ErrorReporter(QObject):
    """Shows errors as dialogs over ``parent_widget`` and keeps a history (for tests and logs)."""

    reported = Signal(object)  # Report

    def __init__(self, parent_widget: QWidget | None = None, show_dialogs: bool = True):
        super().__init__(parent_widget)
        self.parent_widget = parent_widget
        self.show_dialogs = show_dialogs
        self.history: list[Report] = []
        self._box: QMessageBox | None = None

    def report(self, error: BaseException, context: str = "") -> Report:
        if isinstance(error, CancelledError):
            return Report("Cancelled", error.reason, "", "", False)
        rep = describe(error, context)
        if rep.unexpected:
            log.error("%s: %s", rep.title, rep.details)
        else:
            log.warning("%s: %s", rep.title, rep.text.replace("\n\n", " - "))
        self.history.append(rep)
        self.reported.emit(rep)
        if self.show_dialogs:
            self._show(rep)
        return rep

    def _show(self, rep: Report) -> None:
        if self._box is not None and self._box.isVisible():
            # Join the open dialog instead of stacking a second one.
            extra = f"{rep.title}: {rep.text}"
            self._box.setDetailedText((self._box.detailedText() + "\n\n" + extra + "\n" + rep.details).strip())
            return
        box = QMessageBox(QMessageBox.Icon.Critical if rep.unexpected else QMessageBox.Icon.Warning,
                          rep.title, rep.text, QMessageBox.StandardButton.Ok, self.parent_widget)
        box.setInformativeText(rep.hint)
        if rep.details:
            box.setDetailedText(rep.details)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _=0: setattr(self, "_box", None))
        self._box = box
        box.open()

    @property
    def dialog(self) -> QMessageBox | None:
        """The dialog on screen, if any."""
        return self._box


_installed: list[ErrorReporter] = []


def install_excepthook(reporter: ErrorReporter) -> None:
    """Show uncaught exceptions (in slots, timers, event handlers) through ``reporter``.

    The most recently installed reporter wins; the previous hook runs when none is alive.
    """
    previous = sys.excepthook
    _installed.append(reporter)

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        while _installed:
            target = _installed[-1]
            try:
                target.report(exc.with_traceback(tb), "finish the last action")
                return
            except RuntimeError:  # its C++ object is gone (window closed): try the previous one
                _installed.pop()
        previous(exc_type, exc, tb)

    sys.excepthook = hook
