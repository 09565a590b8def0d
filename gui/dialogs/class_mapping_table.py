"""``ClassMappingTable``: the pixel values found in a folder of class-index masks, each mapped to a
category, with one mask coloured by the mapping.

One row per value found (``core.formats.mask_values.scan_mask_values``): the value, its pixels
and share, how many masks hold it, and what it becomes:

* an existing category of the project (matched by name when imported),
* a new category (name, thing or stuff), added to the project by the import,
* *unlabelled*: like value 0, the fill class if one is chosen, else void,
* *void*: never labelled, whatever the fill class (e.g. 255 borders).

Defaults are those of ``main.py import masks``: the values a mapping file names, else each value
as the id of the default concrete-defect set (1 crack, 2 spalling, 3 exposed_rebar, 4 concrete,
5 background); 0 unlabelled; 255 void; any other value a new category ``value_N`` so that nothing
found in the masks vanishes without the user seeing it. The table's choices become the same
``--classes`` text the command line takes and go through ``parse_class_option``, so the window
and the command line import with one code path.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from core.categories import CategorySet, default_categories
from core.errors import CategoryError
from core.formats.class_mapping import ClassMapping, parse_class_option
from core.formats.mask_values import MaskValues

UNLABELLED, VOID, EXISTING, NEW = "unlabelled", "void", "existing", "new"
NEW_TEXT = "New category…"
#: Characters the ``--classes`` syntax uses as separators: a new category's name cannot hold them.
RESERVED = ",=:"
VOID_VALUE = 255  # the usual "border / do not care" value of segmentation masks
PREVIEW_W, PREVIEW_H = 240, 160
UNLABELLED_RGB, VOID_RGB = (0, 0, 0), (90, 90, 90)
COLUMNS = ("Value", "Pixels (share)", "In masks", "Becomes", "New category name", "Kind")
BECOMES_COL, NAME_COL, KIND_COL = 3, 4, 5  # the cells a user edits
HEADER_TIPS = {
    0: "A pixel value found in the masks",
    1: "Pixels holding the value in the masks read, and their share of all pixels read",
    2: "How many of the masks read hold the value",
    3: "A category of the project, a new category, 'unlabelled' (like 0: the fill class, or void) or 'void' "
       "(never labelled, e.g. 255 borders)",
    5: "thing: countable defects, one segment per connected region; stuff: one region per photo",
}


def default_choice(value: int, project: CategorySet, file_mapping: ClassMapping | None) -> tuple[str, str, bool]:
    """``(kind, category name, isthing)`` a value starts with (rules in the module docstring)."""
    if file_mapping is not None:
        if value in file_mapping.ignore:
            return VOID, "", False
        if value in file_mapping.values:
            cat = file_mapping.categories.by_id(file_mapping.values[value])
            return _named(cat.name, cat.isthing, project)
    elif value != 0:
        defaults = default_categories()
        if value in defaults:
            cat = defaults.by_id(value)
            return _named(cat.name, cat.isthing, project)
    if value == 0:
        return UNLABELLED, "", False
    if value == VOID_VALUE:
        return VOID, "", False
    return NEW, f"value_{value}", True


def _named(name: str, isthing: bool, project: CategorySet) -> tuple[str, str, bool]:
    names = {c.name for c in project}
    return (EXISTING, name, isthing) if name in names else (NEW, name, isthing)


class ClassMappingTable(QWidget):
    """The table, a note above it and the preview beside it. ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self, categories: CategorySet, parent: QWidget | None = None):
        super().__init__(parent)
        self.categories = categories
        self.values: MaskValues | None = None
        self.file_mapping: ClassMapping | None = None
        self.fill: str | None = None
        self.note = QLabel("Choose the masks folder: the values found in its masks are listed here.")
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for col, tip in HEADER_TIPS.items():
            header_item = self.table.horizontalHeaderItem(col)
            assert header_item is not None  # setHorizontalHeaderLabels made one per column
            header_item.setToolTip(tip)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(4, 150)
        header.setStretchLastSection(True)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setMinimumHeight(120)
        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW_W, PREVIEW_H)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setToolTip("One mask coloured by the mapping: each category in its colour, unlabelled "
                                "pixels black, void pixels grey")
        self.preview_caption = QLabel()
        self.preview_caption.setWordWrap(True)
        self.preview_caption.setMaximumWidth(PREVIEW_W)
        side = QVBoxLayout()
        side.addWidget(self.preview)
        side.addWidget(self.preview_caption)
        side.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.table, 1)
        row.addLayout(side)
        self.setMinimumHeight(PREVIEW_H + 60)  # the preview and its caption never overlap
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)
        layout.addLayout(row)
        self.changed.connect(self._repaint_preview)

    # --- filling ----------------------------------------------------------------------------------
    def clear(self, note: str) -> None:
        self.values = None
        self.table.setRowCount(0)
        self.note.setText(note)
        self.preview.clear()
        self.preview_caption.clear()
        self.changed.emit()

    def set_values(self, found: MaskValues, file_mapping: ClassMapping | None = None) -> None:
        """List the values of ``found`` with their defaults (from ``file_mapping`` when given)."""
        self.values, self.file_mapping = found, file_mapping
        self.table.setRowCount(0)
        for value in sorted(found.pixels):
            self._add_row(value, found)
        self.table.resizeRowsToContents()
        self._fit_columns()
        scope = (f"{found.read:,} of {found.total:,} masks read (an even sample)" if found.sampled
                 else f"{found.read:,} masks read")
        bad = f"; {len(found.problems)} could not be read ({found.problems[0].message()})" if found.problems else ""
        self.note.setText(f"{len(found.pixels)} pixel values found, {scope}{bad}. Choose what each becomes.")
        self.changed.emit()

    def _add_row(self, value: int, found: MaskValues) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        self.table.setItem(r, 0, QTableWidgetItem(str(value)))
        self.table.setItem(r, 1, QTableWidgetItem(f"{found.pixels[value]:,} ({100 * found.share(value):.2f} %)"))
        self.table.setItem(r, 2, QTableWidgetItem(f"{found.masks_with[value]:,}"))
        for col in (0, 1, 2):
            self._item(r, col).setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        becomes = QComboBox()
        becomes.addItem("unlabelled (fill class or void)", UNLABELLED)
        becomes.addItem("void (never labelled)", VOID)
        becomes.insertSeparator(becomes.count())
        for c in self.categories:
            becomes.addItem(c.name, f"{EXISTING}:{c.name}")
        becomes.addItem(NEW_TEXT, NEW)
        name = QLineEdit()
        name.setPlaceholderText("name of the new category")
        kind = QComboBox()
        kind.addItem("", "")  # unlabelled and void have no kind
        kind.addItem("thing", "thing")
        kind.addItem("stuff", "stuff")
        kind.setToolTip("thing: countable defects, one segment per connected region; stuff: one region per photo")
        what, cat_name, isthing = default_choice(value, self.categories, self.file_mapping)
        if what == EXISTING:
            becomes.setCurrentIndex(becomes.findData(f"{EXISTING}:{cat_name}"))
        else:
            becomes.setCurrentIndex(becomes.findData(what))
        if what == NEW:
            name.setText(cat_name)
            kind.setCurrentIndex(kind.findData("thing" if isthing else "stuff"))
        self.table.setCellWidget(r, BECOMES_COL, becomes)
        self.table.setCellWidget(r, NAME_COL, name)
        self.table.setCellWidget(r, KIND_COL, kind)
        becomes.currentIndexChanged.connect(lambda *_r, row=r: self._row_changed(row))
        name.textChanged.connect(lambda *_: self.changed.emit())
        kind.currentIndexChanged.connect(lambda *_: self.changed.emit())
        self._enable_new(r)

    def _fit_columns(self) -> None:
        """Wide enough to show every column: the name of a new category must never hide behind a
        scroll bar."""
        header = self.table.horizontalHeader()
        width = sum(header.sectionSize(c) for c in range(self.table.columnCount()))
        scroll = self.table.verticalScrollBar().sizeHint().width()
        self.table.setMinimumWidth(width + scroll + 2 * self.table.frameWidth())

    def _row_changed(self, row: int) -> None:
        kind = self._combo(row, KIND_COL)
        if self._combo(row, BECOMES_COL).currentData() == NEW:
            kind.blockSignals(True)
            kind.setCurrentIndex(kind.findData("thing"))  # most new classes of a defect dataset are defects
            kind.blockSignals(False)
        self._enable_new(row)
        name = self._name_edit(row)
        if name.isEnabled() and not name.text():
            name.setFocus()
        self.changed.emit()

    def _enable_new(self, row: int) -> None:
        """Name and kind are edited for a new category; an existing one shows its kind; unlabelled
        and void have neither (blank cells, so the eye finds the rows to fill in)."""
        what, _, name = str(self._combo(row, BECOMES_COL).currentData()).partition(":")
        name_edit, kind = self._name_edit(row), self._combo(row, KIND_COL)
        name_edit.setEnabled(what == NEW)
        name_edit.setPlaceholderText("name of the new category" if what == NEW else "")
        kind.setEnabled(what == NEW)
        kind.blockSignals(True)
        if what == EXISTING:
            kind.setCurrentIndex(kind.findData("thing" if self.categories.by_name(name).isthing else "stuff"))
        elif what != NEW:
            kind.setCurrentIndex(kind.findData(""))
        elif not kind.currentData():
            kind.setCurrentIndex(kind.findData("thing"))
        kind.blockSignals(False)

    # --- the cells of a row (typed: the table hands back QWidget / QTableWidgetItem | None) -------
    def _combo(self, row: int, col: int) -> QComboBox:
        widget = self.table.cellWidget(row, col)
        assert isinstance(widget, QComboBox), f"column {col} holds a combo box"
        return widget

    def _name_edit(self, row: int) -> QLineEdit:
        widget = self.table.cellWidget(row, NAME_COL)
        assert isinstance(widget, QLineEdit), "the name column holds a line edit"
        return widget

    def _item(self, row: int, col: int) -> QTableWidgetItem:
        item = self.table.item(row, col)
        assert item is not None, "every row has its value, pixels and masks items"
        return item

    # --- reading ----------------------------------------------------------------------------------
    def rows(self) -> list[tuple[int, str, str, bool]]:
        """``(value, kind, category name, isthing)`` per row, as chosen."""
        out = []
        for r in range(self.table.rowCount()):
            what, _, name = str(self._combo(r, BECOMES_COL).currentData()).partition(":")
            isthing = True
            if what == NEW:
                name = self._name_edit(r).text().strip()
                isthing = self._combo(r, KIND_COL).currentData() != "stuff"
            out.append((int(self._item(r, 0).text()), what, name, isthing))
        return out

    def option_text(self, fill: str | None) -> str:
        """The mapping as ``main.py import masks --classes`` text. Raises ``CategoryError`` for a
        new category without a usable name."""
        parts = []
        for value, what, name, isthing in self.rows():
            if what == NEW:
                if not name:
                    raise CategoryError(f"value {value}: give the new category a name")
                bad = [ch for ch in RESERVED if ch in name]
                if bad:
                    raise CategoryError(f"value {value}: a category name cannot contain {' '.join(bad)}")
                parts.append(f"{value}={name}:{'thing' if isthing else 'stuff'}")
            elif what == EXISTING:
                parts.append(f"{value}={name}")
            elif what == VOID or (value != 0 and fill is None):
                parts.append(f"{value}=ignore")
            elif value != 0:
                parts.append(f"{value}={fill}")  # unlabelled: what value 0 becomes, the fill class
        return ",".join(parts)

    def mapping(self, fill: str | None) -> ClassMapping:
        """The chosen mapping over the project's categories (plus the new ones); ``CategoryError``
        when it is not usable (say why to the user)."""
        return parse_class_option(self.option_text(fill), self.categories)

    # --- preview ----------------------------------------------------------------------------------
    def set_fill(self, fill: str | None) -> None:
        self.fill = fill
        self._repaint_preview()

    def _repaint_preview(self) -> None:
        found = self.values
        if found is None or found.preview is None:
            return
        try:
            mapping = self.mapping(self.fill)
        except CategoryError as e:
            self.preview_caption.setText(f"No preview: {e.reason}")
            return
        values = found.preview
        lut = np.zeros((int(values.max(initial=0)) + 1, 3), np.uint8)
        fill_rgb = UNLABELLED_RGB
        if self.fill is not None:
            fill_rgb = next((c.color for c in mapping.categories if c.name == self.fill), UNLABELLED_RGB)
        lut[:] = fill_rgb
        for v, cid in mapping.values.items():
            if v < len(lut):
                lut[v] = mapping.categories.by_id(cid).color
        for v in mapping.ignore:
            if v < len(lut):
                lut[v] = VOID_RGB
        rgb = np.ascontiguousarray(lut[values])
        h, w = values.shape
        image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        pixmap = QPixmap.fromImage(image).scaled(PREVIEW_W, PREVIEW_H, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.FastTransformation)
        self.preview.setPixmap(pixmap)
        name = found.preview_path.name if found.preview_path is not None else ""
        unlabelled = f"unlabelled pixels become {self.fill}" if self.fill else "unlabelled pixels black"
        self.preview_caption.setText(f"{name} as it will be imported: {unlabelled}, void dark grey")
