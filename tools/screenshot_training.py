"""Screenshots of training from the window for the README (docs/images/gui_train_*.png).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_training.py [--out docs/images]
        [--seconds 150] [--budget-minutes 5]

Builds the sample project in a temporary folder, opens the train dialog (the device and the
epoch time are measured for real), grabs it, then trains the small CPU model at a small size for
``--seconds`` (a real run in its child process), grabs the window with the live charts, cancels
(a resumable checkpoint) and grabs the models panel. ``--budget-minutes`` gives the run the
dialog's time budget instead of its epochs (the panel then counts the budget down). Nothing
outside the temporary folder is touched (``tools.shots``: a fresh user's settings).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import shots


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shots.add_arguments(ap)
    ap.add_argument("--seconds", type=float, default=100.0, help="how long the shown run trains")
    ap.add_argument("--epochs", type=int, default=400, help="epochs of the shown run")
    ap.add_argument("--budget-minutes", type=int, default=0, help="a run that lasts this time budget (0: epochs)")
    args = ap.parse_args(argv)

    from PySide6.QtCore import Qt

    tmp = shots.fresh_user("pi-train-shots-")
    app = shots.make_app()
    path = shots.sample_project(tmp)
    w = shots.open_window(app, path, shots.window_size(args.size))

    def spin(seconds: float = 0.0, until=None, timeout: float = 60.0) -> bool:
        return shots.spin(app, seconds, until, timeout)

    def shot(name: str, widget=None) -> None:
        spin(0.3)
        shots.save(widget or w, args.out / f"gui_{name}.png")

    tr = w.training
    # 1. the dialog, with the speed measured on this machine (one CPU thread: two threads that
    #    wait for each other were many times slower on the shared development machine)
    dialog = tr.open_train_dialog()
    dialog.threads.setValue(1)
    ok = spin(until=lambda: "per epoch" in dialog.estimate_label.text(), timeout=180)
    print("estimate:", dialog.device_label.text(), "|", dialog.estimate_label.text(), "measured" if ok else "TIMEOUT")
    dialog.adjustSize()
    shot("train_dialog", dialog)

    # 2. a run of the fast CPU recipe, long enough for the charts to tell something
    dialog.preset.setCurrentIndex(max(dialog.preset.findData("cpu_fast"), 0))
    dialog.threads.setValue(1)
    dialog.epochs.setValue(args.epochs)
    dialog.budget.setValue(args.budget_minutes)
    dialog.start_button.click()
    c = tr.controller
    spin(until=lambda: any(r.kind == "eval" for r in c.records), timeout=args.seconds + 120)
    spin(args.seconds)

    def training_step_shown() -> bool:
        # between epochs the bar shows the evaluation's "read 1 of 1 validation photos" (full): grab
        # while it shows the training steps, as most of a run does
        tr.panel.flush()
        return tr.panel.progress.format().startswith("epoch")

    if not spin(until=training_step_shown, timeout=60):
        print("WARNING: the progress bar showed no training step for 60 s:", tr.panel.progress.format(), flush=True)
    w.resizeDocks([tr.training_dock], [430], Qt.Orientation.Vertical)
    shot("training")

    # 3. cancel: a resumable checkpoint; the models panel lists the run
    c.cancel()
    spin(until=lambda: c.state == "idle", timeout=60)
    tr.show_dock(tr.models_dock)
    tr.models_panel.table.selectRow(0)
    w.resize(1100, 760)  # the panel at a size where its columns sit together
    spin(0.5)
    shot("models", tr.models_dock)
    w.close()
    spin(until=lambda: not w.isVisible(), timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
