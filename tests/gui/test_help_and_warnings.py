"""Help › Keyboard shortcuts lists the keys a keyboard has (no "F14" or "Undo" key of old Sun
keyboards that Qt's standard shortcuts add on Linux); the delete-category dialog's "cannot be
undone" warning is readable in the light theme (it looked disabled)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QTableWidget

from gui.dialogs.category_dialogs import DeleteCategoryDialog
from gui.dialogs.shortcuts_dialog import ShortcutsDialog
from tests.support.gui import open_project

pytestmark = pytest.mark.timeout(60)


def _contrast(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21; 4.5 is the minimum for body text)."""
    def lum(c: QColor) -> float:
        ch = [v / 255 for v in (c.red(), c.green(), c.blue())]
        ch = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_keyboard_shortcuts_list_only_real_keys(qtbot, window):
    QTest.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: window.findChild(ShortcutsDialog) is not None, timeout=5000)
    table = window.findChild(ShortcutsDialog).findChild(QTableWidget)
    keys = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert keys["Undo"] == "Ctrl+Z"
    assert keys["Redo"] in ("Ctrl+Shift+Z, Ctrl+Y", "Ctrl+Y, Ctrl+Shift+Z")
    for action, text in keys.items():
        parts = [p.strip() for p in text.split(",")]
        assert not any(p in ("Undo", "Redo", "Copy", "Cut", "Paste", "Open", "Save", "Find") for p in parts), action
        assert not any(p.startswith("F") and p[1:].isdigit() and int(p[1:]) > 12 for p in parts), action
        assert len(parts) == len(set(parts)), action


def test_the_delete_category_warning_is_readable_in_the_light_theme(qtbot, window, make_project):
    from gui.shell.theme import apply_theme

    apply_theme(QApplication.instance(), "light")
    open_project(qtbot, window, make_project(1, annotated=1))
    panel = window.categories_panel
    panel.list.setCurrentRow(0)  # crack: used by the annotation
    seen = {}

    def inspect():
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, DeleteCategoryDialog):
            QTimer.singleShot(20, inspect)
            return
        note = next(lab for lab in dlg.findChildren(QLabel) if "cannot be undone" in lab.text())
        seen["enabled"] = note.isEnabled()
        fg = note.palette().color(note.foregroundRole())
        bg = dlg.palette().color(dlg.backgroundRole())
        seen["contrast"] = _contrast(fg, bg)
        dlg.reject()

    QTimer.singleShot(0, inspect)
    panel.buttons["delete"].click()
    qtbot.waitUntil(lambda: "contrast" in seen, timeout=5000)
    assert seen["enabled"] and seen["contrast"] >= 4.5, seen
