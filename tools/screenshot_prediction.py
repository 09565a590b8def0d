"""Regenerate the README's prediction, evaluation and export screenshots (docs/images/).

    HI=65 xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshot_prediction.py docs/images 0 0 \\
        --fill --eval --export

Builds the sample project in /tmp, registers an untrained demo model (random weights, from the
inference tests), predicts one unlabeled photo through the Prediction panel, grabs the window at
confidence 0.40 and HI/100, then runs the evaluation dialog (two validation photos annotated by
accepting the demo model's prediction) and opens the export dialog. Arguments: output folder,
model seed, which unlabeled photo.
"""
import sys
import tempfile
import time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import torch
torch.set_num_threads(1)
from PySide6.QtCore import QSettings
from PySide6.QtTest import QTest

OUT = Path(sys.argv[1]); OUT.mkdir(parents=True, exist_ok=True)
work = Path(tempfile.mkdtemp(prefix="shoot_prediction_")); 

from gui.app import create_app
app = create_app(["x"])
from core.synthetic.sample import build_sample_project
from core.project import Project
from core.model import save_checkpoint
from tests.core.inference.conftest import tiny_model, TINY
proj_path = build_sample_project(work / "bridge.pinspect")
model, cats = tiny_model(seed=int(sys.argv[2]) if len(sys.argv) > 2 else 0)
ckpt = work / "detector.pt"
save_checkpoint(ckpt, model, TINY, cats, {"training": {"train_config": {"eval_size": int(__import__("os").environ.get("EVAL", "96"))}}})
with Project.open(proj_path) as p:
    p.models.add("detector (untrained demo)", checkpoint=ckpt, config=TINY.to_dict(), categories=cats)
    recs = p.images.list()
    done = [r.id for r in recs if r.status == "done"]
    p.images.set_split(done[-3:], "val")
    if "--eval" in sys.argv:
        # Two validation photos annotated by accepting the demo model's prediction (as a user would,
        # then correcting nothing): their PQ is high, the third's (hand-made truth) is not.
        from core.inference import Predictor
        pr = Predictor.from_checkpoint(ckpt, "cpu")
        for image_id, t in zip(done[-3:-1], (0.5, 0.7)):
            p.annotations.save(image_id, pr.predict(p.images.get(image_id).path).panoptic(t))
    unl = [r.id for r in recs if r.status == "unlabeled"]

from gui.settings import Preferences
from gui.main_window import MainWindow
w = MainWindow(Preferences(QSettings(str(work / "prefs.ini"), QSettings.Format.IniFormat)))
w.resize(1600, 1000); w.show()

def shot(widget, name, scale=0.8):
    from PySide6.QtCore import Qt
    img = widget.grab()
    if scale != 1:
        img = img.scaledToWidth(int(img.width() * scale), Qt.TransformationMode.SmoothTransformation)
    img.save(str(OUT / name))

def wait(cond, timeout=60):
    t0 = time.time()
    while not cond():
        QTest.qWait(20)
        if time.time() - t0 > timeout:
            raise TimeoutError
def quiet():
    ui = w.prediction
    wait(lambda: not ui.controller.busy and not ui.live.busy and not w.runner.busy)

w.project_actions.open_path(proj_path)
wait(lambda: w.photo.document is not None)
ui = w.prediction
ui.dock.raise_()
target = unl[int(sys.argv[3]) if len(sys.argv) > 3 else 0]
w.browser.select_image(target)
wait(lambda: w.photo.document is not None and w.photo.record.id == target); quiet()
if "--fill" in sys.argv: w.actions.a["show_annotation"].trigger()
ui.slider.set_threshold(0.40)
seen = []
ui.live.rethresholded.connect(lambda t, n: seen.append((t, n)))
ui.controller.predict("current"); wait(lambda: seen); quiet(); QTest.qWait(300)
shot(w, "gui_prediction_slider_040.png"); print("low", seen[-1])
HI = int(__import__("os").environ.get("HI", "65")); ui.slider.slider.setValue(HI); wait(lambda: abs(seen[-1][0] - HI / 100) < 1e-6); quiet(); QTest.qWait(300)
shot(w, f"gui_prediction_slider_{HI:03d}.png"); print("high", seen[-1])
if "--eval" in sys.argv:
    dlg = ui.open_evaluation(); dlg.resize(760, 620)
    got = []
    dlg.evaluated.connect(got.append)
    dlg.threshold.setValue(0.5)
    dlg.run_button.click(); wait(lambda: got, 300); quiet(); QTest.qWait(200)
    dlg.grab().save(str(OUT / "gui_evaluation.png"))
    dlg.tabs.setCurrentIndex(2); QTest.qWait(200)
    dlg.grab().save(str(OUT / "gui_evaluation_photos.png"))
    print("eval", got[0].pq.all)
    dlg.close()
if "--export" in sys.argv:
    w.project_actions.export(); QTest.qWait(300)
    from gui.dialogs.export_dialog import ExportDialog
    d = [c for c in w.findChildren(ExportDialog)][-1]
    d.grab().save(str(OUT / "gui_export.png"))
w.close(); QTest.qWait(100)
