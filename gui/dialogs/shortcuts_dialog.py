"""Help › Keyboard shortcuts: every action with a shortcut, grouped as in the menus.

Qt's standard shortcuts (Undo, Copy...) carry every binding a platform knows, such as the Undo
and F14 keys of old Sun keyboards and the CUA alternates (Alt+Backspace, Shift+Ins); they still
work, but listing them buries the keys people type. The list shows only keys of an ordinary
keyboard, each once.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout

EXTRA = [("Zoom", "Mouse wheel / pinch"), ("Pan", "Space + drag, or middle button"),
         ("Brush size", "Shift + wheel"), ("Erase with the brush", "Right button"),
         ("Add to the selection", "Ctrl + click (Select tool)"), ("Finish a polygon", "Double-click or Enter"),
         ("Cancel a polygon or stroke", "Esc")]


#: CUA-era alternates Qt adds to Undo, Redo, Copy, Paste and Cut: they work, but nobody looks for them.
_LEGACY = {QKeySequence(k).toString() for k in ("Alt+Backspace", "Alt+Shift+Backspace", "Ctrl+Ins", "Shift+Ins",
                                                 "Shift+Del")}
#: Qt's codes from here on are media and application keys (Copy, Undo, Open, Zoom In...), not typed ones.
_FIRST_SPECIAL_KEY = 0x01000060


def _typed(seq: QKeySequence) -> bool:
    """Whether every chord of ``seq`` is made of keys an ordinary keyboard has (F1-F12 at most)."""
    if seq.isEmpty() or seq.toString() in _LEGACY:
        return False
    for i in range(seq.count()):
        chord = seq[i]  # type: ignore[index]  # PySide's QKeySequence supports [i]; its stubs lack it
        key = chord.key().value if hasattr(chord.key(), "value") else int(chord.key())
        if key >= _FIRST_SPECIAL_KEY or Qt.Key.Key_F13.value <= key <= Qt.Key.Key_F35.value:
            return False
    return True


def shortcut_text(action: QAction) -> str:
    """The action's shortcuts as a user reads them: "Ctrl+Z"; "Ctrl+Y, Ctrl+Shift+Z"."""
    out: list[str] = []
    for seq in action.shortcuts():
        text = seq.toString(QKeySequence.SequenceFormat.NativeText)
        if _typed(seq) and text not in out:
            out.append(text)
    return ", ".join(out)


class ShortcutsDialog(QDialog):
    def __init__(self, actions: dict[str, QAction], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(520, 560)
        rows = [(a.text().replace("&", ""), shortcut_text(a))
                for key, a in actions.items() if shortcut_text(a) and not key.startswith("category:")]
        rows.append(("Choose category 1-9", "1 … 9"))
        rows += EXTRA
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["Action", "Keys"])
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, (name, keys) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(name))
            table.setItem(r, 1, QTableWidgetItem(keys))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
