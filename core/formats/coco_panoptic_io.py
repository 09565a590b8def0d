"""COCO panoptic files: a JSON (``images``, ``annotations`` with ``segments_info``, ``categories``)
and a folder of id PNGs (``id = R + 256 G + 256² B``, coded by ``core.idpng``), read into and
written from ``PanopticRecord``s, each file atomically. Importing into a project and exporting one
is ``core.formats.coco_panoptic``'s job; this module only knows the files.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Iterator

from core.atomic import atomic_write_bytes, atomic_write_text
from core.categories import CategorySet
from core.errors import AnnotationError, DatasetError
from core.idpng import encode_ids, read_ids
from core.panoptic import PanopticAnnotation
from core.safety import read_regular_file


@dataclass
class PanopticRecord:
    """One image of a COCO panoptic dataset: its ``images`` entry and its annotation."""

    image_id: int
    file_name: str  # of the photo
    width: int
    height: int
    annotation: PanopticAnnotation

    @property
    def png_name(self) -> str:
        return Path(self.file_name).with_suffix(".png").name


def write_coco_panoptic(json_path: str | Path, png_dir: str | Path, records: Iterable[PanopticRecord],
                        categories: CategorySet) -> dict:
    """Write ``json_path`` and one PNG per record into ``png_dir``, each file atomically.

    The JSON is written last, so a folder without its JSON is recognisably incomplete.
    Returns the JSON dict that was written.
    """
    png_dir = Path(png_dir)
    png_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for rec in records:
        ann = rec.annotation
        if ann.shape != (rec.height, rec.width):
            raise AnnotationError(f"annotation is {ann.shape[1]}x{ann.shape[0]} but the image is "
                                  f"{rec.width}x{rec.height}", rec.file_name)
        ann.validate(categories, rec.image_id)
        atomic_write_bytes(png_dir / rec.png_name, encode_ids(ann.id_map))
        images.append({"id": int(rec.image_id), "file_name": rec.file_name, "width": int(rec.width),
                       "height": int(rec.height)})
        annotations.append({"image_id": int(rec.image_id), "file_name": rec.png_name,
                            "segments_info": ann.segments_info()})
    data = {"info": {"description": "Panoptic Inspector export"}, "licenses": [],
            "images": images, "annotations": annotations, "categories": categories.to_json()}
    atomic_write_text(json_path, json.dumps(data, ensure_ascii=False))
    return data


def _require(d: dict, key: str, where: str, path: Path) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise DatasetError(f"{where} is missing the key {key!r}", path)
    return d[key]


def load_coco_panoptic_json(json_path: str | Path) -> tuple[dict, CategorySet]:
    """Read and structurally check a COCO panoptic JSON; returns (data, categories)."""
    json_path = Path(json_path)
    try:
        data = json.loads(read_regular_file(json_path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"cannot read the JSON: {e}", json_path) from e
    for key in ("images", "annotations", "categories"):
        _require(data, key, "the file", json_path)
    categories = CategorySet.from_json(data["categories"])
    return data, categories


def iter_coco_panoptic(json_path: str | Path, png_dir: str | Path | None = None) -> Iterator[PanopticRecord]:
    """Yield one ``PanopticRecord`` per annotation of a COCO panoptic dataset.

    ``png_dir`` defaults to the folder beside the JSON named like it (panopticapi's layout).
    Raises ``DatasetError`` / ``AnnotationError`` naming the file and the record.
    """
    json_path = Path(json_path)
    data, categories = load_coco_panoptic_json(json_path)
    png_dir = Path(png_dir) if png_dir is not None else json_path.with_suffix("")
    images = {}
    for img in data["images"]:
        img_id = _require(img, "id", "an images entry", json_path)
        images[img_id] = img
    for ann in data["annotations"]:
        image_id = _require(ann, "image_id", "an annotations entry", json_path)
        png_name = _require(ann, "file_name", f"annotation of image {image_id}", json_path)
        infos = _require(ann, "segments_info", f"annotation of image {image_id}", json_path)
        if image_id not in images:
            raise AnnotationError(f"annotation refers to image_id {image_id}, which is not in images", json_path)
        img = images[image_id]
        id_map = read_ids(png_dir / png_name)
        pan = PanopticAnnotation.from_coco(id_map, infos, path=png_dir / png_name)
        pan.validate(categories, image_id)
        w, h = int(img.get("width", id_map.shape[1])), int(img.get("height", id_map.shape[0]))
        if (h, w) != pan.shape:
            raise AnnotationError(f"PNG is {pan.shape[1]}x{pan.shape[0]} but the image entry says {w}x{h}",
                                  png_dir / png_name)
        yield PanopticRecord(int(image_id), str(img.get("file_name", png_name)), w, h, pan)
