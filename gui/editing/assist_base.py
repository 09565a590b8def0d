"""What the annotation-aid tools (crack tracer, region) share: the full-resolution photo, their
overlay items on the canvas, and work on a worker thread whose late results are dropped.

* ``photo()``: the photo's pixels, or None with a message while it loads (the aids work on the
  full resolution, never on the preview the canvas shows first);
* ``overlay(item, z)`` / ``path_item(...)``: an item added to the view's scene above the
  annotation, removed again by ``remove_overlays``;
* ``run(work, what, finished, failed)``: ``work()`` on the context's task runner; ``finished``
  / ``failed`` are called back on the GUI thread only if the tool was not cancelled meanwhile
  (``cancel_work``: Esc, another tool or another photo).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from gui.editing.tools import Tool

#: Z value of the aids' previews: above the annotation layer, below nothing else.
OVERLAY_Z = 90


class AssistTool(Tool):
    """Base of the annotation-aid tools; ``what`` names the tool in messages."""

    what = "the tool"

    def __init__(self, context):
        super().__init__(context)
        self._overlays: list[QGraphicsItem] = []
        self._generation = 0  # +1 on cancel_work: results of work started before are dropped

    # --- the photo --------------------------------------------------------------------------------
    def photo(self) -> np.ndarray | None:
        """The canvas's ``[H, W, 4]`` BGRA pixels at full resolution, or None (with a message)."""
        bgra = self.ctx.photo_rgb()
        if bgra is None:
            self.ctx.message(f"The photo is still loading; {self.what} works once it is shown at full resolution.")
        return bgra

    # --- overlay items ----------------------------------------------------------------------------
    def overlay(self, item: QGraphicsItem, z: float = OVERLAY_Z) -> QGraphicsItem | None:
        """Add ``item`` to the view's scene (None when the tool has no view)."""
        if self.view is None:
            return None
        item.setZValue(z)
        self.view.scene().addItem(item)
        self._overlays.append(item)
        return item

    def path_item(self, colour: QColor, style: Qt.PenStyle = Qt.PenStyle.SolidLine, width: float = 2,
                  z: float = OVERLAY_Z) -> QGraphicsPathItem | None:
        """An empty path overlay drawn with a cosmetic pen (the same on screen at any zoom)."""
        item = QGraphicsPathItem()
        pen = QPen(colour, width, style)
        pen.setCosmetic(True)
        item.setPen(pen)
        return self.overlay(item, z)  # type: ignore[return-value]

    def remove_overlay(self, item: QGraphicsItem | None) -> None:
        if item is None:
            return
        if item.scene() is not None:
            item.scene().removeItem(item)
        if item in self._overlays:
            self._overlays.remove(item)

    def remove_overlays(self) -> None:
        for item in list(self._overlays):
            self.remove_overlay(item)

    # --- work off the GUI thread ------------------------------------------------------------------
    def run(self, work: Callable[[], object], what: str, finished: Callable[[object], None],
            failed: Callable[[BaseException], None] | None = None) -> None:
        """``work()`` on a worker; ``finished(result)`` / ``failed(error)`` back here unless the
        tool's work was cancelled since (then ``dropped()`` runs instead)."""
        generation = self._generation

        def on_finished(result):
            if generation != self._generation:
                self.dropped()
            else:
                finished(result)

        def on_failed(error):
            if generation != self._generation:
                self.dropped()
            elif failed is not None:
                failed(error)
            else:
                self.ctx.message(f"Could not {what}: {error}")

        self.ctx.runner.start(lambda progress, cancel: work(), what, on_finished=on_finished,
                              on_failed=on_failed, report_errors=False)

    def cancel_work(self) -> None:
        """Results of work started until now will be dropped."""
        self._generation += 1

    def dropped(self) -> None:
        """A cancelled piece of work came back (tools with a queue start the next one here)."""
