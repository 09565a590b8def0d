"""Help › Keyboard shortcuts: every action with a shortcut, grouped as in the menus."""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout

EXTRA = [("Zoom", "Mouse wheel / pinch"), ("Pan", "Space + drag, or middle button"),
         ("Brush size", "Shift + wheel"), ("Erase with the brush", "Right button"),
         ("Add to the selection", "Ctrl + click (Select tool)"), ("Finish a polygon", "Double-click or Enter"),
         ("Cancel a polygon or stroke", "Esc")]


class ShortcutsDialog(QDialog):
    def __init__(self, actions: dict[str, QAction], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(520, 560)
        rows = [(a.text().replace("&", ""), ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText)
                                                      for s in a.shortcuts()))
                for key, a in actions.items() if a.shortcuts() and not key.startswith("category:")]
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
