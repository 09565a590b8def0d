"""Crash safety: a writer killed with SIGKILL at random moments never loses a returned save."""
import importlib.util
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.project import Project

from tests.support.project import same_annotation

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
KILLS = 50


def _writer_module():
    spec = importlib.util.spec_from_file_location("project_crash_writer", HERE / "crash_writer.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL (POSIX)")
def test_sigkill_during_annotation_saves_never_loses_a_returned_save(tmp_path, photos):
    cw = _writer_module()
    path = tmp_path / "Kill Test ü.pinspect"
    with Project.create(path) as p:
        ids = [r.id for r in p.images.add_files(photos(3, size=(cw.H, cw.W))).added]
    server = subprocess.Popen([sys.executable, str(HERE / "crash_writer.py")], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    rng = random.Random(20240601)
    last = {i: 0 for i in ids}  # newest revision known to be committed, per image
    returned_total = in_flight_committed = 0
    start = time.monotonic()
    try:
        for round_ in range(KILLS):
            log = tmp_path / f"saves_{round_}.log"
            server.stdin.write(f"go\t{path}\t{log}\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            if round_ % 5 == 0:
                # Some kills while the project is being opened (lock, checks, WAL recovery) ...
                time.sleep(rng.uniform(0.0, 0.03))
            else:
                # ... most once saving is under way, at a random point of the save loop.
                deadline = time.monotonic() + 10
                while not (log.exists() and log.stat().st_size) and time.monotonic() < deadline:
                    time.sleep(0.001)
                time.sleep(rng.uniform(0.0, 0.05))
            os.kill(pid, signal.SIGKILL)
            status = int(server.stdout.readline().split()[1])
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, \
                f"round {round_}: the writer died by itself (status {status}); see its stderr"
            returned = {}
            for line in (log.read_text().splitlines() if log.exists() else []):
                image_id, revision = map(int, line.split())
                returned[image_id] = revision
                returned_total += 1
            with Project.open(path) as p:
                assert not p.read_only, p.read_only_reason
                assert p.integrity_check() == ["ok"]
                for image_id in ids:
                    floor = max(last[image_id], returned.get(image_id, 0))
                    stored = p.annotations.revision(image_id)
                    assert floor <= stored <= floor + 1, \
                        f"round {round_}, image {image_id}: stored revision {stored}, last returned {floor}"
                    in_flight_committed += stored == floor + 1
                    if stored:
                        assert same_annotation(p.annotations.load(image_id), cw.expected(image_id, stored))
                    last[image_id] = stored
            # No temporary or journal file is left to confuse the next start.
            leftovers = sorted(x.name for x in tmp_path.iterdir() if x.name.startswith(path.name[:4]))
            assert leftovers == [path.name], leftovers
    finally:
        server.stdin.close()
        server.kill()
        server.wait()
    elapsed = time.monotonic() - start
    # The kills landed in the save loop, not only during start-up: many saves returned overall.
    assert returned_total >= KILLS, returned_total
    print(f"{KILLS} kills, {returned_total} saves returned, {in_flight_committed} in-flight saves found "
          f"committed, {elapsed:.1f} s")
    assert elapsed < 60, f"the crash test took {elapsed:.0f} s"
