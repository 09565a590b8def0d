"""``ActionRegistry``: the window's actions by key, its menus by key, and the tools' actions.

The one place a QAction is made (``add``), so every action is listed in Help › Keyboard shortcuts
(which reads ``a``) and its shortcut works wherever the focus is in the window. Features add their
actions, menus and tools through it (``gui.shell.services.Services.actions``) instead of reaching
into the window's menu bar or tool bars.

Menu keys the window defines: ``file``, ``edit``, ``view``, ``panels`` (View › Panels), ``photo``,
``tools``, ``model``, ``help``. A feature may add its own with ``menu(key, title)``; it goes before
Help, which stays last.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar, QWidget

from gui.shell.icons import bind


def make_action(parent, text: str, slot: Callable | None = None, shortcut=None, ic: str | None = None,
                tip: str | None = None, checkable: bool = False,
                context=Qt.ShortcutContext.WindowShortcut) -> QAction:
    """A QAction: ``shortcut`` one key sequence or a list of them, ``ic`` an icon name
    (``gui.shell.icons``), ``tip`` the tool and status tip. A checkable action's ``slot`` gets the
    checked state; any other's is called without arguments."""
    a = QAction(text, parent)
    if ic:
        bind(a, ic)
    if shortcut:
        seqs = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
        a.setShortcuts([QKeySequence(s) for s in seqs])
        a.setShortcutContext(context)
    if tip:
        a.setToolTip(tip)
        a.setStatusTip(tip)
    a.setCheckable(checkable)
    if slot is not None:
        a.triggered.connect(slot if checkable else (lambda _=False: slot()))
    return a


class ActionRegistry:
    """The actions of ``host`` (a QMainWindow) by key, its menus by key, and the tool actions.

    Attributes: ``a`` (``{key: QAction}``), ``tool_group`` (the exclusive group of the tools'
    actions), ``tool_bar`` (the bar the tools' actions go in, None until the window made it).
    """

    def __init__(self, host: QMainWindow):
        self.host = host
        self.a: dict[str, QAction] = {}
        self.menus: dict[str, QMenu] = {}
        self.tool_group = QActionGroup(host)
        self.tool_group.setExclusive(True)
        self.tool_bar: QToolBar | None = None

    def add(self, key: str, *args, **kwargs) -> QAction:
        """Make the action (``make_action``'s arguments) and keep it as ``a[key]``; a key is
        taken once (``ValueError``): two actions under one key would hide one from the shortcuts
        list."""
        if key in self.a:
            raise ValueError(f"an action {key!r} exists already")
        act = make_action(self.host, *args, **kwargs)
        self.a[key] = act
        self.host.addAction(act)  # shortcuts work wherever the focus is in the window
        return act

    def keep(self, key: str, action: QAction) -> QAction:
        """Keep an action made elsewhere (Qt's undo and redo actions) as ``a[key]``."""
        if key in self.a:
            raise ValueError(f"an action {key!r} exists already")
        self.a[key] = action
        self.host.addAction(action)
        return action

    # --- menus ------------------------------------------------------------------------------------
    def menu(self, key: str, title: str | None = None) -> QMenu:
        """The menu called ``key``; made with ``title`` when there is none yet, in the menu bar
        before Help (so Help stays last). ``KeyError`` for an unknown key without a title."""
        if key in self.menus:
            return self.menus[key]
        if title is None:
            raise KeyError(f"no menu {key!r}")
        bar = self.host.menuBar()
        help_menu = self.menus.get("help")
        if help_menu is not None:
            menu = QMenu(title, self.host)
            bar.insertMenu(help_menu.menuAction(), menu)
        else:
            menu = bar.addMenu(title)
        self.menus[key] = menu
        return menu

    def keep_menu(self, key: str, menu: QMenu) -> QMenu:
        """Name a menu made elsewhere (a submenu: View › Panels) so features find it by key."""
        self.menus[key] = menu
        return menu

    # --- tools ------------------------------------------------------------------------------------
    def add_tool(self, key: str, tool, choose: Callable[[], object]) -> QAction:
        """The checkable action of an editing tool (``gui.editing.tools.Tool``: its ``name``,
        ``key``, ``icon``, ``tip``), as ``a["tool:<key>"]``: in the exclusive tool group, the
        Tools menu and the tool bar after the tools already there. ``choose()`` selects the tool."""
        tip = f"{tool.name} ({tool.key}) — {tool.tip}" if tool.tip else f"{tool.name} ({tool.key})"
        act = self.add(f"tool:{key}", tool.name, None, tool.key, tool.icon, tip, checkable=True)
        act.triggered.connect(lambda _=False: choose())
        self.tool_group.addAction(act)
        if "tools" in self.menus:
            _add_before_separator(self.menus["tools"], act)
        if self.tool_bar is not None:
            _add_before_separator(self.tool_bar, act)
        return act


def _add_before_separator(widget: QWidget, act: QAction) -> None:
    """After the widget's first group of actions (before its first separator), else at its end:
    the tools come first in the Tools menu and the tool bar, their options after a separator."""
    separator = next((a for a in widget.actions() if a.isSeparator()), None)
    if separator is None:
        widget.addAction(act)
    else:
        widget.insertAction(separator, act)


__all__ = ["ActionRegistry", "make_action"]
