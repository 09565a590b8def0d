"""The README's prediction, evaluation and export screenshots (docs/images/), with the shipped demo model.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_prediction.py \\
        [--out docs/images] [--annotated wall_02.jpg] [--photo parapet_11.jpg] [--low 0.3] [--high 0.9] \\
        [--eval] [--export] [--sweep]

Builds the sample project in a temporary folder as a first start does: the demo model
(``resources/models/demo_cpu_fast.pt``) registered and active, every photo predicted
(``core.demo.add_demo_model``, through ``build_sample_project(with_demo_model=True)``). Grabs an
annotated photo with the prediction outlined over the annotation (gui_prediction.png), then an
unlabelled photo with the annotation layer hidden (so the prediction is filled), grabs the window
with the confidence slider at ``--low`` and at ``--high``; ``--eval``: puts the last three annotated
photos in the validation split and grabs the evaluation dialog (its PQ table, its photos by
PQ and its thin-structure table: the demo model against the sample's truth); ``--export``: grabs
the export dialog; ``--sweep``: prints what the slider's label says on the unlabelled photo at
0.30, 0.35 ... 0.95 (the segment counts a caption quotes).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import shots

if TYPE_CHECKING:
    from core.evaluation.project_eval import ProjectEvaluation


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shots.add_arguments(ap)
    ap.add_argument("--photo", default="parapet_11.jpg", help="the unlabelled photo shown")
    ap.add_argument("--annotated", default="wall_02.jpg", help="the annotated photo of gui_prediction.png")
    ap.add_argument("--low", type=float, default=0.3)
    ap.add_argument("--high", type=float, default=0.9)
    ap.add_argument("--scale", type=float, default=0.8, help="of the window grabs")
    ap.add_argument("--eval", action="store_true", help="also the evaluation dialog")
    ap.add_argument("--export", action="store_true", help="also the export dialog")
    ap.add_argument("--sweep", action="store_true", help="also print the slider's counts from 0.30 to 0.95")
    args = ap.parse_args(argv)

    from PySide6.QtCore import Qt

    tmp = shots.fresh_user("pi-prediction-shots-")
    app = shots.make_app()
    path = shots.sample_project(tmp, with_demo_model=True)
    if args.eval:
        from core.project import Project

        with Project.open(path) as project:
            done = [r.id for r in project.images.list() if r.status == "done"]
            project.images.set_split(done[-3:], "val")

    w = shots.open_window(app, path, shots.window_size(args.size))
    ui = w.prediction
    ui.dock.raise_()
    w.resizeDocks([ui.dock], [80], Qt.Orientation.Vertical)  # the panel is two rows: room for the photo

    def quiet() -> bool:
        return not ui.controller.busy and not ui.live.busy and not w.runner.busy

    seen: list[tuple[float, int]] = []
    ui.live.rethresholded.connect(lambda t, n: seen.append((t, n)))

    # An annotated photo: the prediction as outlines over the annotation, a predicted segment selected
    shots.open_photo(app, w, args.annotated, until=lambda: bool(seen) and quiet())
    w.controller.set_tool("SelectTool")
    from gui.views.segment_panel import COL_SEGMENT

    root = w.segments_panel.pred_root
    rows = [root.child(i) for i in range(root.childCount())]
    next((r for r in rows if r.text(COL_SEGMENT).startswith("crack")), rows[0]).setSelected(True)
    shots.spin(app, 0.3)
    shots.save(w, args.out / "gui_prediction.png")

    # An unlabelled photo at two thresholds
    seen.clear()
    shots.open_photo(app, w, args.photo, until=lambda: bool(seen) and quiet())
    w.actions.a["show_annotation"].trigger()  # the prediction filled, not outlined over the truth

    def slide_to(threshold: float) -> None:
        """Move the slider as a user does and wait until the canvas shows that threshold."""
        ui.slider.set_threshold(threshold, emit=True)

        def rethresholded():
            return abs(seen[-1][0] - max(threshold, ui.live.prediction.min_threshold)) < 1e-6 and quiet()

        if not shots.spin(app, until=rethresholded, timeout=60):
            raise TimeoutError(f"no re-threshold at {threshold}")

    if args.sweep:  # the label's own words, so a caption quotes what the user reads
        for step in range(30, 100, 5):
            slide_to(step / 100)
            shots.spin(app, 0.1)
            print(f"sweep {step / 100:.2f}: {ui.slider.count_label.text()}", flush=True)

    for threshold in (args.low, args.high):
        slide_to(threshold)
        shots.spin(app, 0.3)
        print(f"confidence {threshold:.2f}: {seen[-1][1]} segments", flush=True)
        shots.save(w, args.out / f"gui_prediction_slider_{round(threshold * 100):03d}.png", args.scale)

    if args.eval:
        dlg = ui.open_evaluation()
        dlg.resize(760, 450)
        got: list[ProjectEvaluation] = []
        dlg.evaluated.connect(got.append)
        dlg.threshold.setValue(0.5)
        dlg.run_button.click()
        if not shots.spin(app, until=lambda: bool(got) and quiet(), timeout=300):
            raise TimeoutError("the evaluation did not finish")
        shots.spin(app, 0.3)
        shots.save(dlg, args.out / "gui_evaluation.png")
        dlg.tabs.setCurrentIndex(2)
        shots.spin(app, 0.3)
        shots.save(dlg, args.out / "gui_evaluation_photos.png")
        dlg.tabs.setCurrentWidget(dlg.thin_view)
        shots.spin(app, 0.3)
        shots.save(dlg, args.out / "gui_evaluation_thin.png")
        print("PQ all", got[0].pq.all, flush=True)
        dlg.close()
    if args.export:
        from gui.dialogs.export_dialog import ExportDialog

        w.project_actions.export()
        shots.spin(app, 0.3)
        shots.save(w.findChildren(ExportDialog)[-1], args.out / "gui_export.png")
    shots.close_window(app, w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
