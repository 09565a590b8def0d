"""The training charts are readable at the training panel's default size in a 1280 x 800 and a
1440 x 900 window: no axis label or title collapses to "..." (QtCharts elides what does not fit)."""
from __future__ import annotations

import math

import pytest
from PySide6.QtWidgets import QGraphicsSimpleTextItem, QGraphicsTextItem

from tests.support.gui import open_project

pytestmark = pytest.mark.timeout(60)


def _texts(chart) -> list[str]:
    return [i.toPlainText() if isinstance(i, QGraphicsTextItem) else i.text() for i in chart.scene().items()
            if isinstance(i, (QGraphicsTextItem, QGraphicsSimpleTextItem)) and i.isVisible()]


@pytest.mark.parametrize("size", [(1280, 800), (1440, 900)])
def test_charts_at_the_panels_default_size_show_whole_labels(qtbot, window, make_project, size):
    window.resize(*size)
    open_project(qtbot, window, make_project(2, annotated=1))
    panel = window.training.panel
    window.docks["training"].show()
    window.docks["training"].raise_()
    panel.pages.setCurrentIndex(1)  # the charts, as from a run's first record
    steps = range(0, 1800, 3)
    panel.loss_chart.add({"loss": [(s, 20 * math.exp(-s / 300) + 3) for s in steps],
                          "loss_ce": [(s, 2 * math.exp(-s / 300) + 0.5) for s in steps],
                          "loss_bbox": [(s, 5 * math.exp(-s / 200) + 0.3) for s in steps]})
    panel.pq_chart.add({"pq": [(e, 3.0 * e) for e in range(1, 13)], "pq_things": [(e, 2.0 * e) for e in range(1, 13)],
                        "pq_stuff": [(e, 4.0 * e) for e in range(1, 13)]})
    qtbot.wait(200)
    for chart in (panel.loss_chart, panel.pq_chart):
        texts = _texts(chart)
        numbers = [t for t in texts if t.replace(".", "").isdigit()]
        assert len(numbers) >= 4, texts  # both axes keep numbers to read
        assert not [t for t in texts if "..." in t or "…" in t], (chart.size(), texts)
