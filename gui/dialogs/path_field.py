"""``PathField``: a line edit with a Browse button, for a file or a folder (import and export dialogs)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget


class PathField(QWidget):
    """A line edit with a Browse button (file or folder). ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self, folder: bool, caption: str, file_filter: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.folder, self.caption, self.filter = folder, caption, file_filter
        self.edit = QLineEdit()
        self.edit.textChanged.connect(lambda *_: self.changed.emit())
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def _browse(self) -> None:
        start = self.edit.text() or str(Path.home())
        if self.folder:
            path = QFileDialog.getExistingDirectory(self, self.caption, start)
        else:
            path, _ = QFileDialog.getOpenFileName(self, self.caption, start, self.filter)
        if path:
            self.edit.setText(path)

    def path(self) -> Path | None:
        text = self.edit.text().strip()
        return Path(text) if text else None

    def set_path(self, path: Path | None) -> None:
        self.edit.setText("" if path is None else str(path))
