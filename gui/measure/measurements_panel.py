"""``MeasurementsPanel``: the measurements table of the photo on the canvas.

One row per segment with the core's figures (``core.measure``), in millimetres when the photo
is calibrated and in pixels when not (the header line says which, and how the scale was set).
Click a column title to sort; selecting rows selects those segments on the canvas (and the
canvas selection selects the rows); double-click a row to bring its segment into view.
Ctrl+C copies the selected rows (all rows when none is selected) as tab-separated text;
"Export CSV…" writes the report's CSV columns for this photo.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QModelIndex, QRectF, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QSizePolicy,
                               QTableView, QToolButton, QVBoxLayout, QWidget)

from core.categories import CategorySet
from core.measure import PhotoMeasurements, summarize, to_tsv
from core.calibration import UNIT_MM, UNIT_PX, Calibration
from core.measure.exposure import ABOVE, NEAR, compare_measurement
from core.measure.present import format_number
from core.report import write_csv
from core.report.provenance import empty_result_text
from gui.shell.icons import bind
from gui.measure.measurements_model import (COL_SCORE, SEGMENT_ROLE, MeasurementsModel, MeasurementsSortProxy)
from gui.measure.measurer import SOURCE_ANNOTATION, SOURCE_PREDICTION, PhotoFigures


class MeasurementsPanel(QWidget):
    """Shows ``PhotoFigures`` under a ``Calibration``; asks for segment selection by signals."""

    segmentsSelected = Signal(str, list)   # source, segment ids (rows chosen by the user)
    segmentActivated = Signal(str, int)    # source, segment id (double-click: show it)
    sourceChosen = Signal(str)             # "annotation" or "prediction"
    calibrateRequested = Signal()          # draw a reference line
    scaleRequested = Signal()              # type a scale / remove it
    exportRequested = Signal()             # CSV of this photo

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("measurementsPanel")
        self.figures: PhotoFigures | None = None
        self.calibration: Calibration | None = None
        self.photo_name = ""
        #: Why the active model's empty result proves nothing (``core.report.provenance``); None: it may.
        self.absence_reason: str | None = None
        self._categories: CategorySet | None = None
        self.model = MeasurementsModel(self)
        self.proxy = MeasurementsSortProxy(self)
        self.proxy.setSourceModel(self.model)

        self.scale_label = QLabel()
        self.scale_label.setObjectName("scaleLabel")
        self.scale_label.setTextFormat(Qt.TextFormat.PlainText)
        self.scale_label.setMinimumWidth(60)  # may be cut short in a narrow window; the tooltip has it all
        self.scale_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.state_label = QLabel()
        self.state_label.setTextFormat(Qt.TextFormat.PlainText)
        self.source_box = QComboBox()
        self.source_box.addItem("Annotation", SOURCE_ANNOTATION)
        self.source_box.addItem("Prediction", SOURCE_PREDICTION)
        self.source_box.setToolTip("Measure the annotation, or the model's prediction at the threshold shown")
        self.source_box.setEnabled(False)
        self.buttons: dict[str, QToolButton] = {}
        top = QHBoxLayout()
        top.setSpacing(4)
        top.addWidget(self.source_box)
        top.addWidget(self.scale_label, 1)
        top.addWidget(self.state_label)
        for key, ic, text, tip, signal in (
                ("calibrate", "mdi6.ruler", "Reference line", "Draw a line over something of known length (K)",
                 self.calibrateRequested),
                ("scale", "mdi6.ruler-square", "Scale…", "Type the scale (mm per pixel), or remove it",
                 self.scaleRequested),
                ("copy", "mdi6.content-copy", "Copy", "Copy the selected rows (all when none is selected) "
                 "as a table for spreadsheets (Ctrl+C)", None),
                ("export", "mdi6.file-delimited-outline", "Export CSV…", "Write this photo's measurements "
                 "to a CSV file", self.exportRequested)):
            b = QToolButton()
            bind(b, ic)
            b.setText(text)
            b.setToolTip(tip)
            b.setAutoRaise(True)
            # Copy and export are plain icons: the panel shares the bottom area with wide panels
            # and must not make the window's minimum width larger than theirs.
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon if key in ("calibrate", "scale")
                                 else Qt.ToolButtonStyle.ToolButtonIconOnly)
            b.clicked.connect(signal.emit if signal is not None else self.copy)
            top.addWidget(b)
            self.buttons[key] = b

        self.table = QTableView()
        self.table.setObjectName("measurementsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.totals_label = QLabel()
        self.totals_label.setObjectName("totalsLabel")
        self.totals_label.setTextFormat(Qt.TextFormat.PlainText)
        self.totals_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.totals_label)

        self._syncing = False
        self.table.selectionModel().selectionChanged.connect(self._rows_selected)
        self.table.doubleClicked.connect(self._activated)
        self.table.installEventFilter(self)
        self.source_box.currentIndexChanged.connect(lambda _i: self.sourceChosen.emit(self.source_box.currentData()))
        self._show_state()

    # --- inputs ----------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        return self.source_box.currentData()

    def set_photo(self, name: str) -> None:
        self.photo_name = name

    def set_figures(self, figures: PhotoFigures | None, categories: CategorySet | None) -> None:
        self.figures = figures
        self._categories = categories
        self._fill()

    def set_calibration(self, calibration: Calibration | None) -> None:
        self.calibration = calibration
        self._fill()

    def set_width_limit(self, limit) -> None:
        """The project's tolerable crack width (``core.measure.exposure.WidthLimit`` or None)."""
        self.model.limit = limit
        self._fill()

    def set_absence_reason(self, reason: str | None) -> None:
        """The active model's standing on the project: shown instead of "No defects" when it found none."""
        self.absence_reason = reason
        self._show_state()

    def set_prediction_available(self, available: bool) -> None:
        """Offer "Prediction" only while the photo has one; fall back to the annotation otherwise."""
        if not available and self.source == SOURCE_PREDICTION:
            self.source_box.setCurrentIndex(0)
        self.source_box.setEnabled(available)

    def set_busy(self, busy: bool) -> None:
        self.state_label.setText("measuring…" if busy else "")

    def show_error(self, text: str) -> None:
        self.totals_label.setText(text)

    # --- what is shown ---------------------------------------------------------------------------
    def measurements(self):
        """The rows in the photo's units (mm when calibrated), in the core's order."""
        if self.figures is None:
            return []
        return [m.with_calibration(self.calibration) for m in self.figures.measurements]

    def photo_measurements(self) -> PhotoMeasurements | None:
        """This photo's figures as the report's CSV writer takes them."""
        f = self.figures
        if f is None:
            return None
        return PhotoMeasurements(self.photo_name, f.width, f.height, self.calibration, f.source,
                                 tuple(self.measurements()))

    def _fill(self) -> None:
        keep = self.selected_segments()
        unit = UNIT_MM if self.calibration is not None else UNIT_PX
        rows = self.measurements()
        self._syncing = True
        try:
            self.model.set_rows(rows, unit, self._categories if self._categories is not None else CategorySet())
            self.select_segments(keep)
        finally:
            self._syncing = False
        self.table.setColumnHidden(COL_SCORE, not any(m.score is not None for m in rows))
        self._show_state()

    def _show_state(self) -> None:
        cal = self.calibration
        if cal is None:
            self.scale_label.setText("Not calibrated: figures in pixels")
            self.scale_label.setToolTip("Draw a reference line (K) or type the scale to get millimetres")
        else:
            self.scale_label.setText(cal.describe())
            self.scale_label.setToolTip(f"{cal.describe()}\nEvery figure of this photo is in millimetres")
        has_rows = self.model.rowCount() > 0
        self.buttons["copy"].setEnabled(has_rows)
        self.buttons["export"].setEnabled(has_rows)
        self.totals_label.setText(self.totals_text())

    def totals_text(self) -> str:
        """One line of totals per defect category: count, total length, widest crack, area."""
        p = self.photo_measurements()
        if p is None or self._categories is None:
            return ""
        if not p.defects:
            if not p.measurements:
                return "No segments on this photo."
            return empty_result_text(p.source == SOURCE_PREDICTION, self.absence_reason)
        parts = []
        for t in summarize([p], self._categories, defects_only=True):
            text = f"{t.category_name}: {t.count}"
            if t.total_length is not None:
                text += f", {format_number(t.total_length)} {t.unit} long"
            if t.max_width is not None:
                text += f", up to {format_number(t.max_width)} {t.unit} wide"
            if t.total_length is None:
                text += f", {format_number(t.total_area)} {t.area_unit}"
            parts.append(text)
        text = "Defects — " + " · ".join(parts)
        limit = self.model.limit
        if limit is not None and any(m.width is not None for m in p.defects):
            if p.calibration is None:
                text += f"\nCrack width limit {limit.limit_mm:.2f} mm: not compared, the photo has no scale"
            else:
                verdicts = [v for v in (compare_measurement(m, limit) for m in p.defects) if v is not None]
                text += (f"\nCrack width limit {limit.describe()}: {verdicts.count(ABOVE)} above, "
                         f"{verdicts.count(NEAR)} near")
        return text

    # --- selection -------------------------------------------------------------------------------
    def selected_segments(self) -> list[int]:
        rows = sorted({self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.measurement(r).segment_id for r in rows if 0 <= r < self.model.rowCount()]

    def select_segments(self, segment_ids) -> None:
        """Select the rows of these segments (the canvas selection changed); no signal back."""
        wanted = set(segment_ids)
        selection = QItemSelection()
        for r, m in enumerate(self.model.rows):
            if m.segment_id in wanted:
                left = self.proxy.mapFromSource(self.model.index(r, 0))
                right = self.proxy.mapFromSource(self.model.index(r, self.model.columnCount() - 1))
                selection.select(left, right)
        was, self._syncing = self._syncing, True
        try:
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            self.table.selectionModel().select(selection, flags)
            if not selection.isEmpty():
                self.table.scrollTo(selection.indexes()[0])
        finally:
            self._syncing = was

    def _rows_selected(self, *_args) -> None:
        if not self._syncing:
            self.segmentsSelected.emit(self.source, self.selected_segments())

    def _activated(self, index: QModelIndex) -> None:
        seg = index.data(SEGMENT_ROLE)
        if seg is not None:
            self.segmentActivated.emit(self.source, int(seg))

    def bbox_of(self, segment_id: int) -> QRectF | None:
        r = self.model.row_of(segment_id)
        if r < 0:
            return None
        x, y, w, h = self.model.measurement(r).bbox_px
        return QRectF(x, y, w, h)

    # --- copy and export -------------------------------------------------------------------------
    def copy_text(self) -> str:
        """Tab-separated rows (header first): the selected rows in table order, else all."""
        chosen = set(self.selected_segments())
        order = [self.proxy.mapToSource(self.proxy.index(r, 0)).row() for r in range(self.proxy.rowCount())]
        rows = [self.model.measurement(r) for r in order]
        if chosen:
            rows = [m for m in rows if m.segment_id in chosen]
        return to_tsv(rows) if rows else ""

    def copy(self) -> None:
        text = self.copy_text()
        if text:
            QGuiApplication.clipboard().setText(text)

    def export_csv(self, path: str | Path) -> Path:
        """Write this photo's rows with the report's CSV columns (atomically)."""
        p = self.photo_measurements()
        if p is None:
            raise ValueError("there are no measurements to export")
        return write_csv(path, [p])

    def eventFilter(self, obj, event) -> bool:
        # The table's own Ctrl+C copies one cell; here it copies whole rows with the header.
        if obj is self.table and event.type() == QEvent.Type.KeyPress and event.matches(QKeySequence.StandardKey.Copy):
            self.copy()
            return True
        return False
