"""Finding a dataset's files: file-name keys and the folder that holds a COCO file's photos."""
from __future__ import annotations

import unicodedata
from pathlib import Path


def norm_key(text: str) -> str:
    """File-name key for matching: '/' separators and Unicode NFC (macOS stores names decomposed)."""
    return unicodedata.normalize("NFC", text.replace("\\", "/"))


def guess_images_dir(json_path: Path, file_names: list[str], split: str = "") -> Path:
    """The folder holding a COCO file's photos when none is given.

    Tries, in order: ``<json dir>/<split>``, ``<json dir>/images``, ``<json dir>``,
    ``<json dir>/../images`` (CVAT's layout) and ``<json dir>/..``; the first one holding the first
    listed photo wins (the JSON's folder when none does, so the problems name real paths).
    """
    base = json_path.parent
    candidates = ([base / split] if split else []) + [base / "images", base, base.parent / "images", base.parent]
    probe = [n for n in file_names[:1] if n]
    for folder in candidates:
        if probe and (folder / norm_key(probe[0])).is_file():
            return folder
    return base
