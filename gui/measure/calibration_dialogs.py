"""The two ways to give a photo its scale: the length of a drawn line, or a typed scale.

``LineLengthDialog`` asks what length a drawn reference line covers; ``ScaleDialog`` takes a
ground sampling distance (mm, cm or inches per pixel) or removes the scale. Both build the
``core.measure.Calibration`` with the core's constructors and show the resulting
``1 px = … mm`` as the user types; a value the core refuses keeps OK disabled and says why.
Both open with the keyboard in the number's field, its text selected: the user types and presses
Enter. (The button box is built before the fields, so Qt's default first focus would be OK, and
Enter would silently save the default.)
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel,
                               QVBoxLayout, QWidget)

from core.calibration import Calibration, CalibrationError, calibration_from_gsd, calibration_from_line

Point = tuple[float, float]
UNITS = (("mm", "millimetres"), ("cm", "centimetres"), ("m", "metres"), ("in", "inches"))


def _length_box(value: float, decimals: int = 2) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, 1e6)
    box.setDecimals(decimals)
    box.setValue(value)
    box.setKeyboardTracking(True)
    return box


def _unit_box(units=UNITS, suffix: str = "") -> QComboBox:
    box = QComboBox()
    for key, text in units:
        box.addItem(f"{key}{suffix}" if suffix else text, key)
    return box


class _CalibrationDialog(QDialog):
    """Shared: a form, a live result line, OK only while the input makes a scale."""

    def __init__(self, title: str, parent: QWidget | None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.setMinimumWidth(420)
        self.form = QFormLayout()
        self.result_label = QLabel()
        self.result_label.setObjectName("calibrationResult")
        self.result_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        layout.addLayout(self.form)
        layout.addWidget(self.result_label)
        layout.addWidget(self.buttons)
        self.number_field: QDoubleSpinBox | None = None

    def start_in(self, field: QDoubleSpinBox, *after: QWidget) -> None:
        """Open with the focus in ``field``; Tab goes on through ``after``, then the buttons."""
        self.number_field = field
        chain = [field, *after, self.buttons]
        for a, b in zip(chain, chain[1:]):
            QWidget.setTabOrder(a, b)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.number_field is not None:
            # Tab reason: the spin box selects its whole text, so typing replaces the default.
            self.number_field.setFocus(Qt.FocusReason.TabFocusReason)
            self.number_field.selectAll()

    def calibration(self) -> Calibration:
        """The scale the user entered; each of the two dialogs below says how it reads its fields."""
        raise NotImplementedError  # abstract: only the subclasses are ever shown

    def _update(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        try:
            cal = self.calibration()
        except CalibrationError as e:
            self.result_label.setText(e.message() if hasattr(e, "message") else str(e))
            ok.setEnabled(False)
            return
        self.result_label.setText(cal.describe())
        ok.setEnabled(True)


class LineLengthDialog(_CalibrationDialog):
    """What length the line from ``p0`` to ``p1`` (pixels of the upright photo) covers."""

    def __init__(self, p0: Point, p1: Point, photo_name: str = "", parent: QWidget | None = None,
                 length: float = 100.0, unit: str = "mm"):
        super().__init__("Scale from a reference line", parent)
        self.setObjectName("lineLengthDialog")
        self.p0, self.p1 = p0, p1
        px = ((p1[0] - p0[0]) ** 2 + (p1[1] - p0[1]) ** 2) ** 0.5
        where = f" on {photo_name}" if photo_name else ""
        self.intro.setText(f"The line{where} is {px:.1f} px long. How long is what it covers "
                           "(the scale bar, the rule, the rebar's diameter)?")
        self.length = _length_box(length)
        self.unit = _unit_box()
        self.unit.setCurrentIndex(max(0, self.unit.findData(unit)))
        self.form.addRow("Length", self.length)
        self.form.addRow("Unit", self.unit)
        self.length.valueChanged.connect(self._update)
        self.unit.currentIndexChanged.connect(self._update)
        self._update()
        self.start_in(self.length, self.unit)

    def calibration(self) -> Calibration:
        return calibration_from_line(self.p0, self.p1, self.length.value(), self.unit.currentData())


class ScaleDialog(_CalibrationDialog):
    """A typed scale (ground sampling distance); "Remove the scale" when the photo has one."""

    REMOVE = 2  # ``result()`` when the user chose to remove the scale

    def __init__(self, current: Calibration | None, photo_name: str = "", parent: QWidget | None = None):
        super().__init__("Scale of the photo", parent)
        self.setObjectName("scaleDialog")
        now = current.describe() if current is not None else "not calibrated (figures in pixels)"
        self.intro.setText(f"{photo_name or 'This photo'}: {now}.\n\nType the size of one pixel "
                           "(drone and survey software call it the ground sampling distance):")
        value, unit = 1.0, "mm"
        if current is not None:
            value = current.mm_per_pixel
        self.value = _length_box(value, 6)  # survey scales are often a few hundredths of a mm
        self.unit = _unit_box(UNITS, "/px")
        self.unit.setCurrentIndex(max(0, self.unit.findData(unit)))
        self.form.addRow("One pixel is", self.value)
        self.form.addRow("Unit", self.unit)
        self.value.valueChanged.connect(self._update)
        self.unit.currentIndexChanged.connect(self._update)
        if current is not None:
            remove = self.buttons.addButton("Remove the scale", QDialogButtonBox.ButtonRole.DestructiveRole)
            remove.setObjectName("removeScale")
            remove.clicked.connect(lambda: self.done(self.REMOVE))
        self._update()
        self.start_in(self.value, self.unit)

    def calibration(self) -> Calibration:
        return calibration_from_gsd(self.value.value(), self.unit.currentData())
