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
    assert window.view.viewport().rect().contains(legend.geometry())  # on the canvas, not cut off
    QTest.keyClick(window, Qt.Key.Key_O)  # hide the annotation layer: the prediction is filled now
    text = legend.text().lower()
    assert "prediction" in text and "outline" not in text
    QTest.keyClick(window, Qt.Key.Key_O)
    window.photo.set_prediction(None)
    assert not legend.isVisible()
