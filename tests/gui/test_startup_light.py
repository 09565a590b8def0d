"""Start-up stays light: the window opens a project (and its model list, the active model, the
panels) without importing torch; torch comes when a model is used."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import sys, time
from pathlib import Path
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication(["x"])
from core.project import Project
from tests.support.gui import write_photos
tmp = Path(sys.argv[1])
files = write_photos(tmp / "photos", 2, 96, 64)
with Project.create(tmp / "p.pinspect") as project:
    project.images.add_files(files)
    project.models.add("a model", checkpoint=None, config={}, categories=project.categories.get())
from gui.shell.settings import Preferences
from gui.shell.main_window import MainWindow
w = MainWindow(Preferences(QSettings(str(tmp / "prefs.ini"), QSettings.Format.IniFormat)), show_error_dialogs=False)
w.show()
w.project_actions.open_path(tmp / "p.pinspect")
end = time.monotonic() + 3
while time.monotonic() < end and w.photo.record is None:
    app.processEvents()
    time.sleep(0.02)
for _ in range(50):
    app.processEvents()
    time.sleep(0.01)
print("opened" if w.session.project is not None else "not opened", "torch" in sys.modules)
w.session.close()
"""


@pytest.mark.slow
def test_opening_a_project_in_the_window_does_not_import_torch(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["opened", "False"], out.stdout + out.stderr[-2000:]
