"""Benchmark: a cold start of the window to a 24-megapixel photo on screen, time and peak memory.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m bench.bench_startup [--runs 3] [--json out.json]

A project with one 6000 x 4000 JPEG and its annotation (``bench.bench_gui.make_big_photo``). Each
run is a fresh process started the way ``main.py gui PROJECT`` starts (own settings folder, so no
recent project or window state interferes) that stops as soon as the photo is painted:

* ``painted_s``: process start to the first frame with the photo (its preview) painted,
  ``full_s``: to the full-resolution photo on the canvas, ``annotation_s``: to its annotation
  loaded and editable;
* ``*_peak_mib``: the process's peak resident memory (``VmHWM``) until that moment: what the
  start-up needed, imports included.

Baseline in the same run: the same start from a copy of this working tree whose photo loading
(``BASELINE_PATHS``) is as at ``--baseline-rev`` (before plain JPEGs were decoded by OpenCV
straight to BGR and photos were cached); medians of ``--runs`` alternating runs, with the load
average.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ``ru_maxrss`` it is not inherited from
    the parent through fork and exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def child(project: Path, started: float) -> int:
    """Start the window on ``project``; print the figures once the photo is painted, then quit."""
    from gui.shell.app import create_app, open_start_project

    app = create_app([str(project)])
    from gui.shell.main_window import MainWindow

    window = MainWindow()
    marks: dict = {}

    def mark(name):
        if name in marks:
            return
        marks[name] = (time.time() - started, peak_rss_mib())
        if {"painted", "full", "annotation"} <= set(marks):
            print(json.dumps({f"{k}_{what}": v[i] for k, v in marks.items()
                              for i, what in enumerate(("s", "peak_mib"))}), flush=True)
            os._exit(0)  # the figures are taken: no need to wait for the rest (thumbnails, saves)

    window.photo.firstPaint.connect(lambda *_: mark("painted"))
    window.photo.fullResolution.connect(lambda *_: mark("full"))
    window.photo.documentReady.connect(lambda *_: mark("annotation"))
    window.resize(1600, 1000)
    window.show()
    open_start_project(window, [str(project)])
    return app.exec()


BASELINE_REV = "2183a41c7ee1c5372bbac674f110b87865a86ff0"
BASELINE_PATHS = ("gui/workers/photo_loader.py", "gui/session/photo_session.py")


def baseline_tree(rev: str, where: Path) -> Path:
    """A copy of this working tree with ``BASELINE_PATHS`` as at ``rev``."""
    import shutil

    copy = where / "baseline_tree"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.pinspect"))
    for rel in BASELINE_PATHS:
        text = subprocess.run(["git", "show", f"{rev}:{rel}"], cwd=ROOT, check=True, capture_output=True).stdout
        (copy / rel).write_bytes(text)
    return copy


def run_once(project: Path, tree: Path) -> dict:
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home, XDG_DATA_HOME=home, XDG_CACHE_HOME=home,
                   PYTHONPATH=str(tree))
        cmd = [sys.executable, "-m", "bench.bench_startup", "--child", str(project), "--started", repr(time.time())]
        out = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=300)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"the start-up child printed nothing:\n{out.stdout}\n{out.stderr}")
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--started", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--baseline-rev", default=BASELINE_REV)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child, args.started)
    from bench.bench_gui import make_big_photo
    from core.project import Project

    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "photos").mkdir()
        photo, ann = make_big_photo(tmp / "photos", 1)
        project = tmp / "start.pinspect"
        with Project.create(project) as p:
            p.images.add_files([photo])
            p.annotations.save(p.images.list()[0].id, ann)
        del ann
        base = baseline_tree(args.baseline_rev, tmp)
        runs: dict[str, list[dict]] = {"baseline": [], "now": []}
        for _ in range(args.runs):
            runs["baseline"].append(run_once(project, base))
            runs["now"].append(run_once(project, ROOT))
        for name, rs in runs.items():
            results[name] = {k: round(statistics.median(r[k] for r in rs), 3) for k in rs[0]}
        for k in results["now"]:
            results[f"{k}_ratio"] = round(results["baseline"][k] / results["now"][k], 2)
        results["load_average"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
