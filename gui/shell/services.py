"""What a feature of the window gets to work with: ``Services``, and ``PanelPlacement``.

A feature (measuring, prediction, training) is installed by one call, ``install_<feature>(services)``,
which builds its parts, adds its panels, actions and tools through these services and returns a
small handle with what other parts may use (its panels, its signals). It never sees the window:
the window (``gui.shell.main_window``) makes the services, installs the features, connects them
to each other through their handles, and restores the saved layout once, after every feature has
placed its panels (Qt's ``restoreState`` only places docks that exist).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

if TYPE_CHECKING:
    from gui.canvas.photo_view import PhotoView
    from gui.editing.editing_controller import EditingController
    from gui.session.photo_session import PhotoSession
    from gui.session.project_session import ProjectSession
    from gui.shell.action_registry import ActionRegistry
    from gui.shell.error_reporter import ErrorReporter
    from gui.shell.settings import Preferences
    from gui.shell.status_bar import StatusBar
    from gui.workers.base import TaskRunner

BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


class PanelPlacement:
    """Places panels as docks of ``host`` and lists each in the ``panels`` menu (View › Panels).

    ``docks`` maps each panel's key to its dock (the dock's object name is ``<key>Dock``: the saved
    layout finds it by that name, so a key never changes once released).
    """

    def __init__(self, host: QMainWindow, panels_menu: QMenu):
        self.host = host
        self.panels_menu = panels_menu
        self.docks: dict[str, QDockWidget] = {}
        self._tabbed: dict[Qt.DockWidgetArea, list[QDockWidget]] = {}

    def place(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea = BOTTOM, *,
              tabbed: bool = True) -> QDockWidget:
        """A dock for ``widget`` in ``area``, listed in the panels menu.

        ``tabbed``: one row of tabs with the other tabbed panels of the area, in the order they
        were placed, the first one in front (a first start; the user's saved layout overrides it).
        Side by side the bottom panels would each get a narrow column and make the window's
        minimum width their sum; tabbed, each gets the window's full width (the charts and the
        measurement table need it). Untabbed docks stack (the right-hand column: categories
        above segments). ``ValueError`` when ``key`` is taken.
        """
        if key in self.docks:
            raise ValueError(f"a panel {key!r} exists already")
        dock = QDockWidget(title, self.host)
        dock.setObjectName(f"{key}Dock")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.host.addDockWidget(area, dock)
        self.docks[key] = dock
        self.panels_menu.addAction(dock.toggleViewAction())
        if tabbed:
            group = self._tabbed.setdefault(area, [])
            if group:
                self.host.tabifyDockWidget(group[-1], dock)
                group[0].raise_()
            group.append(dock)
        return dock

    @staticmethod
    def show(dock: QDockWidget) -> None:
        """Bring a panel to the front (shown, its tab raised)."""
        dock.show()
        dock.raise_()


@dataclass(frozen=True)
class Services:
    """The window's shared parts that features use (and nothing of the window itself).

    * ``session``: the open project (``ProjectSession``); ``photo``: the open photo, its
      annotation and stored prediction (``PhotoSession``);
    * ``editing``: the canvas's tools and the open annotation (``EditingController``): a feature's
      tool is registered with ``editing.add_tool``; ``view``: the canvas (``PhotoView``);
    * ``runner``: background work (``TaskRunner``); ``reporter``: errors shown to the user and
      kept (``ErrorReporter.report(error, what)``);
    * ``actions``: actions, menus and tool actions (``ActionRegistry``); ``panels``: docks
      (``PanelPlacement``); ``status``: the status bar (messages, task progress, permanent widgets);
    * ``prefs``: the user's preferences;
    * ``dialog_parent``: the widget dialogs and message boxes open over (only that);
    * ``selected_photos()``: the ids selected in the photo list;
    * ``flush_edits(then)``: save pending annotation edits now; ``then(ok)`` after.
    """

    session: ProjectSession
    photo: PhotoSession
    editing: EditingController
    view: PhotoView
    runner: TaskRunner
    reporter: ErrorReporter
    actions: ActionRegistry
    panels: PanelPlacement
    status: StatusBar
    prefs: Preferences
    dialog_parent: QWidget
    selected_photos: Callable[[], list[int]]
    flush_edits: Callable[[Callable[[bool], None]], None]


__all__ = ["PanelPlacement", "Services"]
