"""``demo``: the whole product headless on synthetic photos, in a few minutes on a CPU.

    python main.py demo                         # a temporary folder, deleted afterwards
    python main.py demo --keep demo-run         # keep the photos, project, model and export
    python main.py demo --minutes 1 --photos 60 --held-out 15

Makes photos with their truth, imports them into a project, trains ``cpu_fast`` for ``--minutes``,
predicts and evaluates the held-out photos, exports COCO panoptic (``core.demo.run_demo``), then
prints PQ / SQ / RQ (All / Things / Stuff and per class), COCO AP, the wall time of each stage and
where the files are. The defaults finish in under five minutes on a 2-core CPU. Ctrl-C stops the
stage in progress (a second Ctrl-C aborts at once).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.commands.progress import ProgressBar

#: Defaults sized so the whole run stays under five minutes on the 2-core development machine.
DEFAULT_MINUTES, DEFAULT_PHOTOS, DEFAULT_HELD_OUT, DEFAULT_SIZE = 3.0, 120, 30, "256-320"


def register(sub: argparse._SubParsersAction) -> None:
    from core.commands.evaluate_cmd import _positive as _positive_int

    p = sub.add_parser("demo", help="the whole pipeline on synthetic photos in a few minutes",
                       description="Make synthetic photos, import them into a project, train cpu_fast for a "
                                   "few minutes, predict and evaluate held-out photos, export COCO panoptic, and "
                                   "print the figures and the time of each stage.")
    p.add_argument("--minutes", type=_positive_float, default=DEFAULT_MINUTES,
                   help=f"training budget (default {DEFAULT_MINUTES:g})")
    p.add_argument("--photos", type=_positive_int, default=DEFAULT_PHOTOS,
                   help=f"training photos (default {DEFAULT_PHOTOS})")
    p.add_argument("--held-out", type=_positive_int, default=DEFAULT_HELD_OUT,
                   help=f"held-out photos predicted and evaluated (default {DEFAULT_HELD_OUT})")
    p.add_argument("--size", default=DEFAULT_SIZE, help=f"photo size: 320, 400x300 or 256-320 (default {DEFAULT_SIZE})")
    p.add_argument("--keep", type=Path, default=None, metavar="DIR",
                   help="work in DIR (new or empty) and keep everything; default: a temporary folder, deleted")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="confidence threshold of the predictions and the evaluation (0.3 to 1; default 0.5)")
    p.add_argument("--seed", type=int, default=0, help="of the photos and the training (default 0)")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for training and prediction (default: the cores not busy with other work)")
    p.set_defaults(func=run)


def _positive_float(text: str) -> float:
    import argparse

    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    from core.commands.exit_codes import EXIT_CANCELLED, EXIT_USAGE
    from core.commands.train_cmd import _install_sigint
    from core.demo import run_demo
    from core.errors import CancelledError
    from core.synthetic.writer import parse_size_spec

    try:
        size = parse_size_spec(args.size)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    workdir = args.keep if args.keep is not None else Path(tempfile.mkdtemp(prefix="panoptic-demo-"))
    stages = _StageBars()
    cancel = threading.Event()
    # train's handler: the first Ctrl-C sets ``cancel``, a second one raises KeyboardInterrupt.
    previous = _install_sigint(cancel, lambda _text: print("\nstopping the demo after the current step "
                                                           "(Ctrl-C again to abort)", file=sys.stderr, flush=True))
    start = time.monotonic()
    try:
        result = run_demo(workdir, minutes=args.minutes, n_train=args.photos, n_val=args.held_out, size=size,
                          seed=args.seed, threads=args.threads, threshold=args.threshold,
                          progress=stages.progress, say=stages.say, cancel=cancel)
    except CancelledError as e:
        stages.close()
        where = f"what was made so far is in {workdir}" if args.keep is not None else \
            "nothing was kept (--keep DIR keeps the files)"
        print(f"cancelled: {e.reason}; {where}", file=sys.stderr)
        return EXIT_CANCELLED
    except ValueError as e:  # a count, budget or threshold out of range: said before any work
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        stages.close()
        import signal

        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    for line in result.lines():
        print(line)
    if args.keep is None:
        print(f"(the temporary folder {workdir} was deleted; --keep DIR keeps it)")
    else:
        print(f"look at the predictions in the application: python main.py {result.project_path}")
    print(f"demo finished in {time.monotonic() - start:.1f} s")
    return 0


class _StageBars:
    """One progress bar per stage: ``say`` starts a stage (its line is printed), ``progress``
    draws that stage's bar (created on its first report)."""

    def __init__(self) -> None:
        self._bar: ProgressBar | None = None
        self._label = ""
        self._total = 0

    def say(self, text: str) -> None:
        self.close()
        self._label = text.split(":", 1)[0]
        print(text, file=sys.stderr, flush=True)

    def progress(self, done: int, total: int, message: str = "") -> None:
        from core.commands.progress import ProgressBar

        if self._bar is not None and total != self._total:  # a new count within the stage (photos, then seconds)
            self.close()
        if self._bar is None:
            self._bar, self._total = ProgressBar(f"  {self._label}"), total
        self._bar(done, total, message)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
