"""Benchmark: mask-folder import + COCO panoptic export, against a straightforward baseline.

    python -m bench.bench_import_export [--n 500] [--width 1024] [--height 768] [--json out.json]

Generates ``--n`` samples (a textured JPEG and a class-index PNG mask each: 1-6 cracks drawn as
polylines, 0-2 spalling patches, sometimes a bar of exposed rebar and a background band), then
times, in the same run on the same files:

* **ours**: ``import_mask_folder`` (connected components with ``cv2.connectedComponents``,
  one label pass per thing class) piped into ``export_coco_panoptic`` (canonical ids, stats by
  ``bincount`` / ``find_objects``, photos copied, atomic folder);
* **baseline**: the route published pipelines took, one image at a time: ``scipy.ndimage.label``
  per class, then per component a full-image boolean mask, ``pycocotools.mask.encode`` for area
  and bbox, painting it into the id map, PIL PNG writing, photo copy, one JSON at the end.

Both use 8-connectivity and turn unlabelled pixels into ``concrete``; the outputs are compared
(semantic maps and segment counts) so the speed is for the same result. ``ours`` runs with its
default threads (up to 4) and again on one thread. Each route first runs on a few images (imports,
caches), then ``--repeat`` times on all; the best run counts. The files were just written, so reads
come from the page cache. Figures: images per second of wall clock, and CPU milliseconds per image
(all threads; less sensitive to other load on a shared machine).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
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
from core.formats import MaskFolderOptions, export_coco_panoptic, import_mask_folder, records_from_import  # noqa: E402 - after sys.path: run as a script
from core.idpng import id2rgb, read_ids  # noqa: E402 - after sys.path: run as a script


def make_samples(root: Path, n: int, width: int, height: int, seed: int = 0) -> tuple[Path, Path]:
    photos, masks = root / "photos", root / "masks"
    photos.mkdir(parents=True)
    masks.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 110 + 40 * np.sin(xx / 37.0) * np.cos(yy / 53.0)
    for i in range(n):
        grain = rng.normal(0, 12, (height, width, 1)).astype(np.float32)
        img = np.clip(base[..., None] + grain + i % 50, 0, 255).astype(np.uint8).repeat(3, axis=2)
        mask = np.zeros((height, width), np.uint8)
        if rng.random() < 0.3:
            mask[: int(rng.integers(20, height // 5))] = 5                       # background band
        for _ in range(int(rng.integers(0, 3))):                                  # spalling
            c = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            axes = (int(rng.integers(20, 120)), int(rng.integers(15, 80)))
            cv2.ellipse(mask, c, axes, float(rng.uniform(0, 180)), 0, 360, 2, -1)
        if rng.random() < 0.3:                                                    # exposed rebar
            y = int(rng.integers(50, height - 50))
            cv2.line(mask, (int(rng.integers(0, width // 3)), y), (int(rng.integers(2 * width // 3, width)), y), 3, 9)
        for _ in range(int(rng.integers(1, 7))):                                  # cracks
            pts = np.cumsum(rng.normal(0, 25, (int(rng.integers(5, 20)), 2)), axis=0)
            pts += [rng.integers(0, width), rng.integers(0, height)]
            cv2.polylines(mask, [pts.astype(np.int32)], False, 1, int(rng.integers(2, 5)))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        (photos / f"IMG_{i:05d}.jpg").write_bytes(buf.tobytes())
        ok, buf = cv2.imencode(".png", mask)
        (masks / f"IMG_{i:05d}.png").write_bytes(buf.tobytes())
    return photos, masks


def run_ours(photos: Path, masks: Path, out: Path, workers: int | None = None) -> dict:
    run = import_mask_folder(photos, masks, options=MaskFolderOptions(fill="concrete", connectivity=8))
    if workers is not None:
        run.workers = workers
    summary = export_coco_panoptic(records_from_import(run), run.categories, out, total=run.total, workers=workers)
    return {"images": summary.splits.get("all", 0), "segments": sum(summary.segments.values()),
            "skipped": len(run.report.skipped)}


def run_baseline(photos: Path, masks: Path, out: Path) -> dict:
    """The straightforward route: scipy labels, per-component pycocotools RLE, one image at a time."""
    from PIL import Image
    from pycocotools import mask as mask_utils
    from scipy import ndimage

    cats = default_categories()
    things = {c.id for c in cats.things}
    (out / "panoptic_all").mkdir(parents=True)
    (out / "all").mkdir()
    structure = np.ones((3, 3), bool)  # 8-connectivity, as ours
    images, annotations = [], []
    for image_id, photo in enumerate(sorted(photos.glob("*.jpg")), start=1):
        with Image.open(photo) as img:
            width, height = img.size
        mask = np.array(Image.open(masks / (photo.stem + ".png")))
        pan = np.zeros((height, width), np.uint32)
        infos, next_id = [], 1

        def add(region, cat_id, pan=pan, infos=infos):
            nonlocal next_id
            rle = mask_utils.encode(np.asfortranarray(region.astype(np.uint8)))
            pan[region] = next_id
            infos.append({"id": next_id, "category_id": cat_id, "iscrowd": 0,
                          "bbox": [int(v) for v in mask_utils.toBbox(rle)], "area": int(mask_utils.area(rle))})
            next_id += 1

        for cat_id in sorted(int(v) for v in np.unique(mask) if v):
            region = mask == cat_id
            if cat_id in things:
                labels, n = ndimage.label(region, structure=structure)
                for k in range(1, n + 1):
                    add(labels == k, cat_id)
            else:
                add(region, cat_id)
        rest = pan == 0
        if rest.any():
            add(rest, 4)
        Image.fromarray(id2rgb(pan)).save(out / "panoptic_all" / (photo.stem + ".png"))
        shutil.copyfile(photo, out / "all" / photo.name)
        images.append({"id": image_id, "file_name": photo.name, "width": width, "height": height})
        annotations.append({"image_id": image_id, "file_name": photo.stem + ".png", "segments_info": infos})
    data = {"images": images, "annotations": annotations, "categories": cats.to_json()}
    (out / "panoptic_all.json").write_text(json.dumps(data), encoding="utf-8")
    return {"images": len(images), "segments": sum(len(a["segments_info"]) for a in annotations), "skipped": 0}


def same_result(ours: Path, base: Path, check: int) -> bool:
    """Semantic maps and segment counts agree on the first ``check`` images."""
    a = json.loads((ours / "panoptic_all.json").read_text(encoding="utf-8"))
    b = json.loads((base / "panoptic_all.json").read_text(encoding="utf-8"))
    for ann_a, ann_b in list(zip(a["annotations"], b["annotations"]))[:check]:
        for ann, root in ((ann_a, ours), (ann_b, base)):
            ann["sem"] = _semantic(read_ids(root / "panoptic_all" / ann["file_name"]), ann["segments_info"])
        if len(ann_a["segments_info"]) != len(ann_b["segments_info"]) or not np.array_equal(ann_a["sem"], ann_b["sem"]):
            return False
    return True


def _semantic(id_map: np.ndarray, infos: list[dict]) -> np.ndarray:
    lut = np.zeros(int(id_map.max()) + 1, np.int32)
    for s in infos:
        lut[s["id"]] = s["category_id"]
    return lut[id_map]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--height", type=int, default=768)
    ap.add_argument("--check", type=int, default=50, help="images whose outputs are compared")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs per route (the best counts)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_import_export_") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        photos, masks = make_samples(tmp / "data", args.n, args.width, args.height)
        print(f"generated {args.n} samples {args.width}x{args.height} in {time.perf_counter() - t0:.1f} s")
        routes = {"ours": run_ours, "ours_1_thread": lambda p, m, o: run_ours(p, m, o, workers=1),
                  "baseline": run_baseline}
        warm = make_samples(tmp / "warm", 3, args.width, args.height, seed=1)
        for name, fn in routes.items():
            fn(*warm, tmp / f"warm_{name}")
        results: dict = {}
        for rep in range(args.repeat):
            for name, fn in routes.items():
                out = tmp / f"{name}_{rep}"
                c0, t0 = time.process_time(), time.perf_counter()
                counts = fn(photos, masks, out)
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
                best = results.get(name)
                if best is None or dt < best["seconds"]:
                    results[name] = {**counts, "seconds": round(dt, 2), "images_per_s": round(counts["images"] / dt, 1),
                                     "cpu_ms_per_image": round(1000 * cpu / counts["images"], 1)}
                print(f"{name:14s} run {rep + 1}: {counts['images']} images, {counts['segments']} segments in "
                      f"{dt:.1f} s: {counts['images'] / dt:.1f} images/s, "
                      f"{1000 * cpu / counts['images']:.1f} CPU ms/image")
                if rep > 0 or name == "ours_1_thread":
                    shutil.rmtree(out)  # keep the disk footprint small; rep 0 of two routes is compared
        results["same_result"] = same_result(tmp / "ours_0", tmp / "baseline_0", args.check)
        results["speedup_wall"] = round(results["ours"]["images_per_s"] / results["baseline"]["images_per_s"], 2)
        results["speedup_cpu"] = round(results["baseline"]["cpu_ms_per_image"]
                                       / results["ours_1_thread"]["cpu_ms_per_image"], 2)
        print(f"best runs: ours {results['ours']['images_per_s']} images/s, one thread "
              f"{results['ours_1_thread']['images_per_s']}, baseline {results['baseline']['images_per_s']}; "
              f"speed-up {results['speedup_wall']}x wall, {results['speedup_cpu']}x CPU per image; "
              f"outputs agree on the first {args.check} images: {results['same_result']}")
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "size": [args.width, args.height], "cpus": os.cpu_count(),
                                         **results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
