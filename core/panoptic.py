"""The panoptic annotation of one image, and the COCO panoptic file format.

One type serves ground truth, predictions and exports: an ``int32`` id map ``[H, W]`` (0 = void)
plus a table ``{segment id -> Segment}``. COCO panoptic stores the id map as an RGB PNG with
``id = R + 256*G + 256*256*B`` (coded by ``core.idpng``) and a JSON whose ``segments_info``
carries category, iscrowd, bbox ``[x, y, w, h]`` and area of every segment.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from core.atomic import atomic_write_bytes, atomic_write_text
from core.categories import CategorySet
from core.errors import AnnotationError, DatasetError
from core.idpng import MAX_SEGMENT_ID, encode_ids, read_ids

VOID = 0

SOURCE_MANUAL = "manual"
SOURCE_MODEL = "model"


@dataclass(frozen=True)
class Segment:
    """One segment. ``score`` is the model confidence (predictions only), else None."""

    id: int
    category_id: int
    iscrowd: bool = False
    source: str = SOURCE_MANUAL
    score: float | None = None


# --- geometry --------------------------------------------------------------------------------------
def segment_stats(id_map: np.ndarray) -> dict[int, tuple[int, list[int]]]:
    """``{segment id: (area, [x, y, w, h])}`` for every non-void id present, vectorised.

    Runs in O(H·W) whatever the ids' magnitude: ids are compacted with ``np.unique`` first, except
    when they are already small (the usual case), where counting them directly is ~40x faster.
    """
    from scipy import ndimage

    id_map = np.asarray(id_map)
    if id_map.size and id_map.dtype.kind in "iu" and 0 <= id_map.min() and id_map.max() <= 65535:
        areas = np.bincount(id_map.ravel())
        slices = ndimage.find_objects(id_map.astype(np.int32, copy=False))
        out = {}
        for seg_id, sl in enumerate(slices, start=1):
            if sl is None:
                continue
            ys, xs = sl
            out[seg_id] = (int(areas[seg_id]), [int(xs.start), int(ys.start), int(xs.stop - xs.start),
                                                int(ys.stop - ys.start)])
        return out
    ids, inverse = np.unique(id_map, return_inverse=True)
    inverse = inverse.reshape(id_map.shape)
    areas = np.bincount(inverse.ravel(), minlength=len(ids))
    slices = ndimage.find_objects(inverse + 1)  # label k+1 == ids[k]
    out: dict[int, tuple[int, list[int]]] = {}
    for k, seg_id in enumerate(ids):
        if seg_id == VOID or slices[k] is None:
            continue
        ys, xs = slices[k]
        out[int(seg_id)] = (int(areas[k]), [int(xs.start), int(ys.start), int(xs.stop - xs.start),
                                            int(ys.stop - ys.start)])
    return out


@dataclass
class PanopticAnnotation:
    """Panoptic annotation of one image.

    Attributes:
        id_map: ``[H, W]`` int32, 0 = void, other values are keys of ``segments``.
        segments: ``{segment id: Segment}``.
    """

    id_map: np.ndarray
    segments: dict[int, Segment] = field(default_factory=dict)

    def __post_init__(self):
        self.id_map = np.asarray(self.id_map)
        if self.id_map.ndim != 2:
            raise AnnotationError(f"id map must be 2-D, got shape {self.id_map.shape}")
        if self.id_map.dtype != np.int32:
            if self.id_map.size and (self.id_map.min() < 0 or self.id_map.max() > MAX_SEGMENT_ID):
                raise AnnotationError("segment ids must lie in 0..16777215")
            self.id_map = self.id_map.astype(np.int32)

    @staticmethod
    def empty(height: int, width: int) -> "PanopticAnnotation":
        return PanopticAnnotation(np.zeros((height, width), np.int32), {})

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.id_map.shape[0]), int(self.id_map.shape[1])

    def copy(self) -> "PanopticAnnotation":
        return PanopticAnnotation(self.id_map.copy(), dict(self.segments))

    def next_segment_id(self) -> int:
        return max(self.segments, default=0) + 1

    def mask(self, segment_id: int) -> np.ndarray:
        """``[H, W]`` bool mask of one segment."""
        return self.id_map == segment_id

    def semantic(self) -> np.ndarray:
        """``[H, W]`` int32 category-id map (0 = void)."""
        lut_ids = np.array(sorted(self.segments), dtype=np.int64)
        if lut_ids.size == 0:
            return np.zeros(self.shape, np.int32)
        cats = np.array([self.segments[i].category_id for i in lut_ids], np.int32)
        pos = np.searchsorted(lut_ids, self.id_map)
        pos = np.clip(pos, 0, len(lut_ids) - 1)
        hit = lut_ids[pos] == self.id_map
        return np.where(hit, cats[pos], 0).astype(np.int32)

    # --- consistency --------------------------------------------------------------------------
    def validate(self, categories: CategorySet | None = None, image_id: object = None) -> None:
        """Raise ``AnnotationError`` with panopticapi's wording when map and table disagree."""
        present = set(int(i) for i in np.unique(self.id_map)) - {VOID}
        for seg_id in sorted(present):
            if seg_id not in self.segments:
                raise AnnotationError(
                    f"In the image with ID {image_id} segment with ID {seg_id} is presented in PNG "
                    f"and not presented in JSON.")
        missing = sorted(set(self.segments) - present)
        if missing:
            raise AnnotationError(
                f"In the image with ID {image_id} the following segment IDs {missing} are presented "
                f"in JSON and not presented in PNG.")
        if categories is not None:
            for seg in self.segments.values():
                if seg.category_id not in categories:
                    raise AnnotationError(
                        f"In the image with ID {image_id} segment with ID {seg.id} has unknown "
                        f"category_id {seg.category_id}.")

    def pruned(self) -> "PanopticAnnotation":
        """A copy without table entries whose pixels are gone (e.g. after erasing)."""
        present = set(int(i) for i in np.unique(self.id_map))
        return PanopticAnnotation(self.id_map, {k: v for k, v in self.segments.items() if k in present})

    # --- COCO panoptic ------------------------------------------------------------------------
    def segments_info(self) -> list[dict]:
        """COCO ``segments_info``: plain Python numbers only, sorted by segment id."""
        stats = segment_stats(self.id_map)
        out = []
        for seg_id in sorted(self.segments):
            seg = self.segments[seg_id]
            area, bbox = stats.get(seg_id, (0, [0, 0, 0, 0]))
            info = {"id": int(seg_id), "category_id": int(seg.category_id), "iscrowd": int(bool(seg.iscrowd)),
                    "bbox": bbox, "area": int(area)}
            if seg.score is not None:
                info["score"] = float(seg.score)
            out.append(info)
        return out

    @staticmethod
    def from_coco(id_map: np.ndarray, segments_info: Iterable[dict], source: str = SOURCE_MANUAL,
                  path: str | Path | None = None) -> "PanopticAnnotation":
        segs: dict[int, Segment] = {}
        for info in segments_info:
            try:
                seg_id = int(info["id"])
                seg = Segment(seg_id, int(info["category_id"]), bool(info.get("iscrowd", 0)),
                              str(info.get("source", source)),
                              None if info.get("score") is None else float(info["score"]))
            except (KeyError, TypeError, ValueError) as e:
                raise AnnotationError(f"bad segments_info entry {info!r}", path) from e
            if seg_id in segs:
                raise AnnotationError(f"segment id {seg_id} appears twice in segments_info", path)
            segs[seg_id] = seg
        return PanopticAnnotation(id_map, segs)

    def with_segment(self, seg: Segment) -> "PanopticAnnotation":
        segs = dict(self.segments)
        segs[seg.id] = seg
        return PanopticAnnotation(self.id_map, segs)

    def relabelled(self, seg_id: int, category_id: int) -> "PanopticAnnotation":
        return self.with_segment(replace(self.segments[seg_id], category_id=category_id))


# --- COCO panoptic files ---------------------------------------------------------------------------
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


def _require(d: dict, key: str, where: str, path: Path):
    if not isinstance(d, dict) or key not in d:
        raise DatasetError(f"{where} is missing the key {key!r}", path)
    return d[key]


def load_coco_panoptic_json(json_path: str | Path) -> tuple[dict, CategorySet]:
    """Read and structurally check a COCO panoptic JSON; returns (data, categories)."""
    json_path = Path(json_path)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
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
