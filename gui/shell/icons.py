"""Icons by name, from qtawesome (Material Design Icons 6), coloured for the current palette.

One place, so a missing icon name fails here with the name, and the colours follow the light or
dark palette: icons set with ``bind`` are recoloured by ``refresh()`` when it changes.
"""
from __future__ import annotations

import weakref
from functools import lru_cache

from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QApplication, QPushButton


def _colours() -> tuple[str, str]:
    app = QApplication.instance()
    pal = app.palette() if isinstance(app, QApplication) else QPalette()
    normal = pal.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText).name()
    disabled = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText).name()
    return normal, disabled


@lru_cache(maxsize=256)
def _icon(name: str, colour: str | None, normal: str, disabled: str) -> QIcon:
    import qtawesome as qta

    return qta.icon(name, color=colour or normal, color_disabled=disabled)


def icon(name: str, colour: str | None = None) -> QIcon:
    """``icon("mdi6.brush")``; ``colour`` overrides the palette's text colour."""
    normal, disabled = _colours()
    return _icon(name, colour, normal, disabled)


_bound: list[tuple[weakref.ref, str, str | None]] = []


def bind(target, name: str, colour: str | None = None):
    """``target.setIcon(icon(name))`` and remember it, so ``refresh()`` can recolour it when the
    palette changes (light <-> dark). Returns ``target``."""
    target.setIcon(icon(name, colour))
    _bound.append((weakref.ref(target), name, colour))
    return target


def icon_button(text: str, name: str, tip: str = "") -> QPushButton:
    """A push button with ``text``, the bound icon ``name`` (recoloured with the palette) and the
    tooltip ``tip``: how the panels' command buttons are made."""
    button = QPushButton(text)
    bind(button, name)
    if tip:
        button.setToolTip(tip)
    return button


def refresh() -> None:
    """Recolour every bound icon for the current palette (call on a palette change)."""
    _icon.cache_clear()
    alive = []
    for ref, name, colour in _bound:
        target = ref()
        if target is None:
            continue
        try:
            target.setIcon(icon(name, colour))
        except RuntimeError:  # its C++ object is gone
            continue
        alive.append((ref, name, colour))
    _bound[:] = alive
