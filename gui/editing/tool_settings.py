"""What the tools paint with: category, brush size, new instance vs add, paint-behind, tolerance,
the crack tracer's width and the region tool's tolerance."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from core.assist.region import DEFAULT_TOLERANCE, MAX_TOLERANCE, MIN_TOLERANCE
from core.assist.trace import MAX_WIDTH
from core.editing import ADD_TO_SELECTED, NEW_INSTANCE

MIN_BRUSH, MAX_BRUSH = 1.0, 1000.0


class ToolSettings(QObject):
    """Shared by every tool and the tool bar; ``changed`` after any change."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._category_id: int | None = None
        self._brush = 16.0
        self._mode = NEW_INSTANCE
        self._behind = False
        self._tolerance = round(DEFAULT_TOLERANCE)
        self._crack_width = 0
        self._region_tolerance = float(DEFAULT_TOLERANCE)

    @property
    def category_id(self) -> int | None:
        return self._category_id

    def set_category_id(self, category_id: int | None) -> None:
        if category_id != self._category_id:
            self._category_id = category_id
            self.changed.emit()

    @property
    def brush_size(self) -> float:
        """Brush diameter in photo pixels."""
        return self._brush

    def set_brush_size(self, size: float) -> None:
        size = float(min(MAX_BRUSH, max(MIN_BRUSH, round(size, 1))))
        if size != self._brush:
            self._brush = size
            self.changed.emit()

    def grow_brush(self, steps: int) -> None:
        """One step is 20 % (at least one pixel): even steps across the whole range."""
        size = self._brush
        for _ in range(abs(steps)):
            size = max(size + 1, size * 1.2) if steps > 0 else min(size - 1, size / 1.2)
        self.set_brush_size(size)

    @property
    def instance_mode(self) -> str:
        """``NEW_INSTANCE`` or ``ADD_TO_SELECTED`` (things only; stuff always joins its class)."""
        return self._mode

    def set_instance_mode(self, mode: str) -> None:
        if mode not in (NEW_INSTANCE, ADD_TO_SELECTED):
            raise ValueError(f"unknown instance mode {mode!r}")
        if mode != self._mode:
            self._mode = mode
            self.changed.emit()

    @property
    def paint_behind(self) -> bool:
        return self._behind

    def set_paint_behind(self, on: bool) -> None:
        if bool(on) != self._behind:
            self._behind = bool(on)
            self.changed.emit()

    @property
    def tolerance(self) -> int:
        """Fill: ``core.assist.grow_region``'s tolerance (Lab units of colour and texture on the
        smoothed photo, ``MIN_TOLERANCE``-``MAX_TOLERANCE``), the same scale as the region tool's."""
        return self._tolerance

    def set_tolerance(self, value: int) -> None:
        value = int(min(MAX_TOLERANCE, max(MIN_TOLERANCE, round(value))))
        if value != self._tolerance:
            self._tolerance = value
            self.changed.emit()

    @property
    def crack_width(self) -> int:
        """Crack tracer: the mask's width in px, or 0 to read it from the photo."""
        return self._crack_width

    def set_crack_width(self, value: int) -> None:
        value = int(min(MAX_WIDTH, max(0, int(value))))
        if value != self._crack_width:
            self._crack_width = value
            self.changed.emit()

    @property
    def region_tolerance(self) -> float:
        """Region tool: largest colour-and-texture distance from the click (``core.assist.region``)."""
        return self._region_tolerance

    def set_region_tolerance(self, value: float) -> None:
        value = float(min(MAX_TOLERANCE, max(MIN_TOLERANCE, round(float(value), 1))))
        if value != self._region_tolerance:
            self._region_tolerance = value
            self.changed.emit()
