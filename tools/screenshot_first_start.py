"""The window a new user sees on the first start (docs/images/gui_first_start.png).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_first_start.py [--out docs/images]

Starts the application the way ``main.py`` does (``gui.shell.app``: create_app, MainWindow,
``open_start_project``) for a user with no settings and no data (the XDG folders point into a
temporary folder), so it builds the sample project in that user's data folder with the shipped
demo model active and every photo predicted, opens it, and shows the first photo with the demo
model's prediction. Grabs the window once that prediction is on the canvas.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import shots


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shots.add_arguments(ap)
    ap.add_argument("--scale", type=float, default=0.8, help="of the window grab")
    args = ap.parse_args(argv)

    tmp = shots.fresh_user("pi-first-start-")
    app = shots.make_app(theme=None)  # the new user's setting: the system's palette
    from gui.shell.app import open_start_project, setup_logging
    from gui.shell.main_window import MainWindow

    setup_logging()
    w = MainWindow()  # preferences from the (empty) user settings, as main.py makes it
    w.resize(*shots.window_size(args.size))
    w.move(0, 0)
    w.show()
    t0 = time.perf_counter()
    open_start_project(w, [])
    seen: list[tuple[float, int]] = []
    w.prediction.live.rethresholded.connect(lambda t, n: seen.append((t, n)))
    if not shots.spin(app, until=lambda: bool(seen) and w.photo.document is not None
                      and w.view.photo_item is not None and w.view.photo_item.full_resolution
                      and not w.runner.busy, timeout=300):
        raise TimeoutError("the sample project did not open with a prediction")
    record, project = w.photo.record, w.session.project
    assert record is not None and project is not None  # a photo of the open project is shown
    print(f"sample project open with its prediction after {time.perf_counter() - t0:.1f} s: "
          f"{record.name}, {seen[-1][1]} segments at {seen[-1][0]:.2f}", flush=True)
    print("project:", project.path, "(under", tmp, ")", flush=True)
    shots.spin(app, 0.5)
    shots.save(w, args.out / "gui_first_start.png", args.scale)
    shots.close_window(app, w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
