"""Benchmark: our PQ evaluation against panopticapi's ``pq_compute`` on the same files.

    python -m bench.bench_evaluation [--pairs 300] [--size 512] [--repeat 5] [--ids small,coco]
                                     [--workers N] [--keep DIR] [--json out.json]

Generates ``--pairs`` ground-truth / prediction pairs of ``--size`` x ``--size`` COCO panoptic PNGs
(concrete and background stuff; cracks, spalling and rebar things; void seams; some crowd regions;
predictions shifted, eroded, dilated, relabelled, dropped and hallucinated) in each id convention:

* ``small``: segments numbered 1..N, written by our exporter (what this application writes);
* ``coco``: every segment a random 24-bit colour, written by PIL as panopticapi's converters and
  COCO's own panoptic sets are (zlib level 6, adaptive filters).

Then, per convention and in the same run, interleaved (a burst of load from others hits all alike):

* **whole process**, as a user runs it: ``python main.py evaluate --gt ... --pred ...`` against a
  ``python -c`` that imports panopticapi and calls ``pq_compute`` (its ``multiprocessing.Pool`` of
  ``cpu_count()`` processes). Start-up, imports and printing included;
* **in process**: panopticapi ``pq_compute``, our ``evaluate_files`` (threaded PNG decoding), our
  in-memory ``PQAccumulator`` on the pairs already in memory (what training and the GUI use), and
  reading + decoding the PNGs alone on one thread, which bounds any file-based evaluator.

Every figure is the median of ``--repeat`` runs, with the CPU seconds of the median run beside it
(panopticapi's include its worker processes), which a busy machine inflates far less than wall
time; for the whole processes the ratio of CPU seconds is printed too (on an idle 2-core machine
both use both cores, so it predicts the wall-time ratio there). The numbers of every evaluator,
both processes included, must agree with panopticapi's to 1e-9, else the exit code is 1.
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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.categories import default_categories  # noqa: E402 - after sys.path: run as a script
from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic  # noqa: E402 - after sys.path: run as a script
from core.idpng import id2rgb  # noqa: E402 - after sys.path: run as a script
from core.panoptic import PanopticAnnotation, Segment  # noqa: E402 - after sys.path: run as a script

CATS = default_categories()
CRACK, SPALLING, REBAR, CONCRETE, BACKGROUND = 1, 2, 3, 4, 5
#: Speed-up over panopticapi aimed at: whole ``main.py evaluate`` process, and in-memory accumulator.
TARGET_PROCESS, TARGET_MEMORY = 2.0, 10.0
ID_CONVENTIONS = ("small", "coco")


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
    for _ in range(int(rng.integers(3, 16))):
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


def coco_style(ann: PanopticAnnotation, rng: np.random.Generator) -> PanopticAnnotation:
    """The same annotation with every segment renumbered to a distinct random 24-bit colour."""
    old = np.array(sorted(ann.segments), np.int64)
    new = rng.choice(2 ** 24 - 1, len(old), replace=False) + 1
    lut = dict(zip(old.tolist(), new.tolist()))
    keys = np.concatenate([[0], old])
    values = np.concatenate([[0], new]).astype(np.int32)
    id_map = values[np.searchsorted(keys, ann.id_map)]  # every pixel id is 0 or a table id
    segs = {lut[k]: Segment(lut[k], s.category_id, s.iscrowd, s.source, s.score) for k, s in ann.segments.items()}
    return PanopticAnnotation(id_map, dict(sorted(segs.items())))


def write_dataset(folder: Path, pairs: int, size: int, ids: str = "small") -> tuple[Path, Path]:
    """``gt.json`` + ``gt/`` and ``pred.json`` + ``pred/`` in ``folder``, ids in convention ``ids``."""
    rng = np.random.default_rng(2024)
    gt_recs, pred_recs = [], []
    for i in range(pairs):
        gt, pred = make_pair(i, size)
        if ids == "coco":
            gt, pred = coco_style(gt, rng), coco_style(pred, rng)
        gt_recs.append(PanopticRecord(i + 1, f"photo_{i:04d}.jpg", size, size, gt))
        pred_recs.append(PanopticRecord(i + 1, f"photo_{i:04d}.jpg", size, size, pred))
    gt_json, pred_json = folder / "gt.json", folder / "pred.json"
    write_coco_panoptic(gt_json, folder / "gt", gt_recs, CATS)
    write_coco_panoptic(pred_json, folder / "pred", pred_recs, CATS)
    if ids == "coco":  # the PNGs as panopticapi's converters write them: PIL's defaults
        from PIL import Image

        for name, recs in (("gt", gt_recs), ("pred", pred_recs)):
            for rec in recs:
                Image.fromarray(id2rgb(rec.annotation.id_map)).save(folder / name / rec.png_name)
    (folder / "ids.txt").write_text(ids)
    return gt_json, pred_json


def _reusable(folder: Path, pairs: int, size: int, ids: str) -> bool:
    """A ``--keep`` folder from an earlier run with the same settings is used again."""
    try:
        data = json.loads((folder / "gt.json").read_text())
        same_ids = (folder / "ids.txt").read_text() == ids
    except (OSError, ValueError):
        return False
    return (same_ids and (folder / "pred.json").exists() and len(data["annotations"]) == pairs
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


#: The reference as a user runs it: a fresh interpreter, panopticapi imported, pq_compute called
#: (it prints its table); the result goes to a JSON file for the comparison.
_PANOPTICAPI_SCRIPT = ("import json, sys\n"
                       "from panopticapi.evaluation import pq_compute\n"
                       "r = pq_compute(sys.argv[1], sys.argv[2])\n"
                       "open(sys.argv[3], 'w').write(json.dumps(r))\n")


def _process(cmd: list[str], out_json: Path):
    """Run ``cmd`` as a user would; (its parsed JSON output, None). Fails loudly on a non-zero exit."""
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(out_json.read_text()), None


def _decode_only(folder: Path) -> int:
    n = 0
    for png in sorted(folder.glob("*/*.png")):
        cv2.imdecode(np.frombuffer(png.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
        n += 1
    return n


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)


def _differences(ref: dict, res: dict) -> list[str]:
    """Every number where a result in ``pq_compute``'s form (``PQResult.to_json()`` is a superset)
    and panopticapi's differ by more than 1e-9."""
    bad = []
    for name in ("All", "Things", "Stuff"):
        for key in ("pq", "sq", "rq"):
            if not _close(ref[name][key], res[name][key]):
                bad.append(f"{name} {key}: {ref[name][key]} vs {res[name][key]}")
        if ref[name]["n"] != res[name]["n"]:
            bad.append(f"{name} n: {ref[name]['n']} vs {res[name]['n']}")
    rows = {str(k): v for k, v in res["per_class"].items()}
    for cat_id, ref_row in ref["per_class"].items():
        for key in ("pq", "sq", "rq"):
            if not _close(ref_row[key], rows[str(cat_id)][key]):
                bad.append(f"class {cat_id} {key}: {ref_row[key]} vs {rows[str(cat_id)][key]}")
    return bad


