"""The main window: composes views, actions and workers; owns no logic."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow


class MainWindow(QMainWindow):
    def __init__(self):
        super().__init__()
        self.setWindowTitle("Panoptic Inspector")
        self.resize(1280, 800)
        label = QLabel("Panoptic Inspector")
        self.setCentralWidget(label)
