"""``install_measurement(services)``: the measuring tools of the main window, built and wired here.

What the user gets (all of it from ``core.measure`` and ``core.report`` figures):

* the **Measurements** panel (bottom dock): the open photo's segments with their figures, in mm
  when the photo is calibrated; sortable, copyable, CSV export; rows and canvas selection follow
  each other; kept up to date off the GUI thread as the annotation changes (``PhotoMeasurer``);
* **tooltips** on the canvas with the figures of the segment under the mouse (``MeasurementTips``);
* **calibration**: the reference-line tool (K) and the typed scale, saved per photo in the
  project (``PhotoCalibration``);
* **Measure › Write inspection report…** (also in File): the project's HTML report and CSV.

The window calls this once with its ``Services`` (``gui.shell.services``) and connects the
returned ``MeasurementUI`` to the other features (``show_prediction_provenance``); nothing else
in the window knows about measuring.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRectF
from PySide6.QtWidgets import QDialog, QFileDialog

from core.measure.exposure import project_width_limit, set_project_width_limit

from gui.measure.calibration_dialogs import LineLengthDialog, ScaleDialog
from gui.measure.calibration_tool import CalibrationTool
from gui.measure.hover import MeasurementTips
from gui.measure.measurements_panel import MeasurementsPanel
from gui.measure.measurer import SOURCE_ANNOTATION, PhotoMeasurer
from gui.measure.photo_calibration import PhotoCalibration
from gui.measure.report_action import ReportAction
from gui.measure.width_limit_dialog import WidthLimitDialog

if TYPE_CHECKING:
    from gui.shell.services import Services

log = logging.getLogger(__name__)

TIPS_PREF = "measure/tooltips"


class MeasurementUI(QObject):
    """The measuring parts of one window and the glue between them (no figures are made here)."""

    def __init__(self, services: Services):
        super().__init__(services.dialog_parent)
        s = self.services = services
        self.calibration = PhotoCalibration(s.session, self)
        self.measurer = PhotoMeasurer(s.editing, s.session, s.runner, self)
        self.panel = MeasurementsPanel()
        self.tips = MeasurementTips(s.view, self.measurer, lambda: self.calibration.calibration, self)
        self.tips.set_enabled(s.prefs.get_bool(TIPS_PREF, True))
        self.report = ReportAction(s.dialog_parent, s.session, s.runner, s.status, s.flush_edits, self)
        self.tool = CalibrationTool(s.editing, self.line_drawn, lambda: self.calibration.calibration)
        self.tool_key = s.editing.add_tool(self.tool)
        self._tool_before = "BrushTool"
        self.width_limit = None
        self.line_dialog: LineLengthDialog | None = None
        self._panel_shown = True
        self.dock = s.panels.place("measurements", "Measurements", self.panel)
        self._build_actions()
        self._connect()

    # --- composition -----------------------------------------------------------------------------
    def _build_actions(self) -> None:
        acts = self.services.actions
        # With the other tools (Tools menu, tool bar), and in the Measure menu.
        tool_act = acts.add_tool(self.tool_key, self.tool, self.start_line_tool)
        scale = acts.add("set_scale", "Set the &scale…", self.edit_scale, None, "mdi6.ruler-square",
                         "Type the photo's scale (mm per pixel), or remove it")
        limit = acts.add("width_limit", "Crack &width limit…", self.edit_width_limit, None,
                         "mdi6.arrow-expand-horizontal",
                         "The project's tolerable crack width (exposure class or its own limit), shown against "
                         "each crack")
        tips = acts.add("measure_tips", "Measurement &tooltips", self._set_tips, None, "mdi6.tooltip-text-outline",
                        "Show a segment's figures when the mouse rests on it", checkable=True)
        tips.setChecked(self.tips.enabled)
        export = acts.add("export_measurements", "&Export this photo's measurements (CSV)…", self.export_csv, None,
                          "mdi6.file-delimited-outline")
        report = acts.add("write_report", "Write inspection &report…", self.report.choose_and_write,
                          "Ctrl+Shift+R", "mdi6.file-document-outline",
                          "An HTML report of every annotated photo (defects, measurements, totals) and a CSV")
        menu = acts.menu("measure", "Mea&sure")
        panel = self.dock.toggleViewAction()
        panel.setText("Measurements &panel")
        for a in (panel, None, tool_act, scale, limit, None, tips, None, export, report):
            menu.addSeparator() if a is None else menu.addAction(a)
        self.menu = menu
        # Also in File, after Export (where a report is looked for beside the other outputs).
        file_menu = acts.menu("file")
        entries = file_menu.actions()
        after = entries.index(acts.a["export"]) + 1 if "export" in acts.a else len(entries)
        if after < len(entries):
            file_menu.insertAction(entries[after], report)
        else:
            file_menu.addAction(report)

    def _connect(self) -> None:
        # A list of connections, one a line: alike in shape to other wiring (the photo session's),
        # but every line joins a different signal to a different slot.
        s, m, p = self.services, self.measurer, self.panel
        s.photo.photoChanged.connect(self._photo_changed)
        s.photo.predictionChanged.connect(self._prediction_changed)
        s.photo.fullResolution.connect(m.photo_loaded)
        s.session.opened.connect(self._project_opened)
        s.session.closed.connect(lambda: self._show_width_limit(None))
        self.tips.width_limit = lambda: self.width_limit
        s.editing.documentChanged.connect(self._document_changed)
        s.editing.toolChanged.connect(self._tool_changed)
        m.measured.connect(lambda f: p.set_figures(f, s.session.categories))
        m.measured.connect(lambda _f: self._follow_canvas_selection())
        m.busyChanged.connect(p.set_busy)
        m.failed.connect(p.show_error)
        self.calibration.changed.connect(lambda _i, cal: p.set_calibration(cal))
        self.calibration.changed.connect(lambda _i, cal: self.tool.show_reference(cal))
        p.sourceChosen.connect(m.set_source)
        p.segmentsSelected.connect(self._rows_selected)
        p.segmentActivated.connect(self.show_segment)
        p.calibrateRequested.connect(self.start_line_tool)
        p.scaleRequested.connect(self.edit_scale)
        p.exportRequested.connect(self.export_csv)
        self.report.notice.connect(lambda text: s.status.showMessage(text, 10_000))
        # Measure only while the figures can be seen: the panel (its tab may be behind another)
        # or the tooltips.
        self.dock.visibilityChanged.connect(self._update_measuring)

    # --- following the photo -----------------------------------------------------------------------
    def _photo_changed(self, record) -> None:
        self.tool.cancel()
        self.panel.set_photo(record.name if record is not None else "")
        self.calibration.set_photo(record.id if record is not None else None)

    def _prediction_changed(self, prediction, _areas) -> None:
        self.panel.set_prediction_available(prediction is not None)
        self.measurer.prediction_changed()

    def show_prediction_provenance(self, provenance) -> None:
        """The shown prediction's provenance changed (``core.inference`` provenance, or None): the
        panel says why a predicted segment may lack a figure."""
        self.panel.set_absence_reason(None if provenance is None else provenance.absence_reason())

    def _document_changed(self, doc) -> None:
        if doc is not None:
            doc.selectionChanged.connect(self._follow_canvas_selection)

    def _follow_canvas_selection(self) -> None:
        doc = self.services.editing.document
        if doc is not None and self.panel.source == SOURCE_ANNOTATION:
            self.panel.select_segments(doc.selected)

    def _rows_selected(self, source: str, ids: list) -> None:
        if source == SOURCE_ANNOTATION:
            doc = self.services.editing.document
            if doc is not None:
                doc.select(ids)
        else:
            item = self.services.view.prediction_item
            if item is not None:
                item.set_selected(ids)

    def show_segment(self, source: str, segment_id: int) -> None:
        """Select a segment and bring it into view (zooming out only when it does not fit)."""
        self._rows_selected(source, [segment_id])
        rect = self.panel.bbox_of(segment_id)
        view = self.services.view
        if rect is None:
            return
        vp = view.viewport().rect()
        margin = max(rect.width(), rect.height()) * 0.15 + 8
        want = rect.adjusted(-margin, -margin, margin, margin)
        fit = min(vp.width() / max(want.width(), 1.0), vp.height() / max(want.height(), 1.0))
        if fit < view.zoom:
            view.set_zoom(fit)
        view.centerOn(QRectF(rect).center())

    # --- calibration -----------------------------------------------------------------------------
    def _tool_changed(self, tool) -> None:
        if tool is not self.tool:
            self._tool_before = type(tool).__name__

    def start_line_tool(self) -> None:
        self.services.editing.set_tool(self.tool_key)
        self.services.status.showMessage("Drag along something of known length (scale bar, rule, rebar); "
                                       "Shift keeps the line straight; Esc cancels", 8000)

    def line_drawn(self, p0, p1) -> None:
        """The tool finished a line: ask what length it covers."""
        record = self.services.photo.record
        if record is None:
            self.tool.clear_line()
            return
        dlg = LineLengthDialog(p0, p1, record.name, self.services.dialog_parent)
        self.line_dialog = dlg

        def finished(result: int, image_id=record.id):
            self.line_dialog = None
            self.tool.clear_line()
            if result == QDialog.DialogCode.Accepted and self.calibration.image_id == image_id:
                if self.apply(dlg.calibration()):
                    self.services.editing.set_tool(self._tool_before)
            dlg.deleteLater()

        dlg.finished.connect(finished)
        dlg.open()

    def apply(self, calibration) -> bool:
        """Save ``calibration`` for the open photo; errors go to the user. True when saved."""
        try:
            self.calibration.apply(calibration)
        except Exception as e:  # noqa: BLE001 - shown; the previous scale is kept
            self.services.reporter.report(e, "save the photo's scale")
            return False
        self.services.status.showMessage(f"Scale saved: {calibration.describe()}", 8000)
        return True

    def edit_scale(self) -> None:
        record = self.services.photo.record
        if record is None:
            self.services.status.showMessage("Open a photo to set its scale.", 5000)
            return
        dlg = ScaleDialog(self.calibration.calibration, record.name, self.services.dialog_parent)

        def finished(result: int, image_id=record.id):
            if self.calibration.image_id == image_id:
                if result == QDialog.DialogCode.Accepted:
                    self.apply(dlg.calibration())
                elif result == ScaleDialog.REMOVE:
                    try:
                        self.calibration.clear()
                        self.services.status.showMessage("Scale removed: figures in pixels", 8000)
                    except Exception as e:  # noqa: BLE001 - shown; the scale is kept
                        self.services.reporter.report(e, "remove the photo's scale")
            dlg.deleteLater()

        dlg.finished.connect(finished)
        dlg.open()

    # --- crack width limit ---------------------------------------------------------------------
    def _project_opened(self, project) -> None:
        try:
            limit = project_width_limit(project)
        except Exception as e:  # noqa: BLE001 - a damaged setting never stops the project opening
            log.warning("cannot read the crack width limit: %s", e)
            limit = None
        self._show_width_limit(limit)

    def _show_width_limit(self, limit) -> None:
        self.width_limit = limit
        self.panel.set_width_limit(limit)

    def edit_width_limit(self) -> None:
        project = self.services.session.project
        if project is None:
            self.services.status.showMessage("Open a project to set its crack width limit.", 5000)
            return
        dlg = WidthLimitDialog(self.width_limit, self.services.dialog_parent)

        def finished(result: int):
            if result == QDialog.DialogCode.Accepted and self.services.session.project is project:
                limit = dlg.limit()
                try:
                    set_project_width_limit(project, limit)
                except Exception as e:  # noqa: BLE001 - shown; the previous limit is kept
                    self.services.reporter.report(e, "save the crack width limit")
                else:
                    self._show_width_limit(limit)
                    self.services.status.showMessage(
                        f"Crack width limit: {limit.describe() if limit else 'none'}", 8000)
            dlg.deleteLater()

        dlg.finished.connect(finished)
        dlg.open()

    # --- tooltips and export ---------------------------------------------------------------------
    def _set_tips(self, on: bool) -> None:
        self.tips.set_enabled(on)
        self.services.prefs.set(TIPS_PREF, bool(on))
        self._update_measuring()

    def _update_measuring(self, panel_shown: bool | None = None) -> None:
        # The dock says whether it is shown (before its widget's own flag follows).
        if panel_shown is not None:
            self._panel_shown = panel_shown
        self.measurer.set_enabled(self.tips.enabled or self._panel_shown)

    def export_csv(self) -> None:
        record = self.services.photo.record
        if record is None or self.panel.figures is None:
            self.services.status.showMessage("There are no measurements to export yet.", 5000)
            return
        project = self.services.session.project
        start = (project.folder if project is not None else Path.home()) / f"{Path(record.name).stem}_measurements.csv"
        path, _ = QFileDialog.getSaveFileName(self.services.dialog_parent, "Export the measurements", str(start),
                                              "CSV files (*.csv);;All files (*)")
        if not path:
            return
        if not path.lower().endswith(".csv"):
            path += ".csv"
        try:
            written = self.panel.export_csv(path)
        except Exception as e:  # noqa: BLE001 - shown; nothing half-written (atomic)
            self.services.reporter.report(e, "export the measurements")
            return
        self.services.status.showMessage(f"Measurements written to {written}", 8000)


def install_measurement(services: Services) -> MeasurementUI:
    """Build the measuring tools with ``services``; returns them (the window connects them to the
    other features; tests and scripts reach in)."""
    return MeasurementUI(services)
