"""Semantic class-index PNGs: one mask per photo whose pixel value is the category id (0 = void).

Layout under ``dest``: ``semantic_<split>/<stem>.png``, ``<split>/`` photos and ``classes.json``
(a class mapping, see ``core.formats.class_mapping``), so the mask-folder importer reads the
export back without options. Masks are palette PNGs coloured with the category colours when every
id fits in 8 bits (viewable, and the indices are the ids), else 16-bit gray. Instances are not
kept: re-importing splits things again by connected components.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from collections.abc import Iterable, Mapping

import numpy as np

from core.categories import CategorySet
from core.errors import DatasetError
from core.formats.class_mapping import ClassMapping
from core.formats.records import ExportRecord
from core.progress import CancelFlag, ProgressFn
from core.formats.export import AtomicFolder, ExportSummary, StagedFiles, choose_splits, prepared, run_records


def _palette(categories: CategorySet) -> list[int]:
    pal = [0] * (256 * 3)
    for c in categories:
        if c.id < 256:
            pal[3 * c.id: 3 * c.id + 3] = [int(v) for v in c.color]
    return pal


def encode_class_png(class_map: np.ndarray, categories: CategorySet) -> bytes:
    """PNG bytes of an ``[H, W]`` category-id map: palette (ids < 256) or 16-bit gray."""
    from PIL import Image

    buf = io.BytesIO()
    if max(categories.ids, default=0) < 256:
        h, w = class_map.shape
        img = Image.frombytes("P", (w, h), np.ascontiguousarray(class_map, dtype=np.uint8).tobytes())
        img.putpalette(_palette(categories))  # the indices are the ids; the palette only colours them
        img.save(buf, format="PNG", compress_level=1)
    else:
        Image.fromarray(class_map.astype(np.uint16)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def export_semantic(records: Iterable[ExportRecord], categories: CategorySet, dest: str | Path, *,
                    val_fraction: float | None = None, seed: int = 0,
                    splits: Mapping[int, str] | None = None, split_name: str = "all",
                    images: bool = True, overwrite: bool = False, progress: ProgressFn | None = None,
                    cancel: CancelFlag | None = None, total: int | None = None,
                    workers: int | None = None) -> ExportSummary:
    """Write class-index PNGs atomically (layout in the module docstring); arguments as
    ``export_coco_panoptic``."""
    dest = Path(dest)
    summary = ExportSummary(dest, "semantic")
    with AtomicFolder(dest, overwrite) as tmp:
        staged = StagedFiles(tmp)
        sem_dir = staged.folder("sem")

        def work(rec: ExportRecord, stem: str) -> str | None:
            prepared(rec, categories, renumber=False)  # checks map, table and categories
            (sem_dir / f"{stem}.png").write_bytes(encode_class_png(rec.annotation.semantic(), categories))
            return staged.photo(rec, stem) if images else None

        ids = []
        for rec, stem, photo_name in run_records(records, work, progress=progress, cancel=cancel, total=total,
                                                 workers=workers, dest=dest):
            staged.register(rec.image_id, "sem", f"{stem}.png")
            if photo_name is not None:
                staged.register(rec.image_id, "img", photo_name)
            summary.segments.update(s.category_id for s in rec.annotation.segments.values())
            ids.append(rec.image_id)
        if not ids:
            raise DatasetError("nothing to export: no annotated images", dest)
        split_of = choose_splits(ids, splits, val_fraction, seed, split_name)
        staged.place(split_of, lambda kind, split: f"semantic_{split}" if kind == "sem" else split)
        for split in split_of.values():
            summary.splits[split] = summary.splits.get(split, 0) + 1
        mapping = ClassMapping(categories, {c.id: c.id for c in categories})
        (tmp / "classes.json").write_text(json.dumps(mapping.to_json(), indent=2, ensure_ascii=False),
                                          encoding="utf-8")
        summary.files.append("classes.json")
    return summary