def run_convention(folder: Path, ids: str, pairs: int, size: int, repeat: int, workers: int) -> dict:
    """Generate (or reuse) one convention's data in ``folder`` and time every contender on it."""
    from core.evaluation import PQAccumulator, evaluate_files
    from core.idpng import read_ids

    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    gt_json, pred_json = folder / "gt.json", folder / "pred.json"
    if not _reusable(folder, pairs, size, ids):
        gt_json, pred_json = write_dataset(folder, pairs, size, ids)
    t_generate = time.perf_counter() - t0

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

    ours_json, ref_json = folder / "ours_out.json", folder / "ref_out.json"
    ours_cmd = [sys.executable, str(ROOT / "main.py"), "evaluate", "--gt", str(gt_json), "--pred", str(pred_json),
                "--json", str(ours_json)]
    ref_cmd = [sys.executable, "-c", _PANOPTICAPI_SCRIPT, str(gt_json), str(pred_json), str(ref_json)]
    contenders = (("process_panopticapi", lambda: _process(ref_cmd, ref_json)),
                  ("process_ours", lambda: _process(ours_cmd, ours_json)),
                  ("panopticapi", lambda: _panopticapi(gt_json, pred_json)),
                  ("files", lambda: (evaluate_files(gt_json, pred_json, workers=workers).pq, None)),
                  ("memory", lambda: (in_memory(), None)),
                  ("decode_only", lambda: (_decode_only(folder), None)))
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in contenders}
    results = {}
    for _ in range(repeat):
        for name, fn in contenders:
            wall, cpu_s, results[name] = _timed(fn)
            runs[name].append((wall, cpu_s))
    times, cpu = {}, {}
    for name, samples in runs.items():
        times[name] = statistics.median(w for w, _ in samples)
        cpu[name] = sorted(samples)[len(samples) // 2][1]  # the CPU seconds of the median run
    ref = results["panopticapi"]
    ours = {"files": results["files"].to_json(), "memory": results["memory"].to_json(),
            "process_ours": results["process_ours"]["pq"]}
    diffs = {name: _differences(ref, res) for name, res in ours.items()}
    diffs["process_panopticapi"] = _differences(ref, results["process_panopticapi"])
    return {
        "ids": ids, "generate_s": round(t_generate, 2), "decoded_pngs": results["decode_only"],
        "times_s": times, "cpu_s": cpu, "runs": runs,
        "process_speedup": times["process_panopticapi"] / times["process_ours"],
        "process_cpu_ratio": cpu["process_panopticapi"] / cpu["process_ours"],
        "files_speedup": times["panopticapi"] / times["files"],
        "memory_speedup": times["panopticapi"] / times["memory"],
        "identical": not any(diffs.values()), "differences": diffs, "pq_all": ref["All"]["pq"],
    }


def run(pairs: int = 300, size: int = 512, repeat: int = 5, workers: int | None = None,
        folder: Path | None = None, conventions: tuple[str, ...] = ID_CONVENTIONS) -> dict:
    """Every convention's figures as a plain dict (``--keep``: data kept in ``folder/<ids>``)."""
    from core.evaluation.files import default_workers

    workers = workers or default_workers()
    out = {"pairs": pairs, "size": size, "repeat": repeat, "cpus": len(os.sched_getaffinity(0))
           if hasattr(os, "sched_getaffinity") else os.cpu_count(), "workers": workers, "conventions": {}}
    with tempfile.TemporaryDirectory(prefix="bench_eval_") as tmp:
        root = Path(folder) if folder is not None else Path(tmp)
        for ids in conventions:
            out["conventions"][ids] = run_convention(root / ids, ids, pairs, size, repeat, workers)
    out["load_avg_1min"] = os.getloadavg()[0]
    out["identical"] = all(c["identical"] for c in out["conventions"].values())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5, help="runs of each contender; medians are reported")
    ap.add_argument("--ids", default=",".join(ID_CONVENTIONS),
                    help="id conventions to generate, comma-separated: small (1..N), coco (random colours)")
    ap.add_argument("--workers", type=int, default=None, help="threads of the file front end")
    ap.add_argument("--keep", type=Path, default=None,
                    help="write the generated data here and keep it (used again by a later run)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args(argv)
    conventions = tuple(c.strip() for c in args.ids.split(",") if c.strip())
    unknown = set(conventions) - set(ID_CONVENTIONS)
    if unknown or not conventions:
        ap.error(f"--ids takes {', '.join(ID_CONVENTIONS)}; got {args.ids!r}")
    r = run(args.pairs, args.size, args.repeat, args.workers, args.keep, conventions)
    print(f"{r['pairs']} pairs of {r['size']}x{r['size']} PNGs, {r['cpus']} CPUs, median of {r['repeat']} runs")
    for ids, c in r["conventions"].items():
        t, cpu = c["times_s"], c["cpu_s"]
        what = "ids 1..N, our exporter" if ids == "small" else "COCO-style random 24-bit ids, written by PIL"
        print(f"\n{what}: PQ(All) {100 * c['pq_all']:.2f}")
        rows = [("whole process: panopticapi pq_compute", "process_panopticapi", ""),
                ("whole process: main.py evaluate", "process_ours",
                 f"x{c['process_speedup']:.2f} (target x{TARGET_PROCESS}); CPU x{c['process_cpu_ratio']:.2f}"),
                (f"in process: panopticapi ({r['cpus']} processes)", "panopticapi", ""),
                (f"in process: evaluate_files ({r['workers']} threads)", "files", f"x{c['files_speedup']:.2f}"),
                ("in process: PQAccumulator, pairs in memory", "memory",
                 f"x{c['memory_speedup']:.2f} (target x{TARGET_MEMORY})"),
                (f"read + decode {c['decoded_pngs']} PNGs, 1 thread", "decode_only", "")]
        print(f"  {'':44s} {'wall':>8s} {'CPU':>8s}   speed-up over panopticapi (wall)")
        for label, key, extra in rows:
            print(f"  {label:44s} {t[key]:7.3f}s {cpu[key]:7.3f}s   {extra}")
        print(f"  numbers identical to panopticapi (1e-9): {c['identical']}")
        for name, diffs in c["differences"].items():
            for d in diffs[:10]:
                print(f"    {name}: {d}")
    print(f"\nload average (1 min) at the end: {r['load_avg_1min']:.1f} on {r['cpus']} CPUs")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))
    return 0 if r["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
