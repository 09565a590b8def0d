"""Killing the application (SIGKILL) a moment after edits loses nothing that is older than the
autosave delay plus one save: the project holds the edits and opens cleanly."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.project import Project

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")]
ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, {root!r})
from gui.shell.app import create_app
app = create_app([])
from PySide6.QtCore import QSettings
from gui.shell.settings import Preferences
from gui.shell.main_window import MainWindow

w = MainWindow(Preferences(QSettings({ini!r}, QSettings.Format.IniFormat)), show_error_dialogs=False)
w.show()

def edit(doc):
    for k in range(3):  # three strokes: three undo steps, all autosaved
        stroke = doc.editor.begin_stroke(doc.editor.paint_target(1), 4)
        stroke.move_to(10.5 + 20 * k, 50.5)
        stroke.move_to(15.5 + 20 * k, 58.5)
        doc.push(stroke.finish())
    print("EDITED", doc.revision, flush=True)

w.photo.documentReady.connect(edit)
w.project_actions.open_path({project!r})
app.exec()
"""


@pytest.mark.slow
def test_sigkill_after_edits_keeps_them_in_the_project(make_project, tmp_path):
    path = make_project(1, annotated=1)
    code = CHILD.format(root=str(ROOT), ini=str(tmp_path / "prefs.ini"), project=str(path))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT)
    try:
        deadline = time.time() + 60
        line = ""
        while time.time() < deadline:
            line = child.stdout.readline()
            if line.startswith("EDITED") or child.poll() is not None:
                break
        assert line.startswith("EDITED"), child.stderr.read()
        time.sleep(2.5)  # "at most the last couple of seconds" (0.8 s delay + one save)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    with Project.open(path) as project:
        rec = project.images.list()[0]
        ann = project.annotations.load(rec.id)
        cracks = [s.id for s in ann.segments.values() if s.category_id == 1]
        assert len(cracks) == 4  # the original crack and the three strokes
        for k in range(3):
            assert ann.id_map[50, 10 + 20 * k] in cracks and ann.id_map[58, 15 + 20 * k] in cracks
        ann.validate(project.categories.get())
        assert rec.status == "in_progress"
