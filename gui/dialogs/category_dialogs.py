"""Dialogs about categories: add one (with its thin-structure flag), and decide what happens to the
pixels of a deleted one."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QColorDialog, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton, QStyle, QVBoxLayout,
                               QWidget)

from core.categories import Category, CategorySet, _auto_color, as_rgb


def swatch(colour: tuple[int, int, int], size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(*colour))
    return QIcon(pix)


class ColourButton(QPushButton):
    """A button showing a colour; a click opens the colour chooser."""

    def __init__(self, colour: tuple[int, int, int], parent: QWidget | None = None):
        super().__init__(parent)
        self.colour = as_rgb(colour)
        self.clicked.connect(self._choose)
        self._show()

    def _show(self) -> None:
        self.setIcon(swatch(self.colour, 16))
        self.setText("#{:02x}{:02x}{:02x}".format(*self.colour))

    def _choose(self) -> None:
        c = QColorDialog.getColor(QColor(*self.colour), self, "Category colour")
        if c.isValid():
            self.colour = (c.red(), c.green(), c.blue())
            self._show()


class AddCategoryDialog(QDialog):
    """Name, thing/stuff, colour and the thin-structure flag of a new category.

    The flag follows the name (a crack or rebar name ticks it) until the user clicks it; only a
    choice that the user made is stored (``thin_flag``), so the name rule keeps deciding otherwise.
    """

    def __init__(self, categories: CategorySet, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Add category")
        self.name = QLineEdit(placeholderText="e.g. efflorescence")
        self.thing = QRadioButton("Thing — countable; every instance is its own segment (a crack)")
        self.stuff = QRadioButton("Stuff — a surface; one segment per photo (sound concrete)")
        self.thing.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.thing)
        group.addButton(self.stuff)
        self.colour = ColourButton(_auto_color(categories.next_id()))
        self.thin = QCheckBox("Thin structure — scored along its centreline, drawn at full resolution (a crack)")
        self._thin_chosen = False
        self.thin.clicked.connect(self._choose_thin)  # clicked: the user's clicks only, not setChecked
        self.name.textChanged.connect(self._thin_follows_name)
        form = QFormLayout()
        form.addRow("Name", self.name)
        kinds = QVBoxLayout()
        kinds.addWidget(self.thing)
        kinds.addWidget(self.stuff)
        form.addRow("Kind", kinds)
        form.addRow("Colour", self.colour)
        form.addRow("Shape", self.thin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setEnabled(False)
        self.name.textChanged.connect(lambda t: self.ok.setEnabled(bool(t.strip())))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def values(self) -> tuple[str, bool, tuple[int, int, int]]:
        return self.name.text().strip(), self.thing.isChecked(), self.colour.colour

    def thin_flag(self) -> bool | None:
        """The thin flag to store: the user's choice, or None when the name decides."""
        return self.thin.isChecked() if self._thin_chosen else None

    def _choose_thin(self) -> None:
        self._thin_chosen = True

    def _thin_follows_name(self, text: str) -> None:
        if not self._thin_chosen:
            from core.measure.roles import is_thin

            self.thin.setChecked(is_thin(Category(1, text.strip() or "x", True, (0, 0, 0))))


@dataclass(frozen=True)
class PixelDecision:
    """``reassign_to``: another category's id, or None to make the pixels void."""

    reassign_to: int | None


class DeleteCategoryDialog(QDialog):
    """Asks what the pixels of a used category become: void, or another category."""

    def __init__(self, category: Category, categories: CategorySet, usage: tuple[int, int, int],
                 parent: QWidget | None = None):
        super().__init__(parent)
        segments, images, pixels = usage
        self.setWindowTitle(f"Delete category “{category.name}”")
        self.setMinimumWidth(440)
        text = QLabel(f"<b>{category.name}</b> is used by {segments} segment{'s' * (segments != 1)} in "
                      f"{images} photo{'s' * (images != 1)} ({pixels:,} pixels).<br>"
                      "What should happen to these pixels?")
        text.setWordWrap(True)
        self.void = QRadioButton("Make them unlabelled (void)")
        self.give = QRadioButton("Give them to")
        self.target = QComboBox()
        for c in categories:
            if c.id != category.id:
                self.target.addItem(swatch(c.color), f"{c.name} ({'thing' if c.isthing else 'stuff'})", c.id)
        self.void.setChecked(True)
        self.target.setEnabled(False)
        self.give.toggled.connect(self.target.setEnabled)
        if self.target.count() == 0:
            self.give.setEnabled(False)
        # A warning in the text colour, bold, beside the warning icon: a disabled (greyed) label
        # read as if it did not apply, and fell to a 1.6:1 contrast in the light theme.
        note = QLabel("This changes every annotated photo that uses it. It cannot be undone.")
        note.setObjectName("deleteCategoryWarning")
        note.setWordWrap(True)
        bold = note.font()
        bold.setBold(True)
        note.setFont(bold)
        warn_icon = QLabel()
        warn_icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(20, 20))
        warn_icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        warning = QHBoxLayout()
        warning.addWidget(warn_icon)
        warning.addWidget(note, 1)
        buttons = QDialogButtonBox()
        self.delete_button = buttons.addButton("Delete category", QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.delete_button.clicked.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.give)
        row.addWidget(self.target, 1)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.setContentsMargins(16, 16, 16, 12)
        layout.addWidget(text)
        layout.addWidget(self.void)
        layout.addLayout(row)
        layout.addLayout(warning)
        layout.addWidget(buttons)

    def decision(self) -> PixelDecision:
        return PixelDecision(self.target.currentData() if self.give.isChecked() else None)
