"""What the window remembers between runs (``Preferences``): geometry, docks, tool and view options."""
from __future__ import annotations

from typing import TYPE_CHECKING

from gui.canvas.colour_table import OverlayStyle
from gui.shell.settings import Preferences

if TYPE_CHECKING:
    from gui.shell.main_window import MainWindow


class WindowState:
    def __init__(self, window: MainWindow, prefs: Preferences):
        self.w = window
        self.prefs = prefs

    def restore(self) -> None:
        w, p = self.w, self.prefs
        geometry, state = p.window_state()
        if geometry is None or not w.restoreGeometry(geometry):
            w.resize(1440, 900)
        if state is not None:
            w.restoreState(state)
        s = w.tool_settings
        s.set_brush_size(p.get_float("tools/brush_size", s.brush_size))
        s.set_tolerance(p.get_int("tools/tolerance", s.tolerance))
        tool = p.get_str("tools/tool", "BrushTool")
        if tool in w.controller.tools:
            w.controller.set_tool(tool)
        style = OverlayStyle(opacity=p.get_float("view/opacity", 0.45), outlines=p.get_bool("view/outlines", True))
        w.view.set_overlay_style(style)
        w.actions.opacity.setValue(int(round(style.opacity * 100)))
        w.actions.a["outlines"].setChecked(style.outlines)
        b = w.browser
        for combo, key in ((b.sort_by, "browser/sort"), (b.status_filter, "browser/filter")):
            i = combo.findData(p.get_str(key, ""))
            if i >= 0:
                combo.setCurrentIndex(i)

    def save(self) -> None:
        w, p = self.w, self.prefs
        p.save_window_state(w.saveGeometry(), w.saveState())
        p.set("tools/brush_size", w.tool_settings.brush_size)
        p.set("tools/tolerance", w.tool_settings.tolerance)
        p.set("tools/tool", type(w.controller.tool).__name__)
        p.set("view/opacity", w.view.overlay_style.opacity)
        p.set("view/outlines", w.view.overlay_style.outlines)
        p.set("browser/sort", w.browser.sort_by.currentData())
        p.set("browser/filter", w.browser.status_filter.currentData())
        p.sync()
