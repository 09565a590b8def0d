"""GUI test helpers for the dialogs a test answers as a user would: the category panel's Add
dialog, and the reference line that opens the calibration's line-length dialog."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog


def answer_add_category(monkeypatch, name: str, isthing: bool, color: tuple[int, int, int],
                        thin: bool | None = None) -> None:
    """Make the category panel's Add dialog accept ``name``, ``isthing``, ``color`` and ``thin``
    (None: the name decides) without showing it; a modal dialog would block the test."""

    class AddAnswer:
        DialogCode = QDialog.DialogCode

        def __init__(self, *args):
            pass

        def exec(self):
            return QDialog.DialogCode.Accepted

        def values(self):
            return name, isthing, color

        def thin_flag(self):
            return thin

    monkeypatch.setattr("gui.views.category_panel.AddCategoryDialog", AddAnswer)


def drag_line(view, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press at scene point ``start``, move and release at ``end`` with the left button (the
    calibration tool's reference line, or any drag of the active tool)."""
    vp = view.viewport()
    a, b = view.mapFromScene(QPointF(*start)), view.mapFromScene(QPointF(*end))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(vp, b)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def press_dialog_button(dialog, text: str) -> None:
    """Click the button labelled ``text`` (mnemonic ``&`` ignored) in ``dialog``'s button box, as a
    user would: the dialog's own handler runs, not a private method of it."""
    from PySide6.QtWidgets import QDialogButtonBox

    for box in dialog.findChildren(QDialogButtonBox):
        for button in box.buttons():
            if button.text().replace("&", "") == text:
                button.click()
                return
    raise AssertionError(f"no {text!r} button in {type(dialog).__name__}")
