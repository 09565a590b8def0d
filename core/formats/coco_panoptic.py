"""COCO panoptic: import (panopticapi's files and ours) and export (the deliverable users ask for).

Export layout under ``dest`` (panopticapi finds the PNG folder from the JSON name)::

    panoptic_<split>.json      images, annotations (segments_info), categories (isthing, color)
    panoptic_<split>/          one RGB PNG per photo, id = R + 256 G + 256² B
    <split>/                   the photos, upright (see core.formats.export)

``<split>`` is ``all`` or, with a split, ``train`` and ``val``. Segment ids are canonical
(``1..N`` by category id, then first pixel in row-major order; ``core.formats.build``) unless
``renumber=False`` keeps the ids given. JSON holds plain Python numbers only.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from collections.abc import Iterable, Mapping

from core.categories import CategorySet
from core.errors import AnnotationError, DatasetError
from core.formats.build import SegStats
from core.formats.coco_panoptic_io import load_coco_panoptic_json
from core.formats.records import ExportRecord, ImportItem, ImportProblem, ImportResult
from core.formats.import_run import ImportRun, Job
from core.formats.checks import check_size, coco_image_table, is_coco_id
from core.formats.paths import guess_images_dir, norm_key
from core.progress import CancelFlag, ProgressFn
from core.formats.export import AtomicFolder, ExportSummary, StagedFiles, choose_splits, prepared, run_records
from core.idpng import check_png_size, encode_ids, read_ids
from core.imageio import verify_image
from core.safety import special_file_reason
from core.panoptic import SOURCE_MANUAL, PanopticAnnotation


# --- import ----------------------------------------------------------------------------------------
def _clean_segments_info(infos: list, path: Path) -> tuple[list[dict], list[str]]:
    """Drop entries with id 0 (void) and exact duplicates, with warnings; conflicting duplicates fail."""
    if not isinstance(infos, list):
        raise AnnotationError("segments_info is not a list", path)
    out: dict[int, dict] = {}
    warnings = []
    for info in infos:
        if not isinstance(info, dict) or "id" not in info or "category_id" not in info:
            raise AnnotationError(f"segments_info entry {info!r} is missing the key "
                                  f"{'id' if not isinstance(info, dict) or 'id' not in info else 'category_id'!r}",
                                  path)
        sid = int(info["id"])
        if sid == 0:
            warnings.append("segments_info entry with id 0 (void) ignored")
            continue
        if sid in out:
            if int(out[sid]["category_id"]) != int(info["category_id"]):
                raise AnnotationError(f"segment id {sid} appears twice in segments_info with different "
                                      f"categories ({out[sid]['category_id']} and {info['category_id']})", path)
            warnings.append(f"segment id {sid} appears twice in segments_info; the copy was dropped")
            continue
        out[sid] = info
    return list(out.values()), warnings


def _import_one(image: dict, ann: dict | None, photo: Path, png_dir: Path, categories: CategorySet,
                json_path: Path) -> list[ImportResult]:
    info = verify_image(photo)  # the whole file: a truncated photo is reported, not imported
    image_id = image["id"]
    if ann is None:
        return [ImportItem(photo, None, ("the JSON has no annotation for this photo",), info.width, info.height,
                           str(json_path))]
    png = png_dir / norm_key(str(ann["file_name"]))
    # size from the header first: a small file claiming 12000 x 12000 is refused for what it is
    # (the wrong size for its photo) before a pixel is inflated
    reason = special_file_reason(png)
    if reason is not None:
        raise AnnotationError(f"{reason}; skipped", png)
    header = check_png_size(png)
    check_size((header.height, header.width), info, png, "panoptic PNG")
    id_map = read_ids(png)
    infos, warnings = _clean_segments_info(ann["segments_info"], png)
    pan = PanopticAnnotation.from_coco(id_map, infos, path=png)
    try:
        pan.validate(categories, image_id)
    except AnnotationError as e:
        raise AnnotationError(e.reason, png) from e
    if "width" in image and "height" in image and (int(image["height"]), int(image["width"])) != pan.shape:
        raise AnnotationError(f"the PNG is {pan.shape[1]}x{pan.shape[0]} but the images entry says "
                              f"{image['width']}x{image['height']}", png)
    check_size(pan.shape, info, png, "panoptic PNG")
    return [ImportItem(photo, pan, tuple(warnings), info.width, info.height, str(png))]


def import_coco_panoptic(json_path: str | Path, png_dir: str | Path | None = None,
                         images_dir: str | Path | None = None, progress: ProgressFn | None = None,
                         cancel: CancelFlag | None = None) -> ImportRun:
    """Import a COCO panoptic dataset (panopticapi's layout or ours).

    Args:
        json_path: the ``panoptic_*.json``.
        png_dir: the PNG folder (default: the JSON's path without ``.json``, as panopticapi).
        images_dir: the photos (default: guessed, see ``guess_images_dir``).
    Raises:
        DatasetError: unreadable JSON or a missing top-level key (named).
    Per item (reported, the batch goes on): duplicate image ids, annotations of unknown images,
    PNG/JSON id mismatches and unknown categories (panopticapi's wording), size mismatches.
    """
    json_path = Path(json_path)
    data, categories = load_coco_panoptic_json(json_path)
    for key in ("images", "annotations"):
        if not isinstance(data[key], list):
            raise DatasetError(f"{key!r} must be a list", json_path)
    png_dir = Path(png_dir) if png_dir is not None else json_path.with_suffix("")
    images, dup, image_problems = coco_image_table(data["images"], json_path, ("id", "file_name"), sizes=False)
    problems: list[ImportResult] = list(image_problems)
    anns: dict[object, dict] = {}
    for k, ann in enumerate(data["annotations"]):
        missing = [key for key in ("image_id", "file_name", "segments_info")
                   if not isinstance(ann, dict) or key not in ann]
        if missing:
            problems.append(ImportProblem(str(json_path), f"annotations[{k}] is missing the key {missing[0]!r}"))
            continue
        if not is_coco_id(ann["image_id"]) or not isinstance(ann["file_name"], str) \
                or not isinstance(ann["segments_info"], list):
            problems.append(ImportProblem(str(json_path), f"annotations[{k}]: image_id, file_name or segments_info "
                                          "is of the wrong type; skipped"))
            continue
        image_id = ann["image_id"]
        if image_id in dup:
            continue
        if image_id not in images:
            problems.append(ImportProblem(str(json_path), f"annotation {ann['file_name']!r} refers to image_id "
                                          f"{image_id}, which is not in images"))
        elif image_id in anns:
            problems.append(ImportProblem(str(json_path), f"image {image_id} has a second annotation "
                                          f"({ann['file_name']!r}); only the first is used"))
        else:
            anns[image_id] = ann
    if images_dir is None:
        split = json_path.stem[len("panoptic_"):] if json_path.stem.startswith("panoptic_") else ""
        images_dir = guess_images_dir(json_path, [str(i["file_name"]) for i in images.values()], split)
    images_dir = Path(images_dir)
    jobs = [Job(images_dir / norm_key(str(img["file_name"])), _import_one, img, anns.get(image_id),
                images_dir / norm_key(str(img["file_name"])), png_dir, categories, json_path)
            for image_id, img in images.items()]
    return ImportRun(categories, len(jobs), jobs, json_path, progress, cancel, preamble=problems)


# --- export ----------------------------------------------------------------------------------------
def segments_info(ann: PanopticAnnotation, stats: dict[int, SegStats]) -> list[dict]:
    """COCO ``segments_info`` from precomputed stats (same content as ``ann.segments_info()``,
    plus ``source`` for segments that are not manual, so predictions round-trip)."""
    out = []
    for sid in sorted(ann.segments):
        seg = ann.segments[sid]
        st = stats.get(sid)
        info = {"id": int(sid), "category_id": int(seg.category_id), "iscrowd": int(bool(seg.iscrowd)),
                "bbox": [int(v) for v in st.bbox] if st else [0, 0, 0, 0], "area": int(st.area) if st else 0}
        if seg.score is not None:
            info["score"] = float(seg.score)
        if seg.source != SOURCE_MANUAL:
            info["source"] = str(seg.source)
        out.append(info)
    return out


def export_coco_panoptic(records: Iterable[ExportRecord], categories: CategorySet, dest: str | Path, *,
                         val_fraction: float | None = None, seed: int = 0,
                         splits: Mapping[int, str] | None = None, split_name: str = "all",
                         images: bool = True, renumber: bool = True, overwrite: bool = False,
                         progress: ProgressFn | None = None, cancel: CancelFlag | None = None,
                         total: int | None = None, workers: int | None = None) -> ExportSummary:
    """Write a COCO panoptic dataset atomically (layout in the module docstring).

    Args:
        records: images to export; ``annotation`` ``[height, width]`` in the upright frame.
        categories: the category table (written with isthing and color).
        val_fraction: None for one split named ``split_name``; else a seeded train/val split.
        splits: ``{image id: split name}`` to use instead (e.g. the project's splits).
        images: copy the photos (upright) beside the annotations.
        renumber: canonical segment ids (default) or the ids as given.
        overwrite: replace a non-empty ``dest`` (only after the export succeeded).
        total: number of records, for progress, when ``records`` has no ``len``.
        workers: threads checking and encoding records (default: up to 4); output is identical.
    Raises:
        DatasetError: ``dest`` not empty, or a write failed (nothing is left behind).
        AnnotationError / BadImageError: a record is inconsistent or its photo unreadable.
    """
    dest = Path(dest)
    summary = ExportSummary(dest, "coco-panoptic")
    with AtomicFolder(dest, overwrite) as tmp:
        staged = StagedFiles(tmp)
        png_dir = staged.folder("png")

        def work(rec: ExportRecord, stem: str) -> tuple[str, list[dict]]:
            ann, stats = prepared(rec, categories, renumber)
            (png_dir / f"{stem}.png").write_bytes(encode_ids(ann.id_map))
            photo = staged.photo(rec, stem) if images else stem + Path(rec.photo_path).suffix
            return photo, segments_info(ann, stats)

        entries: dict[int, tuple[dict, dict]] = {}
        for rec, stem, (photo_name, infos) in run_records(records, work, progress=progress, cancel=cancel,
                                                          total=total, workers=workers, dest=dest):
            staged.register(rec.image_id, "png", f"{stem}.png")
            if images:
                staged.register(rec.image_id, "img", photo_name)
            summary.segments.update(s["category_id"] for s in infos)
            entries[rec.image_id] = ({"id": int(rec.image_id), "file_name": photo_name, "width": int(rec.width),
                                      "height": int(rec.height)},
                                     {"image_id": int(rec.image_id), "file_name": f"{stem}.png",
                                      "segments_info": infos})
        if not entries:
            raise DatasetError("nothing to export: no annotated images", dest)
        split_of = choose_splits(entries, splits, val_fraction, seed, split_name)
        staged.place(split_of, lambda kind, split: f"panoptic_{split}" if kind == "png" else split)
        by_split: dict[str, list[int]] = defaultdict(list)
        for image_id, split in sorted(split_of.items()):
            by_split[split].append(image_id)
        for split, ids in by_split.items():
            data = {"info": {"description": "Panoptic Inspector export", "split": split}, "licenses": [],
                    "images": [entries[i][0] for i in ids], "annotations": [entries[i][1] for i in ids],
                    "categories": categories.to_json()}
            (tmp / f"panoptic_{split}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            summary.splits[split] = len(ids)
            summary.files.append(f"panoptic_{split}.json")
    return summary
