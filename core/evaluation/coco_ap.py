"""COCO box AP/AR and mask AP of the *thing* segments, through ``pycocotools.COCOeval``.

Each thing segment of a panoptic annotation becomes a COCO instance (RLE mask, bbox from the mask,
area, iscrowd); predictions also carry their ``Segment.score``, which COCOeval ranks by. Stuff and
void have no part in these numbers. Crowd GT segments stay crowd (COCOeval ignores detections on
them), exactly as in a COCO instances file.

The 12 numbers are COCOeval's ``stats`` in its order (``STAT_NAMES``); -1 where COCOeval has
nothing to average (no GT of that kind), as pycocotools reports it.
"""
from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable

import numpy as np

from core.categories import CategorySet
from core.errors import AnnotationError
from core.panoptic import PanopticAnnotation

log = logging.getLogger(__name__)

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
IOU_TYPES = ("bbox", "segm")


@dataclass(frozen=True)
class CocoAPResult:
    """COCOeval summaries: ``bbox`` and ``segm`` each 12 floats in ``STAT_NAMES`` order."""

    bbox: tuple[float, ...]
    segm: tuple[float, ...]
    num_images: int = 0

    def stats(self, iou_type: str) -> dict[str, float]:
        """``{"AP": .., "AP50": .., ...}`` for ``"bbox"`` or ``"segm"``."""
        if iou_type not in IOU_TYPES:
            raise ValueError(f"iou_type must be one of {IOU_TYPES}, got {iou_type!r}")
        return dict(zip(STAT_NAMES, getattr(self, iou_type)))

    def to_json(self) -> dict:
        return {"bbox": self.stats("bbox"), "segm": self.stats("segm"), "num_images": int(self.num_images)}

    @staticmethod
    def from_json(d: dict) -> CocoAPResult:
        return CocoAPResult(tuple(float(d["bbox"][k]) for k in STAT_NAMES),
                            tuple(float(d["segm"][k]) for k in STAT_NAMES), int(d.get("num_images", 0)))


def thing_instances(ann: PanopticAnnotation, thing_ids: Iterable[int], *, with_scores: bool,
                    image_id: object = None, path: str | Path | None = None) -> list[dict]:
    """COCO instance dicts (without ``image_id``/``id``) of the thing segments of one annotation.

    Each: ``{category_id, segmentation: {size: [H, W], counts: str}, area, bbox: [x, y, w, h],
    iscrowd}`` plus ``score`` when ``with_scores``; plain Python numbers only. One pass over the
    pixels per thing segment (segments are few; pixels are never looped over in Python).

    Raises:
        AnnotationError: ``with_scores`` and a thing segment has no score.
    """
    from pycocotools import mask as mask_utils

    thing_ids = set(thing_ids)
    id_map_t = ann.id_map.T
    out = []
    for seg_id, seg in ann.segments.items():
        if seg.category_id not in thing_ids:
            continue
        if with_scores and seg.score is None:
            raise AnnotationError(f"In the image with ID {image_id} predicted segment {seg_id} has no score; "
                                  f"box and mask AP rank predictions by score", path)
        # A C-ordered [W, H] mask is the Fortran-ordered [H, W] one pycocotools wants: no copy.
        mask = np.equal(id_map_t, seg_id, order="C").T.view(np.uint8)
        rle = mask_utils.encode(mask)
        inst = {"category_id": int(seg.category_id),
                "segmentation": {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")},
                "area": float(mask_utils.area(rle)),
                "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                "iscrowd": int(bool(seg.iscrowd))}
        if with_scores and seg.score is not None:  # a missing score was refused above
            inst["score"] = float(seg.score)
        out.append(inst)
    return out


class CocoAPAccumulator:
    """Streams (GT, prediction) pairs; ``evaluate`` runs COCOeval for boxes and masks.

    Keeps only the RLE-compressed thing masks between images. Not thread-safe.
    """

    def __init__(self, categories: CategorySet):
        self.categories = categories
        self.thing_ids = [c.id for c in categories.things]
        self.reset()

    def reset(self) -> None:
        self._images: list[dict] = []
        self._gt: list[dict] = []
        self._dt: list[dict] = []

    @property
    def num_images(self) -> int:
        return len(self._images)

    def process(self, gt: PanopticAnnotation, pred: PanopticAnnotation, image_id: object = None) -> None:
        """Add one image; every predicted thing segment must have a ``score``."""
        if gt.shape != pred.shape:
            raise AnnotationError(f"In the image with ID {image_id} the prediction is {pred.shape[1]}x"
                                  f"{pred.shape[0]} but the ground truth is {gt.shape[1]}x{gt.shape[0]}.")
        self.add(thing_instances(gt, self.thing_ids, with_scores=False, image_id=image_id),
                 thing_instances(pred, self.thing_ids, with_scores=True, image_id=image_id), *gt.shape)

    def add(self, gt_instances: list[dict], pred_instances: list[dict], height: int, width: int) -> None:
        """Add one image from ``thing_instances`` output computed elsewhere (e.g. in a worker)."""
        coco_id = len(self._images) + 1  # COCOeval wants integer image ids; ours may be anything
        self._images.append({"id": coco_id, "height": int(height), "width": int(width)})
        for inst in gt_instances:
            self._gt.append(dict(inst, image_id=coco_id, id=len(self._gt) + 1))
        for inst in pred_instances:
            self._dt.append(dict(inst, image_id=coco_id))

    def evaluate(self) -> CocoAPResult:
        stats = {t: self._run(t) for t in IOU_TYPES}
        return CocoAPResult(stats["bbox"], stats["segm"], len(self._images))

    def _run(self, iou_type: str) -> tuple[float, ...]:
        if not self._images or not self.thing_ids:
            return (-1.0,) * len(STAT_NAMES)
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval

        # pycocotools prints progress; library code must not, so it goes to the debug log.
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            gt = COCO()
            gt.dataset = {"images": list(self._images), "annotations": [dict(a) for a in self._gt],
                          "categories": [{"id": i, "name": self.categories.by_id(i).name} for i in self.thing_ids]}
            gt.createIndex()
            if self._dt:
                # loadRes derives area/bbox from whichever of bbox or segmentation it is given.
                key = "bbox" if iou_type == "bbox" else "segmentation"
                dt = gt.loadRes([{"image_id": d["image_id"], "category_id": d["category_id"], "score": d["score"],
                                  key: d[key]} for d in self._dt])
            else:  # loadRes cannot take an empty list
                dt = COCO()
                dt.dataset = {"images": list(self._images), "annotations": [],
                              "categories": gt.dataset["categories"]}
                dt.createIndex()
            ev = COCOeval(gt, dt, iou_type)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        log.debug("COCOeval %s:\n%s", iou_type, buf.getvalue())
        return tuple(float(s) for s in ev.stats)
