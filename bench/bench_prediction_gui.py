"""Benchmark: the confidence slider on a 12-megapixel photo (target: live, no stall > 200 ms).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m bench.bench_prediction_gui [--json out.json]

Runs twice in one go: first a *baseline* (this working tree with the window's slider and canvas
files taken from ``--baseline-rev``: the full re-render and fixed debounce before the overlay was
recoloured in place), then the working tree; prints both and their ratio, with the load average.
``--no-baseline`` measures the working tree only.

A 4000 x 3000 JPEG in a project with a small random DETR (``cpu_small`` layout with few layers,
20 queries, 512-px input; its scores spread over 0.3-1, so thresholds really change the result)
registered as the active model. The window predicts the photo through the Prediction panel, then
the slider is moved to ``STEPS`` positions, one after another, as a drag would.

Figures:

* ``predict_s``: Predict button to the re-thresholded result on the canvas (model load included).
* ``slider_to_canvas_ms``: slider moved -> the new result is on the canvas and the segment count
  shown (debounce included), median and 95th percentile; ``..._changed_ms``: the moves whose
  result differs from the one before (fewer segments or other pixels), ``..._same_ms``: the rest.
* ``max_stall_ms``: the longest the event loop stayed away during the whole slide (5 ms heartbeat).
* ``segments``: segment counts along the slide (must never increase).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STEPS = 25
#: Before the slider recoloured in place; BASELINE_PATHS of it are laid over the working tree.
BASELINE_REV = "2183a41c7ee1c5372bbac674f110b87865a86ff0"
BASELINE_PATHS = ("gui/canvas/annotation_item.py", "gui/canvas/photo_view.py",
                  "gui/prediction/live_threshold.py", "gui/session/photo_session.py")


def baseline(rev: str) -> dict:
    """This benchmark run in a copy of the working tree with ``BASELINE_PATHS`` as at ``rev``."""
    import os
    import shutil
    import subprocess

    tmp = Path(tempfile.mkdtemp(prefix="bench_pred_base_"))
    copy = tmp / "tree"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.pinspect"))
    for rel in BASELINE_PATHS:
        text = subprocess.run(["git", "show", f"{rev}:{rel}"], cwd=ROOT, check=True, capture_output=True).stdout
        (copy / rel).write_bytes(text)
    out = tmp / "base.json"
    subprocess.run([sys.executable, "-m", "bench.bench_prediction_gui", "--no-baseline", "--json", str(out)],
                   cwd=copy, check=True, env=dict(os.environ, PYTHONPATH=str(copy)))
    result = json.loads(out.read_text())
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--baseline-rev", default=BASELINE_REV)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    base = None if args.no_baseline else baseline(args.baseline_rev)
    import os

    import torch

    torch.set_num_threads(2)
    from PySide6.QtCore import QSettings
    from PySide6.QtTest import QTest

    from core.imageio import encode_jpeg
    from core.model import save_checkpoint
    from core.project import Project
    from core.synthetic.generator import generate_sample
    from gui.shell.app import create_app
    from tests.support.models import TINY, tiny_model
    from tests.support.gui import LoopWatch

    app = create_app(["bench"])  # noqa: F841 - keeps the application alive
    tmp = Path(tempfile.mkdtemp(prefix="bench_pred_gui_"))
    rgb, _ = generate_sample(3, (1000, 750))
    import cv2

    big = cv2.resize(rgb, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    (tmp / "photo_12mp.jpg").write_bytes(encode_jpeg(big, quality=90))
    config = TINY.replace(num_queries=20)
    model, cats = tiny_model(1, config)
    ckpt = tmp / "model.pt"
    save_checkpoint(ckpt, model, config, cats, {"training": {"train_config": {"eval_size": 512}}})
    path = tmp / "bench.pinspect"
    with Project.create(path) as project:
        project.images.add_files([tmp / "photo_12mp.jpg"])
        project.models.add("bench model", checkpoint=ckpt, config=config.to_dict(), categories=cats)

    from gui.shell.main_window import MainWindow
    from gui.shell.settings import Preferences

    w = MainWindow(Preferences(QSettings(str(tmp / "prefs.ini"), QSettings.Format.IniFormat)), show_error_dialogs=False)
    w.resize(1600, 1000)
    w.show()

    def wait(cond, timeout=120.0):
        t0 = time.perf_counter()
        while not cond():
            QTest.qWait(5)
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError

    ui = w.prediction
    w.project_actions.open_path(path)
    wait(lambda: w.photo.document is not None and w.photo.view.photo_item.full_resolution)
    wait(lambda: not w.runner.busy)
    got: list[tuple[float, int]] = []
    ui.live.rethresholded.connect(lambda t, n: got.append((t, n)))
    ui.slider.set_threshold(0.3)
    t0 = time.perf_counter()
    ui.panel.predict_button.click()
    wait(lambda: got)
    predict_s = time.perf_counter() - t0
    wait(lambda: not w.runner.busy)
    QTest.qWait(200)
    latencies, counts, changed = [], [], []
    with LoopWatch() as watch:
        for units in np.linspace(31, 99, STEPS).round().astype(int):
            n = len(got)
            before = w.view.prediction_item.annotation if w.view.prediction_item is not None else None
            t0 = time.perf_counter()
            ui.slider.slider.setValue(int(units))
            wait(lambda n=n, units=units: len(got) > n and abs(got[-1][0] - units / 100) < 1e-9)
            QTest.qWait(0)
            latencies.append(1000 * (time.perf_counter() - t0))
            counts.append(got[-1][1])
            after = w.view.prediction_item.annotation if w.view.prediction_item is not None else None
            changed.append(not (after is before or (after is not None and before is not None
                                                    and after.segments == before.segments
                                                    and np.array_equal(after.id_map, before.id_map))))
            QTest.qWait(60)  # a drag's pace: the next value comes a moment later
        wait(lambda: not w.runner.busy)
    def summary(values):
        values = sorted(values)
        if not values:
            return None
        return {"median": round(statistics.median(values), 1), "p95": round(values[int(0.95 * (len(values) - 1))], 1),
                "n": len(values)}

    result = {"photo": "4000 x 3000 JPEG", "predict_s": round(predict_s, 2),
              "slider_to_canvas_ms": summary(latencies),
              "slider_to_canvas_changed_ms": summary([t for t, c in zip(latencies, changed) if c]),
              "slider_to_canvas_same_ms": summary([t for t, c in zip(latencies, changed) if not c]),
              "max_stall_ms": watch.max_gap_ms, "segments": counts,
              "load_average": [round(x, 1) for x in os.getloadavg()]}
    if base is not None:
        result = {"baseline": base, "now": result}
        for key in ("slider_to_canvas_ms", "slider_to_canvas_changed_ms", "slider_to_canvas_same_ms"):
            b, n = base.get(key), result["now"].get(key)
            if b and n and n["median"] > 0:
                result[f"{key}_median_ratio"] = round(b["median"] / n["median"], 1)
    print(json.dumps(result, indent=1))
    assert all(a >= b for a, b in zip(counts, counts[1:])), counts
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    w.close()
    QTest.qWait(100)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
