"""Benchmark: panoptic inference with masks only for the surviving queries vs for all of them.

    python -m bench.bench_model_inference [--threads 2] [--kept 10] [--repeat-r50 3] [--repeat-small 5]
                                          [--presets detr_r50 cpu_small cpu_medium] [--json out.json]

For each preset (detr_r50 on one 800 x 1066 image, the small presets on 512 x 683), CPU, 2 threads,
three ways of getting the same panoptic result (same weights, same kept queries):

* ``published``: ``model(images)`` under ``torch.inference_mode`` (masks for every query, as the
  public DETR code computes them), then the post-processor at the threshold;
* ``ours_all``: ``model.predict(images)``, our inference path (channels-last convolutions on the
  CPU) but still with masks for every query;
* ``ours``: ``model.predict(images, min_score=threshold)``, masks for the surviving queries only.

Each runs in a fresh process: median wall time per image (model + post-processing, first call
excluded) and peak resident memory (Linux ``VmHWM``), also as the rise above the process with
the model built. ``ours`` also checks its masks and panoptic maps against ``published``.

No weights are downloaded: models are random, with the "no object" bias lowered and the
threshold set between the ``kept``-th and the next best query score, so exactly ``kept`` queries
survive, as for a trained model on a photo with a few defects, and the mask head adjusted so that
queries get different masks (``_make_queries_differ``). Prints the load average: figures
are only comparable at similar load.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = {"detr_r50": (800, 1066)}
SMALL_SIZE = (512, 683)
MODES = ("published", "ours_all", "ours")


def _memory_mb(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process in MiB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _make_queries_differ(model, images) -> None:
    """At random init every query gets nearly the same mask (the decoder outputs differ by ~1 %,
    and the mask head barely reads the attention maps), so the per-pixel argmax would be float
    noise. Centre the attention's query projection on this image's queries and amplify the mask
    head's attention-map inputs so masks differ per query as a trained model's do; make every
    query's best class a real one. Only mask-head weights and the class bias change."""
    import torch

    with torch.no_grad():
        model.detr.class_embed.bias[-1] = -10.0
        enc = model.detr.encode(images)
        hs = enc.hs[-1, 0]
        q = model.bbox_attention.q_linear
        q.weight /= hs.std(0).mean()
        q.bias.copy_(-q.weight @ hs.mean(0))
        att = model.bbox_attention(enc.hs[-1], enc.memory, enc.masks[-1])
        model.mask_head.lay1.weight[:, model.detr.transformer.d_model:] *= \
            10 * float(enc.src_proj.std() / att.std(1).mean())


def _worker(preset: str, mode: str, threads: int, kept: int, repeat: int) -> dict:
    import torch

    from core.categories import default_categories
    from core.model import build_model, get_preset

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    height, width = SIZES.get(preset, SMALL_SIZE)
    model, _, post = build_model(get_preset(preset), default_categories(), backbone_weights=None)
    model.eval()
    images = torch.randn(1, 3, height, width, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        _make_queries_differ(model, images)
        scores = model.detr.heads(model.detr.encode(images).hs, aux=False)["pred_logits"].softmax(-1).max(-1).values
    ranked = scores.flatten().sort(descending=True).values
    threshold = float((ranked[kept - 1] + ranked[kept]) / 2)
    sizes = [(height, width)]

    def published():
        with torch.inference_mode():
            return model(images)

    run = {"published": published,
           "ours_all": lambda: model.predict(images),
           "ours": lambda: model.predict(images, min_score=threshold)}[mode]
    base_mb = _memory_mb("VmRSS")
    times = []
    for i in range(repeat + 1):
        start = time.perf_counter()
        outputs = run()
        annotation = post(outputs, sizes, threshold=threshold)[0]
        if i:  # the first call warms up allocators and kernels
            times.append(time.perf_counter() - start)
    result = {"preset": preset, "mode": mode, "size": [height, width], "threshold": threshold,
              "segments": len(annotation.segments), "median_s": statistics.median(times), "times_s": times,
              "peak_mb": _memory_mb("VmHWM"), "peak_rise_mb": _memory_mb("VmHWM") - base_mb}
    if mode == "ours":
        keep = outputs["mask_keep"]
        full = published()
        reference = post(full, sizes, threshold=threshold)[0]
        result["kept"] = int(keep.sum())
        result["max_mask_diff"] = float((outputs["pred_masks"][keep] - full["pred_masks"][keep]).abs().max())
        result["same_segments"] = len(reference.segments) == len(annotation.segments)
        # Random weights give every query nearly the same mask, so many pixels are float ties;
        # compare the per-pixel winning query where the best two logits differ by > 1e-3.
        from core.model.postprocess import _upsample_crop

        ours_up = _upsample_crop(outputs["pred_masks"][keep], height, width)
        full_up = _upsample_crop(full["pred_masks"][keep], height, width)
        top2 = full_up.topk(2, dim=0).values
        decided = (top2[0] - top2[1]) > 1e-3
        result["decided_pixels"] = float(decided.float().mean())
        result["same_winner"] = float((ours_up.argmax(0) == full_up.argmax(0))[decided].float().mean())
    return result


def _spawn(preset: str, mode: str, args) -> dict:
    cmd = [sys.executable, "-m", "bench.bench_model_inference", "--worker", preset, mode,
           "--threads", str(args.threads), "--kept", str(args.kept),
           "--repeat", str(args.repeat_r50 if preset == "detr_r50" else args.repeat_small)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{preset}/{mode} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--kept", type=int, default=10, help="queries that survive the threshold")
    parser.add_argument("--repeat-r50", type=int, default=3)
    parser.add_argument("--repeat-small", type=int, default=5)
    parser.add_argument("--presets", nargs="+", default=["detr_r50", "cpu_small", "cpu_medium"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", nargs=2, metavar=("PRESET", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker[0], args.worker[1], args.threads, args.kept, args.repeat)))
        return 0

    print(f"load average before: {os.getloadavg()[0]:.2f}; {args.threads} threads; {args.kept} kept queries")
    results = []
    for preset in args.presets:
        rows = {mode: _spawn(preset, mode, args) for mode in MODES}
        results.extend(rows.values())
        h, w = rows["ours"]["size"]
        print(f"\n{preset} at {h} x {w}: {rows['ours']['kept']} of the queries kept, "
              f"{rows['ours']['segments']} segments (published: {rows['published']['segments']}); "
              f"masks max |diff| {rows['ours']['max_mask_diff']:.1e}; same winning query on "
              f"{100 * rows['ours']['same_winner']:.3f} % of the {100 * rows['ours']['decided_pixels']:.0f} % "
              f"pixels not tied within 1e-3")
        print(f"  {'path':<10} {'median s':>9} {'peak MiB':>9} {'rise MiB':>9}")
        for mode in MODES:
            r = rows[mode]
            print(f"  {mode:<10} {r['median_s']:9.3f} {r['peak_mb']:9.0f} {r['peak_rise_mb']:9.0f}")
        pub, ours = rows["published"], rows["ours"]
        print(f"  published / ours: time x{pub['median_s'] / ours['median_s']:.2f}, "
              f"peak rise x{pub['peak_rise_mb'] / max(ours['peak_rise_mb'], 1):.2f}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
