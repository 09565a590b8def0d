"""Screenshots of measuring in the window for the docs (docs/images/gui_measure_*.png).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_measure.py [--out docs/images]

Builds the sample project in a temporary folder, opens a photo with cracks, draws a reference
line with the calibration tool (a screen grab, so the dialog and the line show together), enters
its length, selects the longest crack in the Measurements panel and rests the mouse on it (a
screen grab again: tooltips are windows of their own), then opens the report dialog. Nothing
outside the temporary folder is touched (``tools.shots``: a fresh user's settings).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import shots


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shots.add_arguments(ap)
    ap.add_argument("--photo", default="wall_05.jpg")
    args = ap.parse_args(argv)

    from PySide6.QtCore import QPointF, QRect, Qt
    from PySide6.QtGui import QCursor
    from PySide6.QtWidgets import QToolTip
    from PySide6.QtTest import QTest

    tmp = shots.fresh_user("pi-measure-shots-")
    app = shots.make_app()
    path = shots.sample_project(tmp)
    w = shots.open_window(app, path, shots.window_size(args.size))
    ui = w.measurement

    def spin(seconds: float = 0.0, until=None, timeout: float = 60.0) -> bool:
        return shots.spin(app, seconds, until, timeout)

    def open_photo(name: str) -> None:
        shots.open_photo(app, w, name, until=lambda: ui.measurer.figures is not None and not ui.measurer.busy)

    def save(pixmap, name: str) -> None:
        shots.save(pixmap, args.out / f"gui_measure_{name}.png")

    open_photo(args.photo)
    ui.dock.raise_()
    w.resizeDocks([ui.dock], [300], Qt.Orientation.Vertical)
    spin(0.5)

    # 1. the reference line: drawn along the photo's bottom edge, its length asked
    rec = w.photo.record
    w.actions.a["tool:CalibrationTool"].trigger()
    vp = w.view.viewport()
    p0 = w.view.mapFromScene(QPointF(rec.width * 0.2, rec.height * 0.9))
    p1 = w.view.mapFromScene(QPointF(rec.width * 0.6, rec.height * 0.9))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p0)
    QTest.mouseMove(vp, p1)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p1)
    spin(until=lambda: ui.line_dialog is not None, timeout=5)
    dlg = ui.line_dialog
    dlg.length.setValue(500.0)  # a 0.5 m folding rule
    spin(0.5)
    g = w.frameGeometry()
    save(shots.grab_screen(app, g), "calibration")
    dlg.accept()
    spin(0.5)

    # 2. the measurements panel: calibrated, the longest crack selected
    figures = ui.panel.measurements()
    cracks = [m for m in figures if m.role.value == "crack"]
    longest = max(cracks, key=lambda m: m.length_px) if cracks else figures[0]
    ui.panel.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    w.photo.document.select([longest.segment_id])
    w.controller.set_tool("SelectTool")
    spin(0.5)
    save(w.grab(), "panel")

    # 3. a tooltip: the mouse resting on that crack
    x, y = longest.anchor_xy
    pos = w.view.mapFromScene(QPointF(x, y))
    QCursor.setPos(vp.mapToGlobal(pos))
    QTest.mouseMove(vp, pos)
    spin(until=lambda: ui.tips.last_text != "", timeout=5)
    spin(0.4)
    centre = vp.mapToGlobal(pos)
    canvas = QRect(vp.mapToGlobal(vp.rect().topLeft()), vp.size())
    area = QRect(centre.x() - 420, centre.y() - 260, 900, 520).intersected(canvas)
    save(shots.grab_screen(app, area), "tooltip")

    QToolTip.hideText()

    # 4. the report dialog
    w.actions.a["write_report"].trigger()
    spin(until=lambda: ui.report.dialog is not None, timeout=5)
    ui.report.dialog.title.setText("Bridge inspection, north abutment")
    spin(0.4)
    save(ui.report.dialog.grab(), "report_dialog")
    ui.report.dialog.reject()

    w.autosaver.flush()
    spin(1.0)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
