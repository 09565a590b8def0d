"""The process survives any number of Qt calls, whatever PySide6's reference counting of None."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CODE = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, {root!r})
import gui  # applies gui.shell.qt_guard when needed
from PySide6.QtCore import QObject
o = QObject()
for _ in range(300_000):  # far more void calls than None has references after start-up (~15,000)
    o.setObjectName("x")
print("alive")
"""


def test_three_hundred_thousand_void_qt_calls_do_not_abort_the_process():
    out = subprocess.run([sys.executable, "-c", CODE.format(root=str(ROOT))], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "alive" in out.stdout, out.stderr[-2000:]


def test_the_guard_is_applied_exactly_when_pyside_drops_references():
    import gui.shell.qt_guard as guard

    leaking = guard.leaks_none()
    assert guard.protect_none() == (leaking and sys.version_info < (3, 12))
