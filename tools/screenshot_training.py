"""Screenshots of training from the window for the README (docs/images/gui_train_*.png).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_training.py [--out docs/images]
        [--seconds 150]

Builds the sample project in a temporary folder, opens the train dialog (the device and the
epoch time are measured for real), grabs it, then trains the small CPU model at a small size for
``--seconds`` (a real run in its child process), grabs the window with the live charts, cancels
(a resumable checkpoint) and grabs the models panel. Nothing outside the temporary folder is
touched (preferences go to a temporary INI file).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def spin(app, seconds: float = 0.0, until=None, timeout: float = 60.0) -> bool:
    end = time.perf_counter() + (timeout if until else seconds)
    ok = until is None
    while time.perf_counter() < end:
        app.processEvents()
        if until is not None and until():
            ok = True
            break
        time.sleep(0.01)
    for _ in range(5):
        app.processEvents()
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--size", default="1600x1000")
    ap.add_argument("--seconds", type=float, default=100.0, help="how long the shown run trains")
    ap.add_argument("--epochs", type=int, default=400, help="epochs of the shown run")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings, Qt

    from core.synthetic.sample import build_sample_project
    from gui.app import create_app
    from gui.main_window import MainWindow
    from gui.settings import Preferences
    from gui.theme import LIGHT, apply_theme

    app = create_app([])
    apply_theme(app, LIGHT)
    tmp = Path(tempfile.mkdtemp(prefix="pi-train-shots-"))
    path = build_sample_project(tmp / "Sample bridge inspection.pinspect")
    prefs = Preferences(QSettings(str(tmp / "prefs.ini"), QSettings.Format.IniFormat))
    w = MainWindow(prefs, show_error_dialogs=False)
    w.resize(width, height)
    w.show()
    w.project_actions.open_path(path)
    spin(app, until=lambda: w.photo.document is not None and w.view.photo_item.full_resolution)

    def shot(name: str, widget=None) -> None:
        spin(app, 0.3)
        target = args.out / f"gui_{name}.png"
        (widget or w).grab().save(str(target))
        print("wrote", target, flush=True)

    tr = w.training
    # 1. the dialog, with the speed measured on this machine (one CPU thread: two threads that
    #    wait for each other were many times slower on the shared development machine)
    dialog = tr.open_train_dialog()
    dialog.threads.setValue(1)
    ok = spin(app, until=lambda: "per epoch" in dialog.estimate_label.text(), timeout=180)
    print("estimate:", dialog.device_label.text(), "|", dialog.estimate_label.text(), "measured" if ok else "TIMEOUT")
    dialog.adjustSize()
    shot("train_dialog", dialog)

    # 2. a run of the fast CPU recipe, long enough for the charts to tell something
    dialog.preset.setCurrentIndex(max(dialog.preset.findData("cpu_fast"), 0))
    dialog.threads.setValue(1)
    dialog.epochs.setValue(args.epochs)
    dialog.start_button.click()
    c = tr.controller
    spin(app, until=lambda: any(r.kind == "eval" for r in c.records), timeout=args.seconds + 120)
    spin(app, args.seconds)
    tr.panel.flush()
    w.resizeDocks([tr.training_dock], [430], Qt.Orientation.Vertical)
    shot("training")

    # 3. cancel: a resumable checkpoint; the models panel lists the run
    c.cancel()
    spin(app, until=lambda: c.state == "idle", timeout=60)
    tr.show_dock(tr.models_dock)
    tr.models_panel.table.selectRow(0)
    w.resize(1100, 760)  # the panel at a size where its columns sit together
    spin(app, 0.5)
    shot("models", tr.models_dock)
    w.close()
    spin(app, until=lambda: not w.isVisible(), timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
