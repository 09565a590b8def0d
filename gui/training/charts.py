"""Live charts of a training run (QtCharts): the loss terms per step, and validation PQ per epoch.

Built from the run's records; points are added in batches (the training panel flushes a few
times a second), and long runs are thinned so a chart never holds more than ``MAX_POINTS``
points per line (redrawing stays cheap however many steps the run has).
"""
from __future__ import annotations

import math

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, QPointF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QWidget

#: Names of the loss terms people know; a term a model adds later is drawn under its own name.
LOSS_NAMES = {"loss": "total", "loss_ce": "class", "loss_bbox": "box", "loss_giou": "GIoU",
              "loss_mask": "mask", "loss_dice": "dice"}
COLOURS = {"loss": "#2563eb", "loss_ce": "#f59e0b", "loss_bbox": "#10b981", "loss_giou": "#8b5cf6",
           "loss_mask": "#ef4444", "loss_dice": "#ec4899", "pq": "#2563eb", "pq_things": "#ef4444",
           "pq_stuff": "#10b981"}
SPARE_COLOURS = ("#0ea5e9", "#84cc16", "#f97316", "#64748b", "#a855f7", "#14b8a6")


def loss_terms(losses: dict[str, float]) -> list[str]:
    """The terms a chart draws: the total and each weighted term of the last decoder layer.
    Auxiliary per-layer terms (``..._0``) and the unweighted ``cardinality_error`` are left out:
    they would crowd the chart without telling more."""
    return [k for k in losses if k.startswith("loss") and not k[-1].isdigit()]
