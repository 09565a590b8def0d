"""Benchmark: what checking every photo's whole file costs when photos are added to a project.

    python -m bench.bench_import_verify [--photos 16] [--width 4000] [--height 3000] [--repeat 3]

Adds ``--photos`` generated 12 MP JPEGs (textured: 3-5 MB each, like a phone's) to a fresh
project with ``project.images.add_folder``, once with the whole-file check
(``core.imageio.verify_image``: a 1/8-scale JPEG decode that reads every byte) and once with the
header only (what adding cost before the check; the baseline), in the same run, alternating.
Prints, per photo, the median wall time and the process CPU time, their ratio, and both
extrapolated to 1,000 photos (the budget: under 30 s here). The machine is shared, so the CPU
time per photo, divided by the cores the pool can use, is the steadier figure.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.project import Project  # noqa: E402 - after sys.path: run as a script

BUDGET_S = 30.0


def make_photos(folder: Path, n: int, width: int, height: int) -> list[Path]:
    """Distinct textured JPEGs (quality 90): shading, blotches and grain, so they compress like photos."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    small = rng.integers(60, 200, (height // 16, width // 16, 3), dtype=np.uint8)
    base = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    out = []
    for i in range(n):
        grain = rng.integers(-18, 18, (height, width, 1), dtype=np.int16)
        img = np.clip(base + grain + (i % 40), 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        path = folder / f"IMG_{i:05d}.jpg"
        path.write_bytes(buf.tobytes())
        out.append(path)
    return out


def add_once(folder: Path, verify: bool) -> tuple[float, float]:
    """``(wall s, process CPU s)`` of adding every photo of ``folder`` to a fresh project."""
    with tempfile.TemporaryDirectory() as tmp:
        with Project.create(Path(tmp) / "p.pinspect") as project:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            report = project.images.add_folder(folder, verify=verify)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if report.failed:
        raise SystemExit(f"unexpected failures: {report.failed[:3]}")
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=16)
    ap.add_argument("--width", type=int, default=4000)
    ap.add_argument("--height", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photos = make_photos(Path(tmp) / "photos", args.photos, args.width, args.height)
        mb = sum(p.stat().st_size for p in photos) / len(photos) / 1e6
        print(f"{args.photos} photos of {args.width}x{args.height} ({mb:.1f} MB each), {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f}")
        runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        add_once(Path(tmp) / "photos", False)  # warm-up: imports, page cache
        for _ in range(args.repeat):
            for verify in (False, True):
                runs[verify].append(add_once(Path(tmp) / "photos", verify))
    n = args.photos
    figures = {}
    for verify, label in ((False, "header only (baseline)"), (True, "whole file checked")):
        wall = statistics.median(w for w, _c in runs[verify]) / n
        cpu = statistics.median(c for _w, c in runs[verify]) / n
        figures[verify] = (wall, cpu)
        print(f"{label:24s} wall {1000 * wall:6.1f} ms/photo, CPU {1000 * cpu:6.1f} ms/photo; "
              f"1,000 photos: wall {1000 * wall:5.1f} s, CPU {1000 * cpu:5.1f} s")
    (w0, c0), (w1, c1) = figures[False], figures[True]
    cores = min(4, os.cpu_count() or 1)
    print(f"ratio checked / baseline: wall {w1 / w0:.2f}x, CPU {c1 / c0:.2f}x")
    print(f"1,000 photos checked: {1000 * w1:.1f} s wall here (budget {BUDGET_S:.0f} s); "
          f"{1000 * c1 / cores:.1f} s on {cores} idle cores from the CPU time")


if __name__ == "__main__":
    main()
