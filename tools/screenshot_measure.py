"""Screenshots of measuring in the window for the docs (docs/images/gui_measure_*.png).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_measure.py [--out docs/images]

Builds the sample project in a temporary folder, opens a photo with cracks, draws a reference
line with the calibration tool (a screen grab, so the dialog and the line show together), enters
its length, selects the longest crack in the Measurements panel and rests the mouse on it (a
screen grab again: tooltips are windows of their own), then opens the report dialog. Nothing outside the temporary folder is
touched (preferences go to a temporary INI file).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def spin(app, seconds: float = 0.0, until=None, timeout: float = 60.0) -> None:
    end = time.perf_counter() + (timeout if until else seconds)
    while time.perf_counter() < end:
        app.processEvents()
        if until is not None and until():
            break
        time.sleep(0.01)
    for _ in range(5):
        app.processEvents()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--size", default="1600x1000")
    ap.add_argument("--photo", default="wall_05.jpg")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QPointF, QRect, QSettings, Qt
    from PySide6.QtGui import QCursor
    from PySide6.QtWidgets import QToolTip
    from PySide6.QtTest import QTest

    from core.synthetic.sample import build_sample_project
    from gui.app import create_app
    from gui.main_window import MainWindow
    from gui.settings import Preferences
    from gui.theme import LIGHT, apply_theme

    app = create_app([])
    apply_theme(app, LIGHT)
    tmp = Path(tempfile.mkdtemp(prefix="pi-measure-shots-"))
    path = build_sample_project(tmp / "Sample bridge inspection.pinspect")
    prefs = Preferences(QSettings(str(tmp / "prefs.ini"), QSettings.Format.IniFormat))
    w = MainWindow(prefs, show_error_dialogs=False)
    w.resize(width, height)
    w.move(0, 0)
    w.show()
    w.project_actions.open_path(path)
    spin(app, until=lambda: w.photo.document is not None and w.view.photo_item.full_resolution)
    ui = w.measurement
    screen = app.primaryScreen()

    def open_photo(name: str) -> None:
        rec = next(r for r in w.session.images if r.name == name)
        w.browser.select_image(rec.id)
        spin(app, until=lambda: w.photo.document is not None and w.photo.record.id == rec.id
             and w.view.photo_item.full_resolution and ui.measurer.figures is not None and not ui.measurer.busy)

    def save(pixmap, name: str) -> None:
        out = args.out / f"gui_measure_{name}.png"
        pixmap.save(str(out))
        print("wrote", out, flush=True)

    open_photo(args.photo)
    ui.dock.raise_()
    w.resizeDocks([ui.dock], [300], Qt.Orientation.Vertical)
    spin(app, 0.5)

    # 1. the reference line: drawn along the photo's bottom edge, its length asked
    rec = w.photo.record
    w.actions.a["tool:CalibrationTool"].trigger()
    vp = w.view.viewport()
    p0 = w.view.mapFromScene(QPointF(rec.width * 0.2, rec.height * 0.9))
    p1 = w.view.mapFromScene(QPointF(rec.width * 0.6, rec.height * 0.9))
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p0)
    QTest.mouseMove(vp, p1)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p1)
    spin(app, until=lambda: ui.line_dialog is not None, timeout=5)
    dlg = ui.line_dialog
    dlg.length.setValue(500.0)  # a 0.5 m folding rule
    spin(app, 0.5)
    g = w.frameGeometry()
    save(screen.grabWindow(0, g.x(), g.y(), g.width(), g.height()), "calibration")
    dlg.accept()
    spin(app, 0.5)

    # 2. the measurements panel: calibrated, the longest crack selected
    figures = ui.panel.measurements()
    cracks = [m for m in figures if m.role.value == "crack"]
    longest = max(cracks, key=lambda m: m.length_px) if cracks else figures[0]
    ui.panel.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    w.photo.document.select([longest.segment_id])
    w.controller.set_tool("SelectTool")
    spin(app, 0.5)
    save(w.grab(), "panel")

    # 3. a tooltip: the mouse resting on that crack
    x, y = longest.anchor_xy
    pos = w.view.mapFromScene(QPointF(x, y))
    QCursor.setPos(vp.mapToGlobal(pos))
    QTest.mouseMove(vp, pos)
    spin(app, until=lambda: ui.tips.last_text != "", timeout=5)
    spin(app, 0.4)
    centre = vp.mapToGlobal(pos)
    canvas = QRect(vp.mapToGlobal(vp.rect().topLeft()), vp.size())
    area = QRect(centre.x() - 420, centre.y() - 260, 900, 520).intersected(canvas)
    save(screen.grabWindow(0, area.x(), area.y(), area.width(), area.height()), "tooltip")

    QToolTip.hideText()

    # 4. the report dialog
    w.actions.a["write_report"].trigger()
    spin(app, until=lambda: ui.report.dialog is not None, timeout=5)
    ui.report.dialog.title.setText("Bridge inspection, north abutment")
    spin(app, 0.4)
    save(ui.report.dialog.grab(), "report_dialog")
    ui.report.dialog.reject()

    w.autosaver.flush()
    spin(app, 1.0)
    w.close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")
    sys.exit(main())
