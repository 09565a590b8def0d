"""The probe's harness: a case's small world of inputs, running ``main.py`` as a user would,
judging what the user sees, and the list of cases (``tests/faults/probe.py`` runs them)."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable


ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.faults.helpers import Dataset  # noqa: E402 - after sys.path: run as a script

TIMEOUT_S = 120


@dataclass
class Outcome:
    code: int | None
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(*args, cwd: Path | None = None, timeout: float = TIMEOUT_S) -> Outcome:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
    start = time.monotonic()
    try:
        p = subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True,
                           text=True, timeout=timeout, cwd=cwd or ROOT, env=env)
        return Outcome(p.returncode, p.stdout, p.stderr, time.monotonic() - start)
    except subprocess.TimeoutExpired as e:
        return Outcome(None, str(e.stdout or ""), str(e.stderr or ""), time.monotonic() - start)


def png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


class World:
    """A temporary folder with a dataset (``ds``) and, on demand, a project and a checkpoint."""

    def __init__(self, root: Path):
        self.root = root
        self.ds = Dataset(root / "ds")
        self._project: Path | None = None

    @property
    def project(self) -> Path:
        if self._project is None:
            path = self.ds.root / "proj.pinspect"
            o = run_cli(*self.ds.import_args("--project", path))
            assert o.code == 0, o.text
            self._project = path
        return self._project

    def ensure_project(self) -> Path:
        """Build the project now (before a snapshot is taken)."""
        return self.project

    def checkpoint(self, nan: bool = False) -> Path:
        import torch

        from core.model import save_checkpoint
        from tests.support.models import TINY, tiny_model

        torch.set_num_threads(1)
        model, categories = tiny_model()
        if nan:
            with torch.no_grad():
                model.detr.class_embed.bias[0] = float("nan")
        path = self.root / ("nan.pt" if nan else "tiny.pt")
        save_checkpoint(path, model, TINY, categories, {"training": {"train_config": {"eval_size": 96}}})
        return path

    def coco(self, images, annotations, categories=None, name="c.json") -> Path:
        data = {"images": images, "annotations": annotations,
                "categories": categories if categories is not None else [{"id": 1, "name": "crack"}]}
        path = self.root / name
        path.write_text(json.dumps(data))
        return path


# --- judging ---------------------------------------------------------------------------------------
def no_traceback(o: Outcome) -> str | None:
    if o.code is None:
        return f"hung (> {TIMEOUT_S} s)"
    if "Traceback (most recent call last)" in o.text:
        return "raw traceback"
    return None


def fails_cleanly(o: Outcome, *words: str) -> str | None:
    bad = no_traceback(o)
    if bad:
        return bad
    if o.code == 0:
        return "exit code 0 where it must fail"
    lines = [ln for ln in o.err.splitlines() if ln.startswith("error:")]
    if o.code == 1 and not lines and not any(w in o.text for w in words):
        return "non-zero exit without an error line"
    missing = [w for w in words if w.lower() not in o.text.lower()]
    return f"message lacks {missing}: {o.err.strip()[-300:] or o.out.strip()[-300:]}" if missing else None


def succeeds(o: Outcome, *words: str) -> str | None:
    bad = no_traceback(o)
    if bad:
        return bad
    if o.code != 0:
        return f"exit code {o.code}: {o.err.strip()[-300:]}"
    missing = [w for w in words if w.lower() not in o.text.lower()]
    return f"output lacks {missing}" if missing else None


CASES: list[tuple[str, Callable[[World], str | None]]] = []


def case(fn: Callable[[World], str | None]):
    CASES.append((fn.__name__, fn))
    return fn


