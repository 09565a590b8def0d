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


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_an_export_killed_midway_leaves_nothing_complete_and_the_next_run_cleans_up(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "data"), "--n", "120", "--size", "96"]) == 0
    source = tmp_path / "data" / "panoptic.json"
    dest = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "export", str(source), "--format", "semantic",
                             "--out", str(dest)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    partial = []
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        partial = [p for p in tmp_path.iterdir() if p.name.startswith("out.partial-")]
        if partial and any(partial[0].rglob("*.png")):   # well into writing
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        pytest.skip("the export finished before it could be killed")
    assert not dest.exists()                      # nothing that looks like a finished export
    assert partial and partial[0].is_dir()        # the working folder, plainly unfinished
    capsys.readouterr()
    assert main(["export", str(source), "--format", "semantic", "--out", str(dest)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out"]   # the leftover is gone
    assert (dest / "classes.json").is_file()
