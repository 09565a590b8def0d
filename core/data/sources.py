"""Where training photos and their panoptic annotations come from.

A ``DataSource`` is a category set plus a tuple of ``TrainSample`` items; each item names a photo
and carries a small picklable callable that loads its ``PanopticAnnotation`` (so DataLoader
workers, spawned DDP processes included, can load it). Adapters for a COCO panoptic folder live
here; a project adapter is a few lines (see ``core/data/project_source.py``).
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Callable, Sequence

from core.categories import CategorySet
from core.errors import DatasetError
from core.formats.coco_panoptic_io import load_coco_panoptic_json
from core.idpng import read_ids
from core.imageio import is_image_file
from core.panoptic import PanopticAnnotation

log = logging.getLogger(__name__)

AnnotationLoader = Callable[[], PanopticAnnotation]


@dataclass(frozen=True)
class TrainSample:
    """One photo of a training or validation set.

    Attributes:
        key: a stable name for messages and splits (file name or record id).
        image_path: the photo; read through ``core.imageio.load_image`` (EXIF-upright).
        load_annotation: picklable callable returning the ``PanopticAnnotation`` in the upright
            frame of the photo (same height and width).
    """

    key: str
    image_path: Path
    load_annotation: AnnotationLoader


@dataclass(frozen=True)
class DataSource:
    """Categories plus samples. ``skipped`` lists ``"key: reason"`` for items left out on load."""

    categories: CategorySet
    samples: tuple[TrainSample, ...]
    name: str = ""
    skipped: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.samples)

    def subset(self, indices: Sequence[int], name: str | None = None) -> DataSource:
        return replace(self, samples=tuple(self.samples[i] for i in indices), name=name or self.name,
                       skipped=())


@dataclass(frozen=True)
class CocoPanopticLoader:
    """Loads one COCO panoptic annotation (PNG + its ``segments_info``), validated."""

    png_path: Path
    segments_info: tuple[dict, ...]
    image_id: object
    categories: CategorySet

    def __call__(self) -> PanopticAnnotation:
        id_map = read_ids(self.png_path)
        ann = PanopticAnnotation.from_coco(id_map, self.segments_info, path=self.png_path)
        ann.validate(self.categories, self.image_id)
        return ann


def _find_json(path: Path) -> Path:
    if not path.exists():
        what = "project file" if path.suffix.lower() == ".pinspect" else "file or folder"
        raise DatasetError(f"no such {what}", path, hint="check the path")
    if path.is_file():
        return path
    if path.is_dir():
        candidates = sorted(p for p in path.glob("*.json") if "panoptic" in p.name.lower()) or \
            sorted(path.glob("*.json")) or sorted(path.glob("annotations/*panoptic*.json"))
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise DatasetError(f"several JSON files could be the COCO panoptic file: "
                               f"{[c.name for c in candidates]}", path, hint="give the JSON file itself")
    raise DatasetError("no COCO panoptic JSON found", path, hint="give the JSON file or its folder")


def _photo_folders(json_path: Path, image_dir: Path | None) -> list[Path]:
    if image_dir is not None:
        return [Path(image_dir)]
    stem = json_path.stem
    plain = stem.replace("panoptic_", "")  # COCO layout: annotations/panoptic_val2017.json + val2017/
    out = [json_path.parent / "images", json_path.parent, json_path.parent / plain,
           json_path.parent.parent / plain, json_path.parent.parent / "images"]
    return list(dict.fromkeys(out))


def coco_panoptic_source(path: str | Path, image_dir: str | Path | None = None,
                         png_dir: str | Path | None = None) -> DataSource:
    """A ``DataSource`` over a COCO panoptic dataset.

    Args:
        path: the JSON file, or a folder holding exactly one (``*panoptic*.json`` preferred).
        image_dir: folder of the photos; default: the first of ``images/`` beside the JSON, the
            JSON's folder, ``<stem without panoptic_>/`` beside it or one level up, that holds the
            first photo.
        png_dir: folder of the id PNGs; default: the folder beside the JSON named like it.
    Photos that are missing are left out and listed in ``skipped`` (a warning is logged); no
    photo found at all raises ``DatasetError`` naming the folders tried.
    """
    json_path = _find_json(Path(path))
    data, categories = load_coco_panoptic_json(json_path)
    png_root = Path(png_dir) if png_dir is not None else json_path.with_suffix("")
    images = {}
    for img in data["images"]:
        if not isinstance(img, dict) or "id" not in img or "file_name" not in img:
            raise DatasetError(f"an images entry lacks 'id' or 'file_name': {img!r}"[:200], json_path)
        images[img["id"]] = img
    anns = data["annotations"]
    folders = _photo_folders(json_path, Path(image_dir) if image_dir is not None else None)
    photo_dir = None
    for ann in anns:  # the first folder that holds any annotated photo
        img = images.get(ann.get("image_id")) if isinstance(ann, dict) else None
        if img is None:
            continue
        photo_dir = next((f for f in folders if (f / img["file_name"]).is_file()), None)
        if photo_dir is not None:
            break
    if photo_dir is None and anns:
        raise DatasetError("none of the photos of the dataset was found",
                           json_path, hint=f"looked in {[str(f) for f in folders]}; give the photo folder")
    samples, skipped = [], []
    for ann in anns:
        for key in ("image_id", "file_name", "segments_info"):
            if not isinstance(ann, dict) or key not in ann:
                raise DatasetError(f"an annotations entry is missing the key {key!r}", json_path)
        img = images.get(ann["image_id"])
        if img is None:
            raise DatasetError(f"annotation refers to image_id {ann['image_id']}, which is not in images",
                               json_path)
        photo = photo_dir / img["file_name"]
        if not photo.is_file() or not is_image_file(photo):
            skipped.append(f"{img['file_name']}: photo not found in {photo_dir}")
            continue
        loader = CocoPanopticLoader(png_root / ann["file_name"], tuple(ann["segments_info"]),
                                    ann["image_id"], categories)
        samples.append(TrainSample(str(img["file_name"]), photo, loader))
    if skipped:
        log.warning("%s: %d photos not found and left out, e.g. %s", json_path, len(skipped), skipped[0])
    return DataSource(categories, tuple(samples), json_path.stem, tuple(skipped))


def split_source(source: DataSource, val_fraction: float, seed: int = 0) -> tuple[DataSource, DataSource]:
    """Deterministic train/validation split by sample key (the same keys always land together).

    With ``val_fraction`` > 0 and at least two samples, validation gets at least one sample.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in [0, 1), got {val_fraction}")
    order = sorted(range(len(source)), key=lambda i: source.samples[i].key)
    random.Random(seed).shuffle(order)
    n_val = int(round(len(order) * val_fraction))
    if val_fraction > 0 and len(order) >= 2:
        n_val = min(max(n_val, 1), len(order) - 1)
    val_idx, train_idx = sorted(order[:n_val]), sorted(order[n_val:])
    return source.subset(train_idx, f"{source.name}/train"), source.subset(val_idx, f"{source.name}/val")


def is_project_file(path: Path) -> bool:
    """A project file (by extension or SQLite header), not a COCO dataset."""
    if not path.is_file():
        return False
    if path.suffix.lower() == ".pinspect":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def open_sources(path: str | Path, image_dir: str | Path | None = None) -> tuple[DataSource, DataSource | None]:
    """``(training, validation or None)`` for whatever ``path`` is: a project file (its ``val``
    split validates), or a COCO panoptic JSON or folder (no validation part)."""
    path = Path(path)
    if is_project_file(path):
        from core.data.project_source import project_sources

        return project_sources(path)
    return coco_panoptic_source(path, image_dir), None


def open_source(path: str | Path, image_dir: str | Path | None = None) -> DataSource:
    """One ``DataSource`` for ``path``: a project file (all usable photos) or a COCO panoptic dataset."""
    path = Path(path)
    if is_project_file(path):
        from core.data.project_source import project_source

        return project_source(path)
    return coco_panoptic_source(path, image_dir)
