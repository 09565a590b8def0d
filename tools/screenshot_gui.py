"""Screenshots of the main window's states for the README (docs/images/gui_*.png).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_gui.py [--out docs/images]

Builds the sample project in a temporary folder (``core.demo.sample_project.build_sample_project``),
adds a real-size (6000 x 4000) photo, then drives the window through its states and grabs each
with ``QWidget.grab()``. Nothing outside the temporary folder is touched (``tools.shots``: a fresh
user's settings). The prediction screenshot, with the shipped demo model, is
``tools/screenshot_prediction.py``'s.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import shots


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shots.add_arguments(ap)
    args = ap.parse_args(argv)

    from PySide6.QtCore import QPointF
    from PySide6.QtTest import QTest

    from bench.bench_gui import make_big_photo
    from core.project import Project
    from gui.shell.theme import DARK, apply_theme

    tmp = shots.fresh_user("pi-shots-")
    app = shots.make_app()
    path = shots.sample_project(tmp)
    (tmp / "site photos").mkdir()
    big = [make_big_photo(tmp / "site photos", s) for s in (7,)]
    with Project.open(path) as project:
        project.images.add_files([p for p, _ in big])
        recs = {r.name: r for r in project.images.list()}
        project.annotations.save(recs[big[0][0].name].id, big[0][1])
        project.images.set_status([recs["wall_06.jpg"].id], "in_progress")

    w = shots.open_window(app, path, shots.window_size(args.size))
    shots.spin(app, until=lambda: len(w.thumbnails.cache) >= len(w.session.images), timeout=30)

    def shot(name: str, widget=None) -> None:
        # the Measurements panel in view shows "measuring..." over an empty table until its worker
        # is done with the photo: wait for the figures, as a user would see them a moment later
        measurer = w.measurement.measurer
        shots.spin(app, until=lambda: measurer.figures is not None and not measurer.busy, timeout=60)
        shots.spin(app, 0.3)
        shots.save(widget or w, args.out / f"gui_{name}.png")

    def open_photo(name: str) -> None:
        shots.open_photo(app, w, name)

    # 1. overview: an annotated photo at fit
    open_photo("wall_01.jpg")
    w.categories_panel.select_by_key(1)
    shot("overview")

    # 2. painting: zoomed in on a crack, brush outline under the cursor, a segment selected
    open_photo("wall_05.jpg")
    doc = w.photo.document
    crack = max((s for s in doc.editor.segments.values() if s.category_id == 1), key=lambda s: doc.editor.areas[s.id])
    y0, x0, y1, x1 = doc.editor.segment_box(crack.id)
    w.view.set_zoom(2.0)
    w.view.centerOn((x0 + x1) / 2, (y0 + y1) / 2)
    doc.select([crack.id])
    w.controller.set_tool("BrushTool")
    w.tool_settings.set_brush_size(18)
    w.view.setFocus()
    ys, xs = np.nonzero(doc.annotation.id_map == crack.id)
    k = len(xs) // 2
    QTest.mouseMove(w.view.viewport(), w.view.mapFromScene(QPointF(xs[k] + 30, ys[k] + 10)))
    shot("painting")

    # 3. a 24-megapixel photo at 100 %, labels on
    open_photo(big[0][0].name)
    w.actions.a["labels"].trigger()
    w.view.actual_size()
    doc = w.photo.document
    spall = next((s for s in doc.editor.segments.values() if s.category_id == 2), None)
    if spall is not None:
        y0, x0, y1, x1 = doc.editor.segment_box(spall.id)
        w.view.centerOn((x0 + x1) / 2, (y0 + y1) / 2)
    shot("large_photo")
    w.actions.a["labels"].trigger()

    # 4. deleting a used category asks what happens to its pixels
    cats = w.session.categories
    dlg = w.categories_panel.make_delete_dialog(cats.by_id(2), cats, w.session.category_usage(2))
    dlg.give.setChecked(True)  # "Give them to" another category
    dlg.show()
    shot("delete_category", dlg)
    dlg.close()

    # 5. dark palette (the select tool: the brush's outline would stay where the mouse last was)
    w.controller.set_tool("SelectTool")
    open_photo("column_03.jpg")
    apply_theme(app, DARK)
    shots.spin(app, 0.5)
    shot("dark")

    shots.close_window(app, w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
