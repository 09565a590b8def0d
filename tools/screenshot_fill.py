"""The README's Fill screenshot (docs/images/gui_fill.png): concrete filled around painted defects.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_fill.py [--out docs/images]

A generated photo (``core.synthetic``: a spall with bars, cracks) whose defects are painted from
its truth and whose concrete is not; the Fill tool with ``concrete`` clicks the concrete at its
default tolerance. The grab shows the filled concrete (green) leaving the painted cracks and the
spall as they were, and a solid region on the textured surface. Prints what share of the photo
was filled and that every painted defect pixel is kept.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import shots

#: Where the Fill is clicked, in photo pixels (the concrete in the lower right of the photo).
CLICK = (700.5, 700.5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shots.add_arguments(ap)
    args = ap.parse_args(argv)
    tmp = shots.fresh_user("pi-fill-")
    app = shots.make_app()

    import numpy as np
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest

    from core.imageio import encode_png
    from core.panoptic import PanopticAnnotation
    from core.project import Project
    from core.synthetic.generator import SynthConfig, categories_of, generate_sample

    cfg = SynthConfig(crack_count=(2, 2), spall_count=(1, 1), background_probability=0, distractor_probability=0)
    rgb, truth = generate_sample(2001, 768, cfg)
    cats = categories_of(cfg)
    defects = {sid: s for sid, s in truth.segments.items() if cats.is_thing(s.category_id)}
    painted = np.where(np.isin(truth.id_map, list(defects)), truth.id_map, 0).astype(np.int32)
    (tmp / "photos").mkdir()
    (tmp / "photos" / "wall.png").write_bytes(encode_png(rgb))
    path = tmp / "fill.pinspect"
    with Project.create(path) as p:
        p.images.add_files([tmp / "photos" / "wall.png"])
        p.annotations.save(p.images.list()[0].id, PanopticAnnotation(painted, defects))

    w = shots.open_window(app, path, shots.window_size(args.size))
    doc = w.photo.document
    w.tool_settings.set_category_id(cats.by_name("concrete").id)
    w.controller.set_tool("FloodFillTool")
    shots.spin(app, 0.3)
    pos = w.view.mapFromScene(QPointF(*CLICK))
    QTest.mouseClick(w.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    end = time.perf_counter() + 30
    shots.spin(app, until=lambda: doc.undo_stack.count() == 1 and not doc.busy, timeout=30)
    shots.spin(app, 0.3)
    shots.save(w, args.out / "gui_fill.png", scale=0.75)
    id_map = doc.annotation.id_map
    kept = (id_map[painted != 0] == painted[painted != 0]).mean()
    print(f"filled {(id_map != 0).mean():.0%} of the photo; painted defect pixels kept: {kept:.0%}"
          f"{'' if time.perf_counter() < end else ' (timed out)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
