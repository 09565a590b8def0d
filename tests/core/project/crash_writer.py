"""Helper process of the crash test (not a test module): a fork server that saves annotations.

It imports everything once, then for each line ``go <project> <log>`` read on stdin forks a
child that opens the project and saves annotations in a loop, appending ``<image id> <revision>``
to the log file right after each save returned. The server prints the child's pid, waits for it
to die (the test kills it with SIGKILL), and prints ``dead``. Forking keeps 50+ kills fast: no
child pays Python's start-up and imports.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402 - after sys.path: run as a script

from core.idpng import encode_ids  # noqa: E402 - after sys.path: run as a script
from core.panoptic import PanopticAnnotation, Segment  # noqa: E402 - after sys.path: run as a script
from core.project import Project  # noqa: E402 - after sys.path: run as a script

H, W = 240, 320


def expected(image_id: int, revision: int) -> PanopticAnnotation:
    """The annotation the writer saves as ``revision`` of ``image_id`` (the test rebuilds it)."""
    rng = np.random.default_rng(image_id * 100_003 + revision)
    id_map = np.full((H, W), 1, np.int32)
    segs = {1: Segment(1, 4)}
    for k in range(2 + revision % 7):
        seg_id = 2 + k * 999
        y, x = int(rng.integers(0, H - 30)), int(rng.integers(0, W - 40))
        id_map[y:y + int(rng.integers(3, 30)), x:x + int(rng.integers(3, 40))] = seg_id
        segs[seg_id] = Segment(seg_id, 1 + k % 3, score=float(revision % 100) / 100)
    # Noise on a band, so each PNG is tens of kB and a save spends real time writing pages.
    band = rng.integers(0, 2, (40, W)).astype(bool)
    id_map[H - 40:][band] = 0
    return PanopticAnnotation(id_map, segs).pruned()


def child(project_path: str, log_path: str) -> None:
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    project = Project.open(project_path)
    assert not project.read_only, project.read_only_reason
    ids = project.images.ids()
    n = 0
    while True:
        image_id = ids[n % len(ids)]
        revision = project.annotations.revision(image_id) + 1
        got = project.annotations.save(image_id, expected(image_id, revision))
        assert got == revision
        os.write(log_fd, f"{image_id} {revision}\n".encode())  # only after the save returned
        n += 1


def main() -> None:
    encode_ids(expected(1, 1).id_map)  # import and warm up cv2 and numpy before forking
    for line in sys.stdin:
        cmd, project_path, log_path = line.split("\t")
        assert cmd == "go"
        pid = os.fork()
        if pid == 0:
            try:
                child(project_path, log_path.strip())
            finally:
                os._exit(1)
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"dead {status}", flush=True)


if __name__ == "__main__":
    main()
