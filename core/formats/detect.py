"""What kind of dataset a path holds: photos, folders of photos, datasets, or unsupported files.

The window sorts what is dropped on it with ``classify``; ``main.py import auto`` finds the format
of its source with ``detect_dataset``. Sorting looks at names and, for ``.json`` files, at their
top-level keys (a COCO file has ``images`` and ``annotations``; a panoptic one has
``segments_info`` in its annotations; a labelme file has ``shapes``). A folder is a dataset when
it holds such a JSON at its top level, or a ``masks``/``labels`` folder beside the photos;
otherwise it is a folder of photos.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core.imageio import is_image_file

COCO_PANOPTIC, COCO_INSTANCES, LABELME, MASK_FOLDER = "coco-panoptic", "coco-instances", "labelme", "mask-folder"
DATASET_NAMES = {COCO_PANOPTIC: "COCO panoptic", COCO_INSTANCES: "COCO instances", LABELME: "labelme",
                 MASK_FOLDER: "photos with mask images"}
MASK_DIR_NAMES = ("masks", "mask", "labels", "label", "annotations", "gt", "groundtruth", "ground_truth")
_PEEK_BYTES = 4 << 20  # enough to see the top-level keys of any JSON we care about


@dataclass(frozen=True)
class DroppedDataset:
    kind: str          # one of DATASET_NAMES
    path: Path         # the JSON file, or the folder
    masks: Path | None = None  # mask folders: where the masks are


@dataclass
class DropContents:
    photos: list[Path] = field(default_factory=list)        # files and folders of photos
    datasets: list[DroppedDataset] = field(default_factory=list)
    unsupported: list[Path] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.photos or self.datasets or self.unsupported)


def json_kind(path: Path) -> str | None:
    """COCO_PANOPTIC, COCO_INSTANCES, LABELME or None for a JSON file."""
    try:
        with open(path, "rb") as f:
            head = f.read(_PEEK_BYTES)
        data = json.loads(head.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    if "shapes" in data and ("imagePath" in data or "imageData" in data):
        return LABELME
    if "images" in data and "annotations" in data:
        anns = data.get("annotations") or []
        if anns and isinstance(anns[0], dict) and "segments_info" in anns[0]:
            return COCO_PANOPTIC
        return COCO_INSTANCES
    return None


def folder_dataset(folder: Path) -> DroppedDataset | None:
    """A dataset found at the top of ``folder``, or None (a plain folder of photos)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return None
    jsons = sorted(p for p in entries if p.suffix.lower() == ".json" and p.is_file())
    kinds = [(json_kind(p), p) for p in jsons]
    for wanted in (COCO_PANOPTIC, COCO_INSTANCES):
        for kind, p in kinds:
            if kind == wanted:
                return DroppedDataset(kind, p)
    if any(kind == LABELME for kind, _ in kinds):
        return DroppedDataset(LABELME, folder)
    subdirs = {p.name.lower(): p for p in entries if p.is_dir()}
    for name in MASK_DIR_NAMES:
        if name in subdirs:
            ann_dir = subdirs[name]
            for kind, p in ((json_kind(j), j) for j in sorted(ann_dir.glob("*.json"))):
                if kind in (COCO_PANOPTIC, COCO_INSTANCES):
                    return DroppedDataset(kind, p)
            if any(is_image_file(p) for p in ann_dir.rglob("*")):
                return DroppedDataset(MASK_FOLDER, folder, ann_dir)
    return None


#: Detected kind -> the ``main.py import`` format that reads it.
IMPORT_FORMATS = {COCO_PANOPTIC: "coco-panoptic", COCO_INSTANCES: "coco", LABELME: "labelme", MASK_FOLDER: "masks"}


def detect_dataset(path: Path) -> DroppedDataset | None:
    """The dataset at ``path`` (a JSON file or a folder), or None when it holds none we read."""
    path = Path(path)
    if path.is_dir():
        return folder_dataset(path)
    kind = json_kind(path) if path.is_file() and path.suffix.lower() == ".json" else None
    return None if kind is None else DroppedDataset(kind, path)


def classify(paths: list[Path]) -> DropContents:
    """Sort dropped paths into photos (files and plain folders), datasets and unsupported files."""
    out = DropContents()
    for p in paths:
        p = Path(p)
        ds = detect_dataset(p)
        if ds is not None:
            out.datasets.append(ds)
        elif p.is_dir() or (p.is_file() and is_image_file(p)):
            out.photos.append(p)
        else:
            out.unsupported.append(p)
    return out
