"""A legend on the canvas says what its marks are: amber outlines are the model's prediction,
fills are the user's annotation (or, with the annotation layer hidden, the prediction filled)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget

from core.panoptic import PanopticAnnotation, Segment
from tests.support.gui import open_project

pytestmark = pytest.mark.timeout(60)


def _legend(window) -> QWidget | None:
    return window.view.findChild(QWidget, "canvasLegend")


def test_the_legend_names_outlines_and_fills(qtbot, window, make_project):
    open_project(qtbot, window, make_project(1, annotated=1))
    legend = _legend(window)
    assert legend is None or not legend.isVisible()  # nothing to explain without a prediction
    rec = window.photo.record
    pred = np.zeros((rec.height, rec.width), np.int32)
    pred[20:30, 50:70] = 1
    window.photo.set_prediction(PanopticAnnotation(pred, {1: Segment(1, 2, False, "model", 0.9)}))
    legend = _legend(window)
    qtbot.waitUntil(lambda: legend.isVisible(), timeout=2000)
    text = legend.text().lower()
    assert "prediction" in text and "outline" in text and "annotation" in text and "fill" in text
    assert window.view.viewport().geometry().contains(legend.geometry())  # on the canvas, not cut off
    QTest.keyClick(window, Qt.Key.Key_O)  # hide the annotation layer: the prediction is filled now
    text = legend.text().lower()
    assert "prediction" in text and "outline" not in text
    QTest.keyClick(window, Qt.Key.Key_O)
    window.photo.set_prediction(None)
    assert not legend.isVisible()


def test_the_legend_stays_in_the_corner_when_the_photo_is_panned(qtbot, window, make_project):
    """Panning a zoomed photo scrolls the canvas; the legend must not scroll away with the photo
    (it did: a child of the scrolled area moves with the pixels it sits on)."""
    from gui.canvas.legend import MARGIN

    open_project(qtbot, window, make_project(1, annotated=0, w=400, h=300))
    rec = window.photo.record
    pred = np.ones((rec.height, rec.width), np.int32)
    window.photo.set_prediction(PanopticAnnotation(pred, {1: Segment(1, 2, False, "model", 0.9)}))
    legend = _legend(window)
    qtbot.waitUntil(lambda: legend.isVisible(), timeout=2000)
    view = window.view
    corner = legend.mapTo(view, legend.rect().bottomLeft())
    view.set_zoom(view.zoom * 6)
    for bar, value in ((view.horizontalScrollBar(), 0), (view.verticalScrollBar(), 0),
                       (view.horizontalScrollBar(), 10_000), (view.verticalScrollBar(), 10_000)):
        bar.setValue(value)  # a pan, as dragging with the hand tool or the scroll bars does
        qtbot.wait(20)
        assert legend.mapTo(view, legend.rect().bottomLeft()) == corner
    port = view.viewport().geometry()
    assert legend.mapTo(view, legend.rect().topLeft()).x() == port.left() + MARGIN
    view.fit()
    qtbot.wait(20)
    assert legend.mapTo(view, legend.rect().bottomLeft()) == corner
