"""``CategoryPanel``: the project's categories with colours, thing/stuff markers and number keys.

Clicking a category makes it the one the tools paint with (as do the number keys 1-9 of the
window). Add, rename, recolour and delete act on the project; deleting a used category asks
what its pixels become (``DeleteCategoryDialog``) and is carried out by the window, which first
saves the open photo (``deleteRequested``).
"""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QColorDialog, QInputDialog, QListWidget,
                               QListWidgetItem, QStyle, QStyledItemDelegate, QWidget)

from collections.abc import Callable
from dataclasses import replace

from core.categories import Category, CategorySet
from core.measure.roles import is_thin
from gui.dialogs.category_dialogs import AddCategoryDialog, DeleteCategoryDialog
from gui.editing.tool_settings import ToolSettings
from gui.session.project_session import ProjectSession
from gui.views.list_panel import lay_out_list_panel

CATEGORY = Qt.ItemDataRole.UserRole + 1
KEY = Qt.ItemDataRole.UserRole + 2


class CategoryDelegate(QStyledItemDelegate):
    def sizeHint(self, option, index) -> QSize:
        return QSize(160, max(28, QFontMetrics(option.font).height() + 12))

    def paint(self, painter: QPainter, option, index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        style = option.widget.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget)
        cat: Category = index.data(CATEGORY)
        key: str = index.data(KEY)
        r = option.rect.adjusted(8, 0, -8, 0)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        text = option.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        muted = QColor(text)
        muted.setAlphaF(0.6)
        fm = QFontMetrics(option.font)
        # key hint
        key_w = fm.horizontalAdvance("9") + 10
        key_rect = QRect(r.left(), r.center().y() - fm.height() // 2, key_w, fm.height())
        if key:
            painter.setPen(muted)
            painter.drawRoundedRect(key_rect.adjusted(0, 0, -1, -1), 3, 3)
            painter.drawText(key_rect, Qt.AlignmentFlag.AlignCenter, key)
        # swatch: a square for things (countable), a wide bar for stuff (surfaces)
        sw = QRect(key_rect.right() + 8, r.center().y() - 7, 14, 14)
        painter.setPen(QColor(0, 0, 0, 90))
        painter.setBrush(QColor(*cat.color))
        if cat.isthing:
            painter.drawRoundedRect(sw, 3, 3)
        else:
            painter.drawEllipse(sw)
        # name and kind
        kind = "thing" if cat.isthing else "stuff"
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.88))
        kind_w = QFontMetrics(small).horizontalAdvance(kind)
        name_rect = QRect(sw.right() + 8, r.top(), r.right() - sw.right() - 16 - kind_w, r.height())
        painter.setPen(text)
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         fm.elidedText(cat.name, Qt.TextElideMode.ElideRight, name_rect.width()))
        painter.setFont(small)
        painter.setPen(muted)
        painter.drawText(QRect(r.right() - kind_w, r.top(), kind_w, r.height()),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, kind)
        painter.restore()


def _at_once(then: Callable[[], object]) -> None:
    then()


