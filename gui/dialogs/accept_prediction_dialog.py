"""The question asked before a whole prediction goes onto a photo that has an annotation.

Accepting used to replace hand-painted pixels without a word (only Ctrl+Z brought them back, if
the user noticed). Now the user chooses: **Merge** (the default: their own defects stay pixel for
pixel, ``core.editing.merge``), **Replace**, or **Cancel**. The box is window-modal and answers
through ``answer(choice)``, so the window keeps painting while it is shown.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

MERGE, REPLACE = "merge", "replace"


def ask_merge_or_replace(parent: QWidget, n_segments: int, answer: Callable[[str], None]) -> QMessageBox:
    """Show the question; ``answer("merge" | "replace")`` runs on a choice, nothing on Cancel."""
    box = QMessageBox(QMessageBox.Icon.Question, "Accept the whole prediction",
                      f"This photo has an annotation already ({n_segments} segment"
                      f"{'s' if n_segments != 1 else ''}). How should the prediction go in?", parent=parent)
    box.setObjectName("acceptPredictionQuestion")
    box.setInformativeText("Merge: the model's segments are added, but never over a defect you painted; "
                           "its surfaces only fill unlabelled pixels.\n"
                           "Replace: the prediction takes every pixel where it found something.\n"
                           "Either is one undo step (Ctrl+Z).")
    merge = box.addButton("Merge", QMessageBox.ButtonRole.AcceptRole)
    replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(merge)
    box.setEscapeButton(QMessageBox.StandardButton.Cancel)

    def finished(_result: int) -> None:
        clicked = box.clickedButton()
        box.deleteLater()
        if clicked is merge:
            answer(MERGE)
        elif clicked is replace:
            answer(REPLACE)

    box.finished.connect(finished)
    box.open()
    return box
