"""The layout the side panels share: their list (or tree) above a row of flat icon buttons.

One place, so the category and segment panels keep the same margins, spacing and buttons.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtWidgets import QHBoxLayout, QToolButton, QVBoxLayout, QWidget

from gui.shell.icons import bind


def lay_out_list_panel(panel: QWidget, view: QWidget,
                       buttons: Iterable[tuple[str, str, str, Callable[[], object]]]) -> dict[str, QToolButton]:
    """Give ``panel`` its layout: ``view`` (taking the height) above the buttons, each
    ``(key, icon name, tooltip, slot)``, packed to the left. Returns ``{key: button}`` (to enable,
    check or test them)."""
    row = QHBoxLayout()
    row.setSpacing(2)
    made: dict[str, QToolButton] = {}
    for key, name, tip, slot in buttons:
        button = QToolButton()
        bind(button, name)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        row.addWidget(button)
        made[key] = button
    row.addStretch(1)
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(6, 6, 6, 6)
    layout.setSpacing(4)
    layout.addWidget(view, 1)
    layout.addLayout(row)
    return made
