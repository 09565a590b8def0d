"""Screenshots of the main window's states for the README (docs/images/gui_*.png).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_gui.py [--out docs/images]

Builds the sample project in a temporary folder (``core.synthetic.sample.build_sample_project``),
adds two real-size (6000 x 4000) photos and a stored model prediction, then drives the window
through its states and grabs each with ``QWidget.grab()``. Nothing outside the temporary folder
is touched (preferences go to a temporary INI file).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

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


def fake_prediction(ann, seed: int):
    """A plausible model output from the truth: boundaries moved by a few pixels, scores, one
    segment missed, so the prediction layer has something to show."""
    import cv2

    from core.panoptic import PanopticAnnotation, Segment

    rng = np.random.default_rng(seed)
    ids = ann.id_map.copy()
    segs = {}
    for k, s in enumerate(sorted(ann.segments.values(), key=lambda s: s.id)):
        if k == 2:  # a miss
            ids[ids == s.id] = 0
            continue
        segs[s.id] = Segment(s.id, s.category_id, False, "model", float(np.round(rng.uniform(0.55, 0.98), 2)))
    kernel = np.ones((5, 5), np.uint8)
    things = [i for i, s in segs.items() if s.category_id in (1, 2, 3)]
    for i in things:
        m = (ids == i).astype(np.uint8)
        grown = cv2.dilate(m, kernel) if rng.random() < 0.5 else cv2.erode(m, kernel)
        ids[(m == 1) & (grown == 0)] = 0
        ids[(grown == 1) & (ids == 0)] = i
    present = set(np.unique(ids)) - {0}
    return PanopticAnnotation(ids, {i: s for i, s in segs.items() if i in present})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--size", default="1600x1000")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QPointF, QSettings, Qt
    from PySide6.QtTest import QTest

    from bench.bench_gui import make_big_photo
    from core.project import Project
    from core.synthetic.sample import build_sample_project
    from gui.app import create_app
    from gui.main_window import MainWindow
    from gui.settings import Preferences
    from gui.theme import DARK, LIGHT, apply_theme

    app = create_app([])
    apply_theme(app, LIGHT)
    tmp = Path(tempfile.mkdtemp(prefix="pi-shots-"))
    path = build_sample_project(tmp / "Sample bridge inspection.pinspect")
    (tmp / "site photos").mkdir()
    big = [make_big_photo(tmp / "site photos", s) for s in (7,)]
    with Project.open(path) as project:
        project.images.add_files([p for p, _ in big])
        recs = {r.name: r for r in project.images.list()}
        project.annotations.save(recs[big[0][0].name].id, big[0][1])
        model = project.models.add("DETR R50 fine-tuned", checkpoint=None, config={}, categories=project.categories.get())
        target = recs["wall_02.jpg"]
        truth = project.annotations.load(target.id)
        project.predictions.save(target.id, model, b"", {"threshold": 0.5}, fake_prediction(truth, 3))
        project.images.set_status([recs["wall_06.jpg"].id], "in_progress")

    prefs = Preferences(QSettings(str(tmp / "prefs.ini"), QSettings.Format.IniFormat))
    w = MainWindow(prefs, show_error_dialogs=False)
    w.resize(width, height)
    w.show()
    w.project_actions.open_path(path)
    spin(app, until=lambda: w.photo.document is not None and w.view.photo_item.full_resolution)
    spin(app, until=lambda: len(w.thumbnails.cache) >= len(w.session.images), timeout=30)

    def shot(name: str, widget=None) -> None:
        spin(app, 0.3)
        (widget or w).grab().save(str(args.out / f"gui_{name}.png"))
        print("wrote", args.out / f"gui_{name}.png", flush=True)

    def open_photo(name: str) -> None:
        rec = next(r for r in w.session.images if r.name == name)
        w.browser.select_image(rec.id)
        spin(app, until=lambda: w.photo.document is not None and w.photo.record.id == rec.id
             and w.view.photo_item.full_resolution)

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

    # 3. prediction over the annotation, with scores in the segment panel
    open_photo("wall_02.jpg")
    w.controller.set_tool("SelectTool")
    w.segments_panel.pred_root.child(0).setSelected(True)
    shot("prediction")

    # 4. a 24-megapixel photo at 100 %, labels on
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

    # 5. deleting a used category asks what happens to its pixels
    cats = w.session.categories
    dlg = w.categories_panel.make_delete_dialog(cats.by_id(2), cats, w.session.category_usage(2))
    dlg.move.setChecked(True)
    dlg.show()
    shot("delete_category", dlg)
    dlg.close()

    # 6. dark palette
    open_photo("column_03.jpg")
    apply_theme(app, DARK)
    spin(app, 0.5)
    shot("dark")

    w.autosaver.set_document(None)
    w.close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")
    sys.exit(main())
