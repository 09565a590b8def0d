"""Benchmark: inference latency, re-thresholding time and peak memory.

    python -m bench.bench_inference [--threads 2] [--repeat-small 5] [--repeat-r50 3] [--json out.json]

* Median latency per photo of ``Predictor.predict(path)`` (decoding a 12 MP JPEG downscaled +
  the network) for the ``cpu_small`` preset at 512 px and ``detr_r50`` at 800 px, and the
  network part alone. First call excluded (warm-up).
* ``PanopticPrediction.panoptic(threshold)`` on a 4000 x 3000 photo: the first call (which
  computes every score level once) and the median over 20 thresholds from 0.3 to 0.9.
* Peak memory of a fresh process (Linux: ``/proc/self/status``) while it predicts a 6000 x 4000
  JPEG, makes the full-size annotation, writes its COCO panoptic PNG and an overlay: the peak, and
  how far it rises above the process with the model loaded and warm; a 1000 x 750 photo for
  comparison.

No pretrained weights are used (nothing is downloaded): the models are randomly initialised,
with the class head recentred and the "no object" bias set so that about ``--kept`` queries
survive 0.3 on the benchmark photo, as a trained model's do; the cost of the mask head and of
re-thresholding grows with that number, so it is printed. The load average is printed too: the
figures are only comparable at similar load.

``--compare A.pt B.pt``: instead, two trained checkpoints of ours on the same 12 MP photo, in
turns (A, B, A, B, ...: load drifts hit both alike): the time to the first result (predict + the
first ``panoptic(0.5)``), re-thresholding, and B's ratios to A. E.g. the shipped model before and
after a change of the network (the thin head adds a head at the input resolution and its
components to the assembly).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402 - after sys.path: run as a script
from PIL import Image  # noqa: E402 - after sys.path: run as a script

from core.categories import default_categories  # noqa: E402 - after sys.path: run as a script
from core.inference import Predictor  # noqa: E402 - after sys.path: run as a script
from core.model import build_model, get_preset, save_checkpoint  # noqa: E402 - after sys.path: run as a script
from core.synthetic.generator import generate_sample  # noqa: E402 - after sys.path: run as a script


def make_photo(path: Path, width: int, height: int, seed: int = 0) -> Path:
    """A synthetic concrete photo upscaled to ``width`` x ``height`` (JPEG, quality 90)."""
    rgb, _ = generate_sample(seed, (width // 4, height // 4))
    Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR).save(path, quality=90)
    return path


def make_checkpoint(path: Path, preset: str, input_size: int, photo: Path, kept: int) -> Path:
    """A random model whose classes vary per query and about ``kept`` queries survive 0.3."""
    from core.imageio import load_image
    from core.data.transforms import build_eval_transforms

    cats = default_categories()
    config = get_preset(preset)
    torch.manual_seed(0)
    model, _, _ = build_model(config, cats, backbone_weights=None)
    model.eval()
    pixels = torch.from_numpy(load_image(photo, max_side=input_size).copy()).permute(2, 0, 1)
    x = build_eval_transforms(input_size)(pixels)
    with torch.no_grad():
        hs = model.detr.encode(x[None]).hs[-1, 0]
        mu = hs.mean(0)
        weight = torch.randn(len(cats) + 1, hs.shape[1]) / ((hs - mu).std() * hs.shape[1] ** 0.5) * 2.5
        model.detr.class_embed.weight.copy_(weight)
        bias = -weight @ mu
        logits = hs @ weight.T + bias
        lo, hi = -20.0, 20.0  # bisect the "no object" bias so that ``kept`` queries pass 0.3
        for _ in range(40):
            mid = (lo + hi) / 2
            test = logits.clone()
            test[:, -1] += mid
            p, lab = test.softmax(-1).max(-1)
            n = int(((lab != len(cats)) & (p > 0.3)).sum())
            lo, hi = (mid, hi) if n > kept else (lo, mid)
        bias[-1] += hi
        model.detr.class_embed.bias.copy_(bias)
        model.mask_head.out_lay.weight.mul_(20)  # distinct segments rather than near-constant masks
    save_checkpoint(path, model, config, cats, {"training": {"train_config": {"eval_size": input_size}}})
    return path


def latency(predictor: Predictor, photo: Path, repeat: int) -> dict:
    predictor.predict(photo)  # warm-up
    total, network, kept = [], [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        pred = predictor.predict(photo)
        total.append(time.perf_counter() - t0)
        network.append(pred.meta.timings["network_s"])
        kept = len(pred)
    return {"median_s": statistics.median(total), "network_median_s": statistics.median(network),
            "runs": len(total), "kept_queries": kept}


def rethreshold(predictor: Predictor, photo: Path) -> dict:
    pred = predictor.predict(photo)
    t0 = time.perf_counter()
    pred.panoptic(0.5)
    first = time.perf_counter() - t0
    times = []
    for t in np.linspace(0.3, 0.9, 20):
        t0 = time.perf_counter()
        ann = pred.panoptic(float(t))
        times.append(time.perf_counter() - t0)
    return {"image": f"{ann.shape[1]}x{ann.shape[0]}", "first_call_s": first, "median_s": statistics.median(times),
            "max_s": max(times), "kept_queries": len(pred), "score_levels": len(pred.score_levels())}


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_child(checkpoint: str, photo: str, out: str, threads: int) -> None:
    """Runs in a fresh process (Linux): prints JSON with the resident memory once the model is
    loaded and warm, and how far each stage (predict, full-size annotation, PNG, overlay) rises
    above it (the peak counter is reset between stages through ``/proc/self/clear_refs``)."""
    from core.atomic import atomic_write_bytes
    from core.imageio import encode_jpeg
    from core.inference.overlay import prediction_overlay
    from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic

    torch.set_num_threads(threads)
    predictor = Predictor.from_checkpoint(checkpoint, "cpu")
    predictor.predict(np.zeros((48, 64, 3), np.uint8))  # warm-up at the photos' 4:3 input shape
    loaded = _status_mb("VmRSS")
    peaks = {}

    def stage(name: str) -> None:
        peaks[name] = _status_mb("VmHWM") - loaded
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM (peak RSS) to the current RSS

    Path("/proc/self/clear_refs").write_text("5")
    pred = predictor.predict(photo)
    stage("predict_above_loaded_mb")
    ann = pred.panoptic(0.5)
    stage("panoptic_above_loaded_mb")
    h, w = pred.image_size
    write_coco_panoptic(Path(out) / "pred.json", Path(out) / "pred", [PanopticRecord(1, Path(photo).name, w, h, ann)],
                        predictor.categories)
    stage("write_png_above_loaded_mb")
    atomic_write_bytes(Path(out) / "overlay.jpg", encode_jpeg(prediction_overlay(pred, photo, 0.5)))
    stage("overlay_above_loaded_mb")
    peak = max(peaks.values())
    print(json.dumps({"loaded_mb": loaded, "peak_mb": loaded + peak, "above_loaded_mb": peak, **peaks}))


def peak_memory(checkpoint: Path, photo: Path, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        res = subprocess.run([sys.executable, "-m", "bench.bench_inference", "--peak-child", str(checkpoint),
                              str(photo), out, "--threads", str(threads)], cwd=ROOT, capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(res.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])


def compare(a: Path, b: Path, repeat: int, size: tuple[int, int] = (4000, 3000), one_pass_a: bool = False,
            fp32_a: bool = False) -> int:
    """Print the time to the first result and re-thresholding of checkpoints ``a`` and ``b`` on a
    photo of ``size`` (width, height); ``one_pass_a``: ``a`` without the thin head's second look
    at the photo's own size (``Predictor.native_size`` 0), so ``--compare M M`` times that look;
    ``fp32_a``: ``a`` in float32 throughout (``Predictor.amp_dtype`` None), so ``--compare M M``
    times mixed precision."""
    with tempfile.TemporaryDirectory() as tmp:
        photo = make_photo(Path(tmp) / f"photo_{size[0]}x{size[1]}.jpg", *size)
        runs = {f"A {a.name}" + (" (one pass)" if one_pass_a else "") + (" (float32)" if fp32_a else ""):
                Predictor.from_checkpoint(a, "cpu"),
                f"B {b.name}": Predictor.from_checkpoint(b, "cpu")}
        if one_pass_a:
            next(iter(runs.values())).native_size = 0
        if fp32_a:
            next(iter(runs.values())).amp_dtype = None
        first: dict[str, list[float]] = {k: [] for k in runs}
        again: dict[str, list[float]] = {k: [] for k in runs}
        for p in runs.values():
            p.predict(photo).panoptic(0.5)  # warm-up
        for _ in range(repeat):
            for name, predictor in runs.items():
                t0 = time.perf_counter()
                pred = predictor.predict(photo)
                pred.panoptic(0.5)
                first[name].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                for t in np.linspace(0.3, 0.9, 10):
                    pred.panoptic(float(t))
                again[name].append((time.perf_counter() - t0) / 10)
    med = {k: (statistics.median(first[k]), statistics.median(again[k])) for k in runs}
    for k in runs:
        print(f"{k}: first result {med[k][0]:.3f} s (predict + panoptic(0.5), median of {repeat}), "
              f"re-threshold {1000 * med[k][1]:.1f} ms")
    ka, kb = runs
    print(f"photo {size[0]} x {size[1]}; ratio B / A: first result x{med[kb][0] / med[ka][0]:.2f}, "
          f"re-threshold x{med[kb][1] / med[ka][1]:.2f}; load average {os.getloadavg()[0]:.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat-small", type=int, default=5)
    ap.add_argument("--repeat-r50", type=int, default=3)
    ap.add_argument("--kept", type=int, default=20, help="queries above 0.3 on the benchmark photo")
    ap.add_argument("--skip-r50", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"),
                    help="time two trained checkpoints on a 12 MP photo instead (B's ratios to A)")
    ap.add_argument("--photo-size", default="4000x3000", help="--compare's photo, WIDTHxHEIGHT (default 4000x3000)")
    ap.add_argument("--one-pass-a", action="store_true",
                    help="--compare: A without the thin head's second look at the photo's own size")
    ap.add_argument("--fp32-a", action="store_true", help="--compare: A in float32 throughout (no mixed precision)")
    ap.add_argument("--peak-child", nargs=3, metavar=("CKPT", "PHOTO", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.peak_child:
        peak_child(*args.peak_child, threads=args.threads)
        return 0
    torch.set_num_threads(args.threads)
    if args.compare:
        w, _, h = args.photo_size.partition("x")
        return compare(*args.compare, repeat=args.repeat_small, size=(int(w), int(h)), one_pass_a=args.one_pass_a,
                       fp32_a=args.fp32_a)
    results: dict = {"threads": args.threads, "cpu_count": os.cpu_count(), "torch": torch.__version__,
                     "load_average_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photo12 = make_photo(tmp / "photo_12mp.jpg", 4000, 3000)
        photo24 = make_photo(tmp / "photo_24mp.jpg", 6000, 4000, seed=1)
        photo1 = make_photo(tmp / "photo_1mp.jpg", 1000, 750, seed=2)
        runs = [("cpu_small", 512, args.repeat_small)] + ([] if args.skip_r50 else [("detr_r50", 800, args.repeat_r50)])
        for preset, size, repeat in runs:
            ckpt = make_checkpoint(tmp / f"{preset}.pt", preset, size, photo12, args.kept)
            predictor = Predictor.from_checkpoint(ckpt, "cpu")
            key = f"{preset}@{size}"
            results[f"{key} latency 12MP"] = latency(predictor, photo12, repeat)
            results[f"{key} panoptic(threshold) 4000x3000"] = rethreshold(predictor, photo12)
            del predictor
            results[f"{key} peak memory 6000x4000"] = peak_memory(ckpt, photo24, args.threads)
            results[f"{key} peak memory 1000x750"] = peak_memory(ckpt, photo1, args.threads)
    results["load_average_end"] = os.getloadavg()
    for k, v in results.items():
        if isinstance(v, dict):
            print(f"{k}: " + ", ".join(f"{a}={b:.3f}" if isinstance(b, float) else f"{a}={b}" for a, b in v.items()))
        else:
            print(f"{k}: {v}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