class CategoryPanel(QWidget):
    """Shows ``session.categories``; the selected one is ``settings.category_id``."""

    deleteRequested = Signal(object, object)  # Category, reassign_to (int or None)
    errorOccurred = Signal(object, str)       # exception, what was being done

    def __init__(self, session: ProjectSession, settings: ToolSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.settings = settings
        #: Replaced by the window: save the open photo, then ``then()`` (default: at once).
        self.before_delete: Callable[[Callable[[], object]], None] = _at_once
        self.list = QListWidget()
        self.list.setItemDelegate(CategoryDelegate(self.list))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setUniformItemSizes(True)
        self.buttons = lay_out_list_panel(self, self.list, (
                ("add", "mdi6.plus", "Add a category", self.add_category),
                ("rename", "mdi6.pencil-outline", "Rename the category", self.rename_category),
                ("recolour", "mdi6.palette-outline", "Change the colour", self.recolour_category),
                ("thin", "mdi6.vector-polyline", "Thin structure (like a crack): scored along its centreline "
                 "and drawn at the photo's full resolution", self.toggle_thin),
                ("delete", "mdi6.trash-can-outline", "Delete the category (asks what happens to its pixels)",
                 self.delete_category)))
        self.buttons["thin"].setCheckable(True)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemDoubleClicked.connect(lambda _: self.rename_category())
        session.categoriesChanged.connect(self.set_categories)
        settings.changed.connect(self._follow_settings)
        self.set_categories(session.categories)

    # --- content ----------------------------------------------------------------------------------
    def set_categories(self, categories: CategorySet) -> None:
        current = self.settings.category_id
        self.list.blockSignals(True)
        self.list.clear()
        for n, cat in enumerate(categories):
            item = QListWidgetItem(cat.name)
            item.setData(CATEGORY, cat)
            item.setData(KEY, str(n + 1) if n < 9 else "")
            item.setToolTip(f"{cat.name} (id {cat.id}, {'thing' if cat.isthing else 'stuff'}"
                            f"{', thin' if is_thin(cat) else ''})"
                            + (f" — key {n + 1}" if n < 9 else ""))
            self.list.addItem(item)
        self.list.blockSignals(False)
        ids = categories.ids
        if current not in ids:
            current = ids[0] if ids else None
        self.settings.set_category_id(current)
        self._follow_settings()
        writable = self.session.is_open and not self.session.read_only
        for b in self.buttons.values():
            b.setEnabled(writable)

    def _follow_settings(self) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(CATEGORY).id == self.settings.category_id:
                if self.list.currentRow() != row:
                    self.list.blockSignals(True)
                    self.list.setCurrentRow(row)
                    self.list.blockSignals(False)
                break
        self._show_thin()

    def _current_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None:
            self.settings.set_category_id(item.data(CATEGORY).id)
        self._show_thin()

    def _show_thin(self) -> None:
        cat = self.current()
        self.buttons["thin"].setChecked(cat is not None and is_thin(cat))

    def current(self) -> Category | None:
        item = self.list.currentItem()
        return item.data(CATEGORY) if item is not None else None

    def select_by_key(self, number: int) -> None:
        """Number key 1-9: the n-th category in display order."""
        if 1 <= number <= self.list.count():
            self.list.setCurrentRow(number - 1)

    # --- editing ----------------------------------------------------------------------------------
    def _try(self, what: str, fn) -> None:
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - the window shows it; the project is unchanged
            self.errorOccurred.emit(e, what)

    def add_category(self) -> None:
        dlg = AddCategoryDialog(self.session.categories, self)
        if dlg.exec() == AddCategoryDialog.DialogCode.Accepted:
            name, isthing, colour = dlg.values()

            def add():
                cat = self.session.add_category(name, isthing, colour, thin=dlg.thin_flag())
                self.settings.set_category_id(cat.id)
            self._try("add the category", add)

    def rename_category(self) -> None:
        cat = self.current()
        if cat is None:
            return
        name, ok = QInputDialog.getText(self, "Rename category", "New name:", text=cat.name)
        if ok and name.strip() and name.strip() != cat.name:
            self._try("rename the category",
                      lambda: self.session.update_category(replace(cat, name=name.strip())))

    def recolour_category(self) -> None:
        cat = self.current()
        if cat is None:
            return
        c = QColorDialog.getColor(QColor(*cat.color), self, f"Colour of {cat.name}")
        if c.isValid():
            self._try("change the colour", lambda: self.session.update_category(
                replace(cat, color=(c.red(), c.green(), c.blue()))))

    def toggle_thin(self) -> None:
        """Flip the current category's thin flag (stored as the user's explicit choice)."""
        cat = self.current()
        if cat is None:
            return
        self._try("change the thin-structure flag",
                  lambda: self.session.update_category(replace(cat, thin=not is_thin(cat))))
        self._show_thin()

    def delete_category(self) -> None:
        cat = self.current()
        if cat is None:
            return
        # Unsaved edits of the open photo must reach the project first, so the usage we show
        # (and the pixels the decision applies to) include them.
        self.before_delete(lambda: self._ask_delete(cat))

    def _ask_delete(self, cat: Category) -> None:
        usage = self.session.category_usage(cat.id)
        if usage[0] == 0:
            self.deleteRequested.emit(cat, None)  # nothing uses it: no question to ask
            return
        dlg = self.make_delete_dialog(cat, self.session.categories, usage)
        if dlg.exec() == DeleteCategoryDialog.DialogCode.Accepted:
            self.deleteRequested.emit(cat, dlg.decision().reassign_to)

    def make_delete_dialog(self, cat: Category, categories: CategorySet, usage) -> DeleteCategoryDialog:
        return DeleteCategoryDialog(cat, categories, usage, self)
