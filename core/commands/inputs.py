"""The inputs of a command, for the checks that keep its output away from them
(``core.safety.check_no_overlap``)."""
from __future__ import annotations

from pathlib import Path


def project_inputs(path: Path) -> list[Path]:
    """A project's file, an ``images/`` folder beside it, and the folders of its photos: an output
    folder may be none of these, contain none, and lie inside none."""
    from core.project import Project

    if not path.exists():
        return [path]
    with Project.open(path, read_only=True) as project:
        folders = {img.path.parent for img in project.images.list()}
    return [path, path.parent / "images", *sorted(folders)]


def dataset_inputs(json_path: Path, images: Path | None = None) -> list[Path | None]:
    """A COCO panoptic JSON, its PNG folder (the JSON's path without ``.json``) and a photo folder."""
    return [json_path, json_path.with_suffix(""), images]
