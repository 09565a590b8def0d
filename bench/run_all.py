"""Run every benchmark, one after the other, each in a process of its own (``make bench``).

    python -m bench.run_all                  # all of them, each with its defaults
    python -m bench.run_all --only evaluation,training
    python -m bench.run_all --list

The GUI benchmarks need a display: they are run under ``xvfb-run -a`` when there is no DISPLAY and
``xvfb-run`` exists, and skipped (said so) otherwise. ``bench_convergence`` trains for minutes per
variant; it runs here with ``--minutes 2`` and the three variants that show the most (published,
mask_detr, cpu_fast); run it alone for the full ladder or the 20-minute figures. Every benchmark
prints its own figures and ratios against the baseline it measures in the same run; this script
adds the wall time of each and a summary line of which ones failed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: name -> extra arguments (the defaults of each script, except where a default takes too long here).
BENCHMARKS: dict[str, list[str]] = {
    "synthetic": [],
    "project": [],
    "import_export": [],
    "evaluation": [],
    "crack_width": [],
    "model_inference": [],
    "inference": [],
    "spall_split": [],
    "thin_refine": [],
    "annotation": ["--timing"],
    "training": [],
    "convergence": ["--minutes", "2", "--variants", "published,mask_detr,cpu_fast"],
    "gui": [],
    "prediction_gui": [],
    "startup": [],
}
NEEDS_DISPLAY = {"gui", "prediction_gui", "startup"}


def command(name: str) -> list[str] | None:
    cmd = [sys.executable, "-m", f"bench.bench_{name}", *BENCHMARKS[name]]
    if name in NEEDS_DISPLAY and not os.environ.get("DISPLAY"):
        if shutil.which("xvfb-run") is None:
            return None
        cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", *cmd]
    return cmd


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    p.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(BENCHMARKS))
        return 0
    names = [n.strip() for n in args.only.split(",")] if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmarks {unknown}; known: {', '.join(BENCHMARKS)}")
    failed, skipped = [], []
    for name in names:
        cmd = command(name)
        if cmd is None:
            print(f"== {name}: skipped (no display and no xvfb-run)", flush=True)
            skipped.append(name)
            continue
        print(f"== {name}: {' '.join(cmd[cmd.index('-m') - 1:] if '-m' in cmd else cmd)}", flush=True)
        t0 = time.monotonic()
        rc = subprocess.call(cmd, cwd=ROOT)
        print(f"== {name}: {'ok' if rc == 0 else f'failed (exit {rc})'} in {time.monotonic() - t0:.0f} s", flush=True)
        if rc:
            failed.append(name)
    print(f"\n{len(names) - len(failed) - len(skipped)} ran, {len(failed)} failed {failed or ''}, "
          f"{len(skipped)} skipped {skipped or ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
