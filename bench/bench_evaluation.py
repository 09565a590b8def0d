"""Benchmark: our PQ evaluation against panopticapi's ``pq_compute`` on the same files.

    python -m bench.bench_evaluation [--pairs 300] [--size 512] [--repeat 3] [--workers N] [--json out.json]

Generates ``--pairs`` ground-truth / prediction pairs of ``--size`` x ``--size`` COCO panoptic PNGs
in a temporary folder (concrete and background stuff; cracks, spalling and rebar things; void
seams; some crowd regions; predictions shifted, eroded, dilated, relabelled, dropped and
hallucinated), then times in the same run:

* panopticapi ``pq_compute`` (its ``multiprocessing.Pool`` of ``cpu_count()`` processes),
* our file front end ``evaluate_files`` (threaded PNG decoding),
* our in-memory ``PQAccumulator`` on the same pairs already in memory (what training and the GUI
  use: no PNG round trip),
* reading + decoding the PNGs alone on one thread, which bounds any file-based evaluator.

Each time is the best of ``--repeat`` interleaved runs (the machine is shared; the minimum is the
least disturbed), with the CPU seconds of that run beside it (panopticapi's include its worker
processes), which a busy machine inflates far less than wall time. The numbers of all three evaluators must agree to 1e-9, else the exit code is 1.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.categories import default_categories  # noqa: E402
from core.panoptic import PanopticAnnotation, PanopticRecord, Segment, write_coco_panoptic  # noqa: E402

CATS = default_categories()
CRACK, SPALLING, REBAR, CONCRETE, BACKGROUND = 1, 2, 3, 4, 5
TARGET_FILES, TARGET_MEMORY = 2.5, 10.0


# --- data ------------------------------------------------------------------------------------------
def _thing_mask(rng: np.random.Generator, size: int, cat: int) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    if cat == CRACK:      # a meandering thin polyline
        n = int(rng.integers(4, 12))
        steps = rng.normal(0, size / 20, (n, 2)).cumsum(axis=0) + rng.integers(0, size, 2)
        cv2.polylines(mask, [steps.astype(np.int32)], False, 1, int(rng.integers(2, 6)))
    elif cat == SPALLING:  # an irregular blob
        c = rng.integers(0, size, 2)
        ang = np.sort(rng.uniform(0, 2 * np.pi, 9))
        rad = rng.uniform(size / 30, size / 9, 9)
        pts = np.stack([c[0] + rad * np.cos(ang), c[1] + rad * np.sin(ang)], 1)
        cv2.fillPoly(mask, [pts.astype(np.int32)], 1)
    else:                  # a straight bar
        p0 = rng.integers(0, size, 2)
        p1 = p0 + rng.integers(-size // 3, size // 3, 2)
        cv2.line(mask, tuple(int(v) for v in p0), tuple(int(v) for v in p1), 1, int(rng.integers(5, 11)))
    return mask.astype(bool)


def _stuff_map(rng: np.random.Generator, size: int, offset: float) -> np.ndarray:
    """Background above a wavy line, concrete below; ``offset`` moves the line."""
    x = np.arange(size)
    line = size * (0.25 + 0.1 * np.sin(x / size * 6 + rng.uniform(0, 1))) + offset
    return np.where(np.arange(size)[:, None] < line[None, :], BACKGROUND, CONCRETE)


def make_pair(seed: int, size: int) -> tuple[PanopticAnnotation, PanopticAnnotation]:
    """One generated (ground truth, prediction) pair; deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 1)
    gt_sem = _stuff_map(np.random.default_rng([seed, 1]), size, 0)
    gt_map = np.where(gt_sem == BACKGROUND, 2, 1).astype(np.int32)
    gt_segs = {1: Segment(1, CONCRETE), 2: Segment(2, BACKGROUND)}
    pred_map = np.where(_stuff_map(np.random.default_rng([seed, 1]), size, rng.normal(0, 6)) == BACKGROUND,
                        2, 1).astype(np.int32)
    pred_segs = {1: Segment(1, CONCRETE, score=0.9), 2: Segment(2, BACKGROUND, score=0.9)}
    kernel = np.ones((3, 3), np.uint8)
    for k in range(int(rng.integers(3, 16))):
        cat = int(rng.choice([CRACK, SPALLING, REBAR]))
        mask = _thing_mask(rng, size, cat)
        seg_id = len(gt_segs) + 1
        gt_segs[seg_id] = Segment(seg_id, cat, iscrowd=bool(rng.random() < 0.05))
        gt_map[mask] = seg_id
        r = rng.random()
        if r < 0.1:
            continue                                          # missed
        pmask = mask.astype(np.uint8)
        if r < 0.35:
            pmask = cv2.dilate(pmask, kernel, iterations=int(rng.integers(1, 3)))
        elif r < 0.6:
            pmask = cv2.erode(pmask, kernel)
        else:
            pmask = np.roll(pmask, tuple(int(v) for v in rng.integers(-3, 4, 2)), axis=(0, 1))
        pcat = cat if rng.random() > 0.1 else int(rng.choice([CRACK, SPALLING, REBAR]))
        pid = len(pred_segs) + 1
        pred_segs[pid] = Segment(pid, pcat, score=float(rng.uniform(0.3, 1.0)))
        pred_map[pmask.astype(bool)] = pid
    for _ in range(int(rng.integers(0, 3))):                 # hallucinated
        pid = len(pred_segs) + 1
        pred_segs[pid] = Segment(pid, int(rng.choice([CRACK, SPALLING, REBAR])), score=float(rng.uniform(0.3, 0.7)))
        pred_map[_thing_mask(rng, size, int(pred_segs[pid].category_id))] = pid
    # Void: the annotator's unlabelled seams along thing borders and a strip at one edge.
    things = (gt_map > 2).astype(np.uint8)
    seam = cv2.morphologyEx(things, cv2.MORPH_GRADIENT, kernel).astype(bool) & (rng.random() < 0.5 + phase / 2)
    gt_map[seam & ~things.astype(bool)] = 0
    gt_map[:, : int(rng.integers(0, size // 16))] = 0
    gt = PanopticAnnotation(gt_map, gt_segs).pruned()
    pred = PanopticAnnotation(pred_map, pred_segs).pruned()
    return gt, pred


def write_dataset(folder: Path, pairs: int, size: int) -> tuple[Path, Path]:
    gt_recs, pred_recs = [], []
    for i in range(pairs):
        gt, pred = make_pair(i, size)
        gt_recs.append(PanopticRecord(i + 1, f"photo_{i:04d}.jpg", size, size, gt))
        pred_recs.append(PanopticRecord(i + 1, f"photo_{i:04d}.jpg", size, size, pred))
    gt_json, pred_json = folder / "gt.json", folder / "pred.json"
    write_coco_panoptic(gt_json, folder / "gt", gt_recs, CATS)
    write_coco_panoptic(pred_json, folder / "pred", pred_recs, CATS)
    return gt_json, pred_json


def _reusable(gt_json: Path, pred_json: Path, pairs: int, size: int) -> bool:
    """A ``--keep`` folder from an earlier run with the same settings is used again."""
    try:
        data = json.loads(gt_json.read_text())
    except (OSError, ValueError):
        return False
    return (pred_json.exists() and len(data["annotations"]) == pairs
            and all(img["width"] == size and img["height"] == size for img in data["images"]))


# --- timing ----------------------------------------------------------------------------------------
def _timed(fn):
    """(wall seconds, CPU seconds of this process and its children, result).

    ``fn`` returns ``(result, cleanup)``; ``cleanup`` (or None) runs after the clock stopped and
    before the CPU is read, so reaped worker processes count in the CPU figure, not in wall time.
    """
    gc.collect()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0, t0 = time.process_time(), time.perf_counter()
    result, cleanup = fn()
    wall = time.perf_counter() - t0
    if cleanup is not None:
        cleanup()
    cpu = time.process_time() - cpu0
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    return wall, cpu, result


def _panopticapi(gt_json: Path, pred_json: Path):
    """pq_compute as published; its Pool (which it never closes) is closed and joined afterwards,
    so its workers neither linger into the next measurement nor escape the CPU count."""
    import multiprocessing
    import multiprocessing.pool
    from unittest import mock

    from panopticapi.evaluation import pq_compute

    pools = []

    def pool(*args, **kwargs):
        pools.append(multiprocessing.pool.Pool(*args, **kwargs))
        return pools[-1]

    def cleanup():
        for p in pools:
            p.close()
            p.join()

    with mock.patch.object(multiprocessing, "Pool", pool), contextlib.redirect_stdout(io.StringIO()):
        return pq_compute(str(gt_json), str(pred_json)), cleanup


def _decode_only(folder: Path) -> int:
    n = 0
    for png in sorted(folder.glob("*/*.png")):
        cv2.imdecode(np.frombuffer(png.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
        n += 1
    return n


def _differences(ref: dict, res) -> list[str]:
    """Every number where our result and panopticapi's differ by more than 1e-9."""
    bad = []
    for name, row in zip(("All", "Things", "Stuff"), res.groups):
        for key in ("pq", "sq", "rq"):
            if not math.isclose(ref[name][key], getattr(row, key), rel_tol=0, abs_tol=1e-9):
                bad.append(f"{name} {key}: {ref[name][key]} vs {getattr(row, key)}")
        if ref[name]["n"] != row.n:
            bad.append(f"{name} n: {ref[name]['n']} vs {row.n}")
    for cat_id, ref_row in ref["per_class"].items():
        row = res.class_row(int(cat_id))
        for key in ("pq", "sq", "rq"):
            if not math.isclose(ref_row[key], getattr(row, key), rel_tol=0, abs_tol=1e-9):
                bad.append(f"class {cat_id} {key}: {ref_row[key]} vs {getattr(row, key)}")
    return bad


def run(pairs: int = 300, size: int = 512, repeat: int = 3, workers: int | None = None,
        folder: Path | None = None) -> dict:
    """Generate the data, time the four contenders, return the figures as a plain dict."""
    from core.evaluation import PQAccumulator, evaluate_files
    from core.evaluation.files import default_workers
    from core.idpng import read_ids

    with tempfile.TemporaryDirectory(prefix="bench_eval_") as tmp:
        folder = Path(folder) if folder is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        gt_json, pred_json = folder / "gt.json", folder / "pred.json"
        if not _reusable(gt_json, pred_json, pairs, size):
            gt_json, pred_json = write_dataset(folder, pairs, size)
        t_generate = time.perf_counter() - t0
        workers = workers or default_workers()

        # Pairs in memory for the accumulator, as training/the GUI hold them (not timed).
        gt_data, pred_data = json.loads(gt_json.read_text()), json.loads(pred_json.read_text())
        memory = [(PanopticAnnotation.from_coco(read_ids(folder / "gt" / g["file_name"]), g["segments_info"]),
                   PanopticAnnotation.from_coco(read_ids(folder / "pred" / p["file_name"]), p["segments_info"]))
                  for g, p in zip(gt_data["annotations"], pred_data["annotations"])]

        def in_memory():
            acc = PQAccumulator(CATS)
            for i, (g, p) in enumerate(memory):
                acc.process(g, p, image_id=i + 1)
            return acc.evaluate()

        times, cpu, results = {}, {}, {}
        for _ in range(repeat):  # interleaved, so a burst of load from others hits all alike
            for name, fn in (("panopticapi", lambda: _panopticapi(gt_json, pred_json)),
                             ("files", lambda: (evaluate_files(gt_json, pred_json, workers=workers).pq, None)),
                             ("memory", lambda: (in_memory(), None)),
                             ("decode_only", lambda: (_decode_only(folder), None))):
                wall, cpu_s, results[name] = _timed(fn)
                if wall < times.get(name, math.inf):
                    times[name], cpu[name] = wall, cpu_s
        ref = results["panopticapi"]
        diffs = {name: _differences(ref, results[name]) for name in ("files", "memory")}
    return {
        "pairs": pairs, "size": size, "repeat": repeat, "cpus": os.cpu_count(), "workers": workers,
        "generate_s": round(t_generate, 2), "decoded_pngs": results["decode_only"],
        "panopticapi_s": times["panopticapi"], "files_s": times["files"], "memory_s": times["memory"],
        "decode_only_s": times["decode_only"],
        "cpu_s": cpu, "load_avg_1min": os.getloadavg()[0],
        "files_speedup": times["panopticapi"] / times["files"],
        "memory_speedup": times["panopticapi"] / times["memory"],
        "identical": not any(diffs.values()), "differences": diffs,
        "pq_all": ref["All"]["pq"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None, help="threads of the file front end")
    ap.add_argument("--keep", type=Path, default=None,
                    help="write the generated data here and keep it (used again by a later run)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args(argv)
    r = run(args.pairs, args.size, args.repeat, args.workers, args.keep)
    print(f"{r['pairs']} pairs of {r['size']}x{r['size']} PNGs, {r['cpus']} CPUs, best of {r['repeat']}, "
          f"PQ(All) {100 * r['pq_all']:.2f}")
    c = r["cpu_s"]
    rows = [(f"panopticapi pq_compute ({r['cpus']} processes)", "panopticapi", ""),
            (f"evaluate_files ({r['workers']} threads)", "files",
             f"x{r['files_speedup']:.2f} (target x{TARGET_FILES})"),
            ("PQAccumulator, pairs in memory", "memory", f"x{r['memory_speedup']:.2f} (target x{TARGET_MEMORY})"),
            (f"read + decode {r['decoded_pngs']} PNGs, 1 thread", "decode_only", "")]
    print(f"  {'':40s} {'wall':>8s} {'CPU':>8s}   speed-up (wall)")
    for label, key, extra in rows:
        print(f"  {label:40s} {r[key + '_s']:7.3f}s {c[key]:7.3f}s   {extra}")
    print(f"  load average (1 min) at the end: {r['load_avg_1min']:.1f} on {r['cpus']} CPUs")
    print(f"  numbers identical to panopticapi (1e-9): {r['identical']}")
    for name, diffs in r["differences"].items():
        for d in diffs[:10]:
            print(f"    {name}: {d}")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))
    return 0 if r["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
