"""Benchmark: the project store's add-photos and save-annotation paths.

    python -m bench.bench_project [--photos 1000] [--width 640] [--height 480] [--repeat 3]
                                  [--big 6000x4000] [--saves 5] [--json out.json]

* Adding ``--photos`` generated JPEGs (``--width`` x ``--height``, textured so each is a realistic
  30-60 kB) with ``project.images.add_folder``: hashing + header reading on the thread pool and
  one transaction per batch. Each repeat adds into a fresh project; the files were just written,
  so they are in the page cache (a cold disk adds its read time).
* Saving one ``--big`` annotation (24 MP: concrete stuff, void margins, 40 cracks, 15 spalling
  patches, 3 rebar bars; segment ids above 255) with ``project.annotations.save``, split into
  checking + PNG encoding (before the transaction) and the transaction itself; then loading it.
* Opening the resulting project (header checks + ``PRAGMA quick_check``).

Every figure is the median of its runs.
"""
from __future__ import annotations

import argparse
import json
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

from core.panoptic import PanopticAnnotation, Segment  # noqa: E402 - after sys.path: run as a script
from core.project import Project  # noqa: E402 - after sys.path: run as a script
from core.project.annotations import prepare  # noqa: E402 - after sys.path: run as a script


def make_photos(folder: Path, n: int, width: int, height: int) -> list[Path]:
    """Textured JPEGs (smooth shading + grain), distinct per index so their hashes differ."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 110 + 40 * np.sin(xx / 37.0) * np.cos(yy / 53.0)
    out = []
    for i in range(n):
        grain = rng.normal(0, 12, (height, width, 1)).astype(np.float32)
        img = np.clip(base[..., None] + grain + i % 50, 0, 255).astype(np.uint8).repeat(3, axis=2)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        path = folder / f"IMG_{i:05d}.jpg"
        path.write_bytes(buf.tobytes())
        out.append(path)
    return out


def make_big_annotation(width: int, height: int, seed: int = 0) -> PanopticAnnotation:
    rng = np.random.default_rng(seed)
    id_map = np.full((height, width), 1, np.int32)            # concrete (stuff 4)
    segs = {1: Segment(1, 4)}
    id_map[:, : width // 20] = 0                               # void margin
    id_map[: height // 10, width // 2:] = 2                    # background (stuff 5)
    segs[2] = Segment(2, 5)
    next_id = 300
    for _ in range(40):                                        # cracks: thin polylines
        mask = np.zeros((height, width), np.uint8)
        pts = (rng.normal(0, width / 40, (12, 2)).cumsum(axis=0) + rng.integers(0, min(width, height), 2))
        cv2.polylines(mask, [pts.astype(np.int32)], False, 1, int(rng.integers(3, 12)))
        id_map[mask > 0] = next_id
        segs[next_id] = Segment(next_id, 1)
        next_id += 1
    for _ in range(15):                                        # spalling: blobs
        mask = np.zeros((height, width), np.uint8)
        c = rng.integers(0, [width, height])
        ang = np.sort(rng.uniform(0, 2 * np.pi, 11))
        rad = rng.uniform(width / 60, width / 15, 11)
        pts = np.stack([c[0] + rad * np.cos(ang), c[1] + rad * np.sin(ang)], 1)
        cv2.fillPoly(mask, [pts.astype(np.int32)], 1)
        id_map[mask > 0] = next_id
        segs[next_id] = Segment(next_id, 2, source="model", score=0.9)
        next_id += 1
    for _ in range(3):                                         # exposed rebar: straight bars
        mask = np.zeros((height, width), np.uint8)
        y = int(rng.integers(0, height))
        cv2.line(mask, (0, y), (width - 1, y + int(rng.integers(-200, 200))), 1, 25)
        id_map[mask > 0] = next_id
        segs[next_id] = Segment(next_id, 3)
        next_id += 1
    return PanopticAnnotation(id_map, segs).pruned()


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=1000)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--big", default="6000x4000")
    ap.add_argument("--saves", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    big_w, big_h = (int(v) for v in args.big.lower().split("x"))
    results: dict[str, float | int | str] = {}
    with tempfile.TemporaryDirectory(prefix="bench_project_") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        files = make_photos(tmp / "photos", args.photos, args.width, args.height)
        mb = sum(f.stat().st_size for f in files) / 1e6
        print(f"generated {len(files)} photos {args.width}x{args.height} ({mb:.1f} MB) in "
              f"{time.perf_counter() - t:.1f} s", file=sys.stderr)
        add_times = []
        for r in range(args.repeat):
            with Project.create(tmp / f"add_{r}.pinspect") as p:
                t = time.perf_counter()
                report = p.images.add_folder(tmp / "photos")
                add_times.append(time.perf_counter() - t)
                assert len(report.added) == args.photos, (report.failed, report.skipped)
        results["add_photos_n"] = args.photos
        results["add_photos_s_median"] = _median(add_times)
        results["add_photos_ms_per_photo"] = 1000 * _median(add_times) / args.photos

        ann = make_big_annotation(big_w, big_h)
        big_photo = tmp / "big.jpg"
        big_photo.write_bytes(cv2.imencode(".jpg", np.full((big_h, big_w, 3), 128, np.uint8))[1].tobytes())
        path = tmp / "add_0.pinspect"
        with Project.open(path) as p:
            (img,) = p.images.add_files([big_photo]).added
            prep, save, load = [], [], []
            for _ in range(args.saves):
                t = time.perf_counter()
                png, _rows = prepare(ann, big_h, big_w, img.id)
                prep.append(time.perf_counter() - t)
                t = time.perf_counter()
                p.annotations.save(img.id, ann)
                save.append(time.perf_counter() - t)
                t = time.perf_counter()
                back = p.annotations.load(img.id)
                load.append(time.perf_counter() - t)
            assert np.array_equal(back.id_map, ann.id_map) and back.segments == ann.segments
        results.update({"big_annotation": f"{big_w}x{big_h}", "big_segments": len(ann.segments),
                        "big_png_kb": len(png) / 1e3, "save_big_s_median": _median(save),
                        "save_big_check_encode_s_median": _median(prep),
                        "load_big_s_median": _median(load)})
        opens = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            Project.open(path).close()
            opens.append(time.perf_counter() - t)
        results["open_project_s_median"] = _median(opens)
        results["project_file_mb"] = path.stat().st_size / 1e6

    for k, v in results.items():
        print(f"{k:34s} {v:.3f}" if isinstance(v, float) else f"{k:34s} {v}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
