"""``CanvasLegend``: what the marks on the canvas are, in the canvas's bottom-left corner.

New users could not tell the model's result from their own work: over the annotation the
prediction is drawn as amber outlines, alone it is filled like an annotation. The legend says
which is which for the layers shown, and hides when there is no prediction (the annotation
alone needs no key). It ignores the mouse, so it never gets in the way of a brush stroke.
It is a child of the view, laid over the viewport's corner, not of the viewport: panning scrolls
the viewport's pixels and its child widgets with them, which carried the legend off the canvas.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel

from gui.canvas.colour_table import PREDICTION_OUTLINE
from gui.canvas.photo_view import PhotoView

MARGIN = 8
#: The fill mark's colour: the default crack red, as most fills on a concrete photo are.
FILL_SAMPLE = (230, 57, 70)


def _mark(char: str, rgb: tuple[int, int, int]) -> str:
    """A coloured square (Qt's rich text has no CSS borders, so the outline is the hollow one)."""
    r, g, b = rgb
    return f"<span style=\"color: rgb({r},{g},{b}); font-size: large; font-weight: bold\">{char}</span>"


class CanvasLegend(QLabel):
    """Follow ``update_for(has_prediction)`` calls and the view's layer visibility."""

    def __init__(self, view: PhotoView):
        super().__init__(view)  # over the viewport, not in it: see the module docstring
        self.view = view
        self.setObjectName("canvasLegend")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        # Fixed colours: the legend sits on a photo, whatever the application's theme.
        self.setStyleSheet("QLabel#canvasLegend { background: rgba(20, 20, 24, 190); color: #f2f2f2; "
                           "border-radius: 4px; padding: 3px 8px; }")
        self._has_prediction = False
        view.viewport().installEventFilter(self)
        self.hide()

    def update_for(self, has_prediction: bool | None = None) -> None:
        """Show the key for the layers on screen (``has_prediction``: whether one is shown now)."""
        if has_prediction is not None:
            self._has_prediction = has_prediction
        annotation = self.view.layer_visible("annotation")
        prediction = self._has_prediction and self.view.layer_visible("prediction")
        if not prediction:
            self.hide()
            return
        outline = _mark("□", PREDICTION_OUTLINE)
        fill = _mark("■", FILL_SAMPLE)
        if annotation:
            self.setText(f"{outline}&nbsp;Prediction (model): outlines &nbsp;&nbsp; {fill}&nbsp;Annotation "
                         "(yours): fills")
            self.setToolTip("The model's segments are outlined over your annotation; Accept copies them in. "
                            "O hides the annotation layer, Shift+O the prediction layer.")
        else:
            self.setText(f"{fill}&nbsp;Prediction (model): fills &nbsp;&nbsp; annotation layer hidden (O)")
            self.setToolTip("With the annotation layer hidden, the prediction is filled in its categories' colours.")
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()

    def _place(self) -> None:
        area = self.view.viewport().geometry()  # in the view's coordinates, as this widget's position
        self.move(area.left() + MARGIN, area.bottom() - self.height() - MARGIN)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False
