"""Tiny generated COCO panoptic datasets for the data and training tests (no files shipped).

Photos are 64-96 px: grey "concrete" stuff with dark thin "cracks" (things), darker ellipses of
"spalling" (things) and rust-coloured bars of "exposed rebar" (things), plus a "background" stuff
strip. The classes are visually distinct so a tiny model can lower every loss term in a few steps.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.categories import Category, CategorySet
from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic
from core.imageio import encode_png
from core.panoptic import PanopticAnnotation, Segment

CATEGORIES = CategorySet((
    Category(1, "crack", True, (255, 0, 0)),
    Category(2, "spalling", True, (0, 255, 0)),
    Category(3, "exposed_rebar", True, (0, 0, 255)),
    Category(4, "concrete", False, (128, 128, 128)),
    Category(5, "background", False, (0, 128, 255)),
))


def make_photo(rng: np.random.Generator, h: int, w: int, kind: str = "mixed") -> tuple[np.ndarray, PanopticAnnotation]:
    """One photo ``[h, w, 3]`` uint8 and its annotation. ``kind``: mixed | stuff_only | empty."""
    img = np.empty((h, w, 3), np.uint8)
    img[:] = rng.integers(150, 190)
    img = np.clip(img.astype(np.int16) + rng.integers(-12, 12, (h, w, 1)), 0, 255).astype(np.uint8)
    id_map = np.zeros((h, w), np.int32)
    segs: dict[int, Segment] = {}
    if kind == "empty":  # no segment at all: every pixel void
        return img, PanopticAnnotation(id_map, segs)
    strip = int(rng.integers(h // 6, h // 3))
    img[:strip] = (90, 150, 220)
    id_map[:strip] = 1
    segs[1] = Segment(1, 5)
    id_map[strip:] = 2
    segs[2] = Segment(2, 4)
    if kind == "stuff_only":
        return img, PanopticAnnotation(id_map, segs)
    nid = 3
    # spalling: a dark ellipse
    cy, cx = int(rng.integers(strip + h // 5, h - h // 5)), int(rng.integers(w // 4, 3 * w // 4))
    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, (cx, cy), (int(rng.integers(6, 12)), int(rng.integers(5, 10))), 0, 0, 360, 1, -1)
    m = m.astype(bool) & (id_map == 2)
    img[m] = (70, 60, 55)
    id_map[m] = nid
    segs[nid] = Segment(nid, 2)
    nid += 1
    # a crack: a thin black polyline
    m = np.zeros((h, w), np.uint8)
    pts = np.stack([rng.integers(0, w, 3), rng.integers(strip + 2, h, 3)], axis=1).astype(np.int32)
    cv2.polylines(m, [pts], False, 1, 2)
    m = m.astype(bool) & (id_map == 2)
    if m.any():
        img[m] = (15, 15, 15)
        id_map[m] = nid
        segs[nid] = Segment(nid, 1)
        nid += 1
    # exposed rebar: a rust bar
    if rng.random() < 0.7:
        y = int(rng.integers(strip + 2, h - 6))
        m = np.zeros((h, w), bool)
        m[y:y + 4, w // 8: 7 * w // 8] = True
        m &= id_map == 2
        if m.any():
            img[m] = (180, 80, 20)
            id_map[m] = nid
            segs[nid] = Segment(nid, 3)
    return img, PanopticAnnotation(id_map, segs).pruned()


def make_coco_dataset(root: Path, n: int = 8, seed: int = 0, sizes=((64, 80), (72, 96), (96, 64)),
                      kinds: tuple[str, ...] | None = None) -> Path:
    """Write ``n`` photos to ``root/images`` and a COCO panoptic dataset; returns the JSON path."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(n):
        h, w = sizes[i % len(sizes)]
        kind = kinds[i % len(kinds)] if kinds else "mixed"
        img, ann = make_photo(rng, h, w, kind)
        name = f"photo_{i:03d}.png"
        (root / "images" / name).write_bytes(encode_png(img))
        records.append(PanopticRecord(i + 1, name, w, h, ann))
    json_path = root / "panoptic_train.json"
    write_coco_panoptic(json_path, root / "panoptic_train", records, CATEGORIES)
    return json_path