MAX_POINTS = 1200
#: Below this height (px) a chart is compact: small title, no axis titles, legend on the right.
#: The training panel's default height in a 1280 x 800 or 1440 x 900 window is ~130 px, where
#: the full layout left QtCharts ~20 px of plot and every label elided to "...".
COMPACT_HEIGHT = 240
#: Room a tick label needs (px): ticks are spaced so that labels never crowd.
X_LABEL_PX, Y_LABEL_PX = 80, 26


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is at least ``raw`` (at least 1: steps and epochs)."""
    if raw <= 1:
        return 1.0
    k = 10 ** math.floor(math.log10(raw))
    return next(m * k for m in (1, 2, 5, 10) if m * k >= raw)


def _thin(points: list[QPointF]) -> list[QPointF]:
    """Halve a line by averaging neighbours (keeps its shape, and the last point exactly)."""
    out = [QPointF((a.x() + b.x()) / 2, (a.y() + b.y()) / 2) for a, b in zip(points[0::2], points[1::2])]
    if len(points) % 2:
        out.append(points[-1])
    return out


class _Chart(QChartView):
    """A chart with one line per key, x and y value axes that follow the data."""

    def __init__(self, title: str, x_title: str, y_title: str, keys: dict[str, str],
                 parent: QWidget | None = None):
        chart = QChart()
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumSize(160, 40)  # the bottom panels must not force a tall window
        self._title = title
        self._compact: bool | None = None
        chart.setTitle(title)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.setMargins(QMargins(4, 4, 4, 4))
        self.x_axis, self.y_axis = QValueAxis(), QValueAxis()
        self.x_axis.setTitleText(x_title)
        self.x_axis.setLabelFormat("%d")
        self.y_axis.setTitleText(y_title)
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        self.series: dict[str, QLineSeries] = {}
        self._points: dict[str, list[QPointF]] = {}
        self._dynamic = not keys
        for key, name in keys.items():
            self._add_series(key, name)
        self.apply_palette()
        self._lay_out()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._lay_out()
        self._fit()

    def _lay_out(self) -> None:
        """Full layout when there is room; compact (the usual bottom panel) otherwise."""
        compact = self.height() < COMPACT_HEIGHT
        if compact == self._compact:
            return
        self._compact = compact
        chart = self.chart()
        font = QFont(self.font())
        if compact:
            font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        font.setBold(not compact)
        chart.setTitleFont(font)
        chart.setMargins(QMargins(2, 0, 2, 0) if compact else QMargins(4, 4, 4, 4))
        # The axis titles repeat the chart's title ("Training loss per step"): the first to go.
        for axis in (self.x_axis, self.y_axis):
            axis.setTitleVisible(not compact)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignRight if compact else Qt.AlignmentFlag.AlignBottom)

    def _ticks(self) -> tuple[int, int]:
        """How many x and y tick labels fit the plot at the chart's size (at least 2 each)."""
        legend_w = 90 if self._compact else 0
        plot_w = max(1, self.width() - 70 - legend_w)
        plot_h = max(1, self.height() - (30 if self._compact else 110))
        return max(2, plot_w // X_LABEL_PX), max(2, min(6, plot_h // Y_LABEL_PX))

    def _add_series(self, key: str, name: str) -> QLineSeries:
        s = QLineSeries()
        s.setName(name)
        colour = COLOURS.get(key) or SPARE_COLOURS[len(self.series) % len(SPARE_COLOURS)]
        s.setPen(QPen(QColor(colour), 2.2 if key in ("loss", "pq") else 1.4))
        self.chart().addSeries(s)
        s.attachAxis(self.x_axis)
        s.attachAxis(self.y_axis)
        s.setVisible(False)  # shown with its first point
        self.series[key] = s
        self._points[key] = []
        return s

    def apply_palette(self) -> None:
        pal = QApplication.palette()
        chart = self.chart()
        chart.setBackgroundBrush(pal.color(QPalette.ColorRole.Base))
        text = pal.color(QPalette.ColorRole.Text)
        chart.setTitleBrush(text)
        chart.legend().setLabelColor(text)
        for axis in (self.x_axis, self.y_axis):
            axis.setLabelsColor(text)
            axis.setTitleBrush(text)
            axis.setGridLineColor(pal.color(QPalette.ColorRole.Mid))

    def clear(self) -> None:
        for key, s in list(self.series.items()):
            if self._dynamic:  # the next run may have other terms (another stage or model)
                self.chart().removeSeries(s)
                del self.series[key], self._points[key]
                continue
            s.clear()
            s.setVisible(False)
            self._points[key] = []
        self.x_axis.setRange(0, 1)
        self.y_axis.setRange(0, 1)

    def add(self, new: dict[str, list[tuple[float, float]]]) -> None:
        """Append points ``{key: [(x, y), ...]}`` (non-finite values skipped), then fit the axes."""
        for key, pts in new.items():
            if key not in self.series:
                if not self._dynamic:
                    continue
                self._add_series(key, LOSS_NAMES.get(key, key.removeprefix("loss_")))
            line = self._points[key]
            line.extend(QPointF(x, y) for x, y in pts if math.isfinite(y))
            while len(line) > MAX_POINTS:
                line[:] = _thin(line)
            if line:
                self.series[key].replace(line)
                self.series[key].setVisible(True)
        self._fit()

    def point_count(self, key: str) -> int:
        return len(self._points.get(key, ()))

    def _fit(self) -> None:
        xs = [p.x() for line in self._points.values() for p in line]
        ys = [p.y() for line in self._points.values() for p in line]
        if not xs:
            return
        lo, hi = min(xs), max(max(xs), min(xs) + 1)
        self.x_axis.setRange(lo, hi)
        # Ticks on round numbers (1, 2, 5 x 10^k) rather than on fifths of an odd range.
        self.x_axis.setTickType(QValueAxis.TickType.TicksDynamic)
        self.x_axis.setTickAnchor(0)
        nx, _ny = self._ticks()
        self.x_axis.setTickInterval(nice_step((hi - lo) / nx))
        self._fit_y(min(ys), max(ys))

    def _fit_y(self, lo: float, hi: float) -> None:
        pad = (hi - lo) * 0.05 or 0.5
        self.y_axis.setRange(min(0.0, lo), hi + pad)
        self.y_axis.setTickCount(self._ticks()[1])
        self.y_axis.applyNiceNumbers()


class LossChart(_Chart):
    """The weighted loss terms against the optimizer step."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Training loss per step", "step", "loss", {}, parent)


class PQChart(_Chart):
    """Validation PQ (all, things, stuff; x 100 as panopticapi prints it) against the epoch."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Validation PQ per epoch", "epoch", "PQ",
                         {"pq": "PQ", "pq_things": "things", "pq_stuff": "stuff"}, parent)
        for s in self.series.values():
            s.setPointsVisible(True)

    def _fit_y(self, lo: float, hi: float) -> None:
        top = max(10.0, min(100.0, math.ceil(hi / 10 + 0.01) * 10))
        self.y_axis.setRange(0.0, top)
        self.y_axis.setTickType(QValueAxis.TickType.TicksDynamic)
        self.y_axis.setTickAnchor(0)
        self.y_axis.setTickInterval(max(10.0, nice_step(top / (self._ticks()[1] - 1))))
        self.y_axis.setLabelFormat("%d")
