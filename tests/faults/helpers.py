"""Helpers of the fault tests: a snapshot of a folder's files, a small dataset on disk."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.datasets import defect_mask


def snapshot(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``root`` (what a command must not touch)."""
    out = {}
    for p in sorted(root.rglob("*")):
        # SQLite's own side files of a project opened read-only are not content
        if p.is_file() and not p.is_symlink() and not p.name.endswith(("-shm", "-wal")):
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


class Dataset:
    """``root/photos/*.jpg`` + ``root/masks/*.png`` (class-index masks), made on demand."""

    def __init__(self, root: Path, n: int = 3, seed: int = 0):
        self.root = root
        self.photos = root / "photos"
        self.masks = root / "masks"
        self.photos.mkdir(parents=True, exist_ok=True)
        self.masks.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(self.photos / f"p{i}.jpg")
            mask = defect_mask()
            if i % 2:
                mask = mask[:, ::-1].copy()
            Image.fromarray(mask).save(self.masks / f"p{i}.png")

    def import_args(self, *dest: str) -> list[str]:
        return ["import", "masks", str(self.photos), "--masks", str(self.masks), *dest]


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
