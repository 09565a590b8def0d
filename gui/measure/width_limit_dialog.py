"""``WidthLimitDialog``: the project's tolerable crack width (Measure › Crack width limit…).

Either an exposure class of ACI 224R-01 Table 4.1 (guidance, never an acceptance limit: the
dialog says so), or the project's own limit with its source (Eurocode 2, a client's
specification), or none. The value and the comparison rules are ``core.measure.exposure``'s.
"""
from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel,
                               QLineEdit, QVBoxLayout, QWidget)

from core.measure.exposure import ACI_224R_TABLE_4_1, ACI_SOURCE, WidthLimit, custom_limit

NONE, CUSTOM = "none", "custom"

INTRO = (f"Each crack's width is shown against this width in the Measurements panel, its tooltips and the "
         f"report. The exposure classes are {ACI_SOURCE}'s guide to reasonable crack widths of reinforced "
         f"concrete under service loads: guidance, not acceptance limits. A project limit (e.g. Eurocode 2's "
         f"w_max or a client's specification) is shown with the source you enter.")


class WidthLimitDialog(QDialog):
    def __init__(self, current: WidthLimit | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Crack width limit")
        self.setModal(True)
        self.setMinimumWidth(520)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.choice = QComboBox()
        self.choice.addItem("No limit", NONE)
        for p in ACI_224R_TABLE_4_1:
            self.choice.addItem(f"{p.limit_mm:.2f} mm – {p.label} (ACI 224R, guidance)", p.key)
        self.choice.addItem("Project limit…", CUSTOM)
        self.value = QDoubleSpinBox()
        self.value.setRange(0.01, 50.0)
        self.value.setDecimals(3)
        self.value.setSingleStep(0.05)
        self.value.setSuffix(" mm")
        self.value.setValue(0.30)
        self.label = QLineEdit()
        self.label.setPlaceholderText("e.g. XC3, w_max")
        self.source = QLineEdit()
        self.source.setPlaceholderText("e.g. EN 1992-1-1 Table 7.1N, client specification")
        form = QFormLayout()
        form.addRow("Limit", self.choice)
        form.addRow("Width", self.value)
        form.addRow("Name", self.label)
        form.addRow("Source", self.source)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        if current is not None:
            if current.key == "custom":
                self.value.setValue(current.limit_mm)
                self.label.setText(current.label)
                self.source.setText(current.source)
            self.choice.setCurrentIndex(max(self.choice.findData(current.key), 0))
        self.choice.currentIndexChanged.connect(self._enable)
        self._enable()

    def _enable(self, *_args) -> None:
        custom = self.choice.currentData() == CUSTOM
        for w in (self.value, self.label, self.source):
            w.setEnabled(custom)

    def limit(self) -> WidthLimit | None:
        """The chosen limit (None: no limit)."""
        key = self.choice.currentData()
        if key == NONE:
            return None
        if key == CUSTOM:
            return custom_limit(self.value.value(), self.label.text() or "Project limit",
                                self.source.text() or "entered for this project")
        return next(p for p in ACI_224R_TABLE_4_1 if p.key == key)
