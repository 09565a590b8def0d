"""The confidence slider keeps its length while it is dragged: the labels beside it (value,
"7 segments · 9 candidates above 0.62") change with every step, and a label that grows would
shorten the groove and move the score ticks under the mouse."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyle, QStyleOptionSlider

from gui.prediction.confidence_slider import ConfidenceSlider

pytestmark = pytest.mark.timeout(30)


def _handle_centre(slider) -> QPoint:
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    return slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                         QStyle.SubControl.SC_SliderHandle, slider).center()


def test_dragging_with_changing_counts_keeps_the_groove_still(qtbot):
    w = ConfidenceSlider()
    qtbot.addWidget(w)
    w.resize(900, 40)
    w.show()
    qtbot.waitExposed(w)
    counts = iter([(1, None), (14, 118), (3, 3), (127, 1530), (0, 12), (9, 9)] * 10)

    def recount(_value: float) -> None:  # what the live threshold answers after each step
        w.show_count(*next(counts))

    w.thresholdChanged.connect(recount)
    w.show_count(None)
    slider = w.slider
    start = _handle_centre(slider)
    QTest.mousePress(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    geometries = set()
    for dx in range(0, 300, 25):
        QTest.mouseMove(slider, QPoint(start.x() + dx, start.y()))
        qtbot.wait(5)
        geometries.add((slider.x(), slider.width()))
    QTest.mouseRelease(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(start.x() + 300, start.y()))
    assert w.threshold() > 0.5  # it did move
    assert len(geometries) == 1, geometries


def test_a_photo_that_shows_nothing_because_of_the_threshold_says_so(qtbot):
    w = ConfidenceSlider()
    qtbot.addWidget(w)
    w.set_levels([0.41, 0.55, 0.62])  # the prediction's score levels
    w.set_threshold(0.8)
    w.show_count(0, 0)
    text = w.count_label.text()
    assert "0 segments" in text and "0.62" in text and "lower" in text.lower()
    w.set_threshold(0.5)
    w.show_count(2, 3)
    assert "0.62" not in w.count_label.text()
    tip = w.count_label.toolTip().lower()
    assert "candidate" in tip and "merge" in tip  # what candidates are, and why an area can grow
