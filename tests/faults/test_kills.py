"""Killed for real (SIGKILL) in the middle of an export: nothing that looks complete is left, and
the next run removes the leftover and succeeds."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.cli import main

ROOT = Path(__file__).resolve().parents[2]

#: The command line with one change: once the export has written its first record's files into
#: its working folder, it says so in a marker file and waits there to be killed. The kill then
#: always lands mid-export, however fast the machine (a kill timed by polling could arrive after
#: the export had finished, and the test could only skip).
PAUSED_CLI = r"""
import sys, time
from pathlib import Path

import core.formats.export as export

marker = Path(sys.argv.pop(1))
register = export.StagedFiles.register


def register_then_wait(self, *args, **kwargs):
    register(self, *args, **kwargs)
    marker.write_text("the first record's files are written")
    time.sleep(600)


export.StagedFiles.register = register_then_wait
from core.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.timeout(120)
def test_an_export_killed_midway_leaves_nothing_complete_and_the_next_run_cleans_up(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "data"), "--n", "4", "--size", "64"]) == 0
    source = tmp_path / "data" / "panoptic.json"
    dest = tmp_path / "out"
    marker = tmp_path / "paused"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", PAUSED_CLI, str(marker), "export", str(source),
                             "--format", "semantic", "--out", str(dest)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert marker.exists(), f"the export never reached its first file: {proc.poll()=}"
        partial = [p for p in tmp_path.iterdir() if p.name.startswith("out.partial-")]
        assert len(partial) == 1 and any(partial[0].rglob("*.png"))  # well into writing
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()  # SIGKILL too: after a failed check, nothing is left running
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert not dest.exists()                      # nothing that looks like a finished export
    assert partial[0].is_dir()                    # the working folder, plainly unfinished
    capsys.readouterr()
    assert main(["export", str(source), "--format", "semantic", "--out", str(dest)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out", "paused"]  # the leftover is gone
    assert (dest / "classes.json").is_file()
