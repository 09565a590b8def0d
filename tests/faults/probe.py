"""Probe: the command line against hostile input, as a careful tester would try it.

    python tests/faults/probe.py [--only NAME] [--keep]

Each case builds its own small world in a temporary folder (photos, masks, a project, a tiny
checkpoint), runs ``main.py`` as a separate process with a time limit, and judges what a user
would see: no hang (the time limit), no raw traceback, a one-line ``error:`` with a non-zero exit
where it must fail (or success where it must succeed), and nothing lost (a snapshot of the
inputs before and after). Prints one line per case and the count that passed. Not part of the
test suite (it starts ~50 processes); the suite checks the same classes in ``tests/faults/``.
"""
from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.faults.probe_world import CASES, World  # noqa: E402

# Each case module registers its cases in CASES when imported, in this order.
for _group in ("loss", "input", "hostile"):
    importlib.import_module(f"tests.faults.probe_cases_{_group}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="run the cases whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = ap.parse_args()
    passed = failed = 0
    for name, fn in CASES:
        if args.only and args.only not in name:
            continue
        root = Path(tempfile.mkdtemp(prefix=f"probe-{name}-"))
        try:
            problem = fn(World(root))
        except Exception as e:  # noqa: BLE001 - the probe's own set-up fails the case, with the reason
            problem = f"probe error: {type(e).__name__}: {e}"
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
        if problem:
            failed += 1
            print(f"FAIL {name}: {problem}", flush=True)
        else:
            passed += 1
            print(f"ok   {name}", flush=True)
    print(f"{passed} of {passed + failed} cases handled well")


if __name__ == "__main__":
    main()
