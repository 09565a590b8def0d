"""Dialogs that ask for a number start in that number's field: a user who opens one, types the
value and presses Enter gets what they typed, never the default behind an OK button that held
the keyboard focus."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gui.measure.calibration_dialogs import LineLengthDialog, ScaleDialog

from tests.support.dialogs import drag_line
from tests.support.gui import open_project

pytestmark = pytest.mark.timeout(60)


def type_and_enter(qtbot, dialog, text: str) -> None:
    """Type ``text`` where the keyboard focus is, as a user would, then press Enter."""
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: dialog.focusWidget() is not None)
    target = dialog.focusWidget()
    QTest.keyClicks(target, text)
    QTest.keyClick(target, Qt.Key.Key_Return)


def test_typed_scale_then_enter_saves_what_was_typed(qtbot, window, make_project):
    open_project(qtbot, window, make_project(1, annotated=1))
    ui = window.measurement
    window.actions.a["set_scale"].trigger()
    dlg = window.findChild(ScaleDialog)
    type_and_enter(qtbot, dlg, "0.2")
    qtbot.waitUntil(lambda: ui.calibration.calibration is not None)
    assert ui.calibration.calibration.mm_per_pixel == pytest.approx(0.2)


def test_reference_line_length_then_enter_saves_what_was_typed(qtbot, window, make_project):
    open_project(qtbot, window, make_project(1, annotated=1))
    ui = window.measurement
    window.actions.a["tool:CalibrationTool"].trigger()
    drag_line(window.view, (10.0, 50.0), (60.0, 50.0))
    dlg = ui.line_dialog
    assert isinstance(dlg, LineLengthDialog)
    px = ((dlg.p1[0] - dlg.p0[0]) ** 2 + (dlg.p1[1] - dlg.p0[1]) ** 2) ** 0.5
    type_and_enter(qtbot, dlg, "20")
    qtbot.waitUntil(lambda: ui.calibration.calibration is not None)
    assert ui.calibration.calibration.mm_per_pixel == pytest.approx(20.0 / px)


@pytest.mark.parametrize("action, dialog", [("write_report", "reportDialog"), ("export", None)])
def test_the_other_dialogs_with_numbers_start_in_a_field_not_on_a_button(qtbot, window, make_project, action,
                                                                          dialog):
    from PySide6.QtWidgets import QAbstractButton, QDialog

    from gui.dialogs.export_dialog import ExportDialog

    open_project(qtbot, window, make_project(1, annotated=1))
    window.actions.a[action].trigger()
    qtbot.waitUntil(lambda: (window.findChild(QDialog, dialog) if dialog else window.findChild(ExportDialog))
                    is not None, timeout=5000)
    dlg = window.findChild(QDialog, dialog) if dialog else window.findChild(ExportDialog)
    qtbot.waitExposed(dlg)
    qtbot.waitUntil(lambda: dlg.focusWidget() is not None)
    assert not isinstance(dlg.focusWidget(), QAbstractButton), dlg.focusWidget()
    dlg.reject()
