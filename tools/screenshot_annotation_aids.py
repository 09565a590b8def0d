"""Screenshots of the crack tracer and the region tool for the docs (docs/images/gui_trace_*.png,
gui_region_preview.png).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_annotation_aids.py [--out docs/images]

Builds the sample project in a temporary folder, opens a photo with a crack and a spall, hides
the annotation layer (so the photo shows), zooms on the photo's longest crack, clicks its start
and two points along it with the crack tracer and rests the mouse at its end (the live preview),
then finishes it (the traced crack stays selected: its waypoints show as handles), drags its
middle waypoint aside (the re-traced preview, then Esc); then clicks inside the largest spall
with the region tool (the preview before it is committed). The clicks come from the photo's own
annotation (its crack's centreline), as a user would place them. Nothing outside the temporary
folder is touched (``tools.shots``).
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
    ap.add_argument("--photo", default=None, help="the photo (default: the first with a crack and a spall)")
    args = ap.parse_args(argv)

    import numpy as np
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtTest import QTest

    from bench.annotation_truth import clicks_along, crack_paths

    tmp = shots.fresh_user("pi-aids-shots-")
    app = shots.make_app()
    path = shots.sample_project(tmp)
    w = shots.open_window(app, path, shots.window_size(args.size))
    project = w.session.project
    cats = project.categories.get()
    crack_id = cats.by_name("crack").id
    spall_id = cats.by_name("spalling").id

    def has_both(rec) -> bool:
        a = project.annotations.load(rec.id)
        found = {seg.category_id for seg in a.segments.values()} if a is not None else set()
        return crack_id in found and spall_id in found

    name = args.photo or next(r.name for r in w.session.images if has_both(r))
    shots.open_photo(app, w, name)
    doc = w.photo.document
    ann = doc.annotation

    def segment_mask(category_id: int) -> np.ndarray | None:
        ids = [s for s, seg in ann.segments.items() if seg.category_id == category_id]
        if not ids:
            return None
        biggest = max(ids, key=lambda s: int((ann.id_map == s).sum()))
        return ann.id_map == biggest

    crack, spall = segment_mask(crack_id), segment_mask(spall_id)
    if crack is None or spall is None:
        raise SystemExit(f"{name} needs a crack and a spall in its annotation")
    layer = w.actions.a["show_annotation"]

    def show_annotation(on: bool) -> None:
        if layer.isChecked() != on:
            layer.trigger()

    show_annotation(False)  # the photo itself, to see the preview on the crack
    vp = w.view.viewport()

    def mouse(kind: str, x: float, y: float) -> None:
        p = w.view.mapFromScene(QPointF(x, y))
        if kind == "click":
            QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)
        else:
            QTest.mouseMove(vp, p)
        shots.spin(app, 0.05)

    # 1. The crack tracer: start and two points along it clicked, the mouse at the end: the live preview.
    path_yx = max(crack_paths(crack), key=len)  # its longest piece
    clicks = clicks_along(path_yx, 2)
    ys, xs = path_yx[:, 0], path_yx[:, 1]
    v = w.view.viewport()
    w.view.set_zoom(min(v.width() / (np.ptp(xs) + 120), v.height() / (np.ptp(ys) + 120)))
    w.view.centerOn(float(xs.mean()), float(ys.mean()))
    w.tool_settings.set_category_id(crack_id)
    w.actions.a["tool:CrackTracerTool"].trigger()
    tool = w.controller.tool
    for x, y in clicks[:-1]:
        mouse("click", x, y)
        shots.spin(app, until=lambda: not tool.busy and tool.tracer.ready, timeout=30)
    mouse("move", *clicks[-1])
    shots.spin(app, 0.3)
    shots.save(w.grab(), args.out / "gui_trace_preview.png")
    mouse("click", *clicks[-1])
    QTest.keyClick(w.view, Qt.Key.Key_Return)
    shots.spin(app, until=lambda: tool.tracer is None and not doc.busy, timeout=30)
    show_annotation(True)
    shots.spin(app, 0.3)
    shots.save(w.grab(), args.out / "gui_trace_done.png")  # selected: its waypoints as handles

    # 1b. Editing the trace: the middle waypoint dragged 60 screen px aside, the re-traced legs
    # previewed before the release (annotation layer hidden: the photo under the preview).
    mid = clicks[1]
    start = w.view.mapFromScene(QPointF(*mid))
    show_annotation(False)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, 7):
        QTest.mouseMove(vp, start + QPoint(10 * k, 0))
        shots.spin(app, 0.05)
    shots.spin(app, until=lambda: tool.handles.drag_preview is not None, timeout=30)
    shots.spin(app, 0.3)
    shots.save(w.grab(), args.out / "gui_trace_edit.png")
    QTest.keyClick(w.view, Qt.Key.Key_Escape)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(60, 0))
    shots.spin(app, 0.2)

    # 2. The region tool: one click at the deepest point of the spall, the preview before Enter.
    import cv2

    dt = cv2.distanceTransform(np.pad(spall, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    sy, sx = np.unravel_index(int(np.argmax(dt)), dt.shape)
    ys, xs = np.nonzero(spall)
    show_annotation(False)
    w.view.set_zoom(min(v.width() / (np.ptp(xs) + 200), v.height() / (np.ptp(ys) + 200)))
    w.view.centerOn(float(xs.mean()), float(ys.mean()))
    w.tool_settings.set_category_id(spall_id)
    w.actions.a["tool:RegionTool"].trigger()
    region = w.controller.tool
    mouse("click", sx + 0.5, sy + 0.5)
    shots.spin(app, until=lambda: region.preview is not None and not region.busy, timeout=60)
    shots.spin(app, 0.3)
    shots.save(w.grab(), args.out / "gui_region_preview.png")
    shots.close_window(app, w)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
