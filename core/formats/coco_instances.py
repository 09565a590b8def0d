"""COCO instances (what CVAT and most tools export): import to panoptic, export for detection tools.

Import: polygons, uncompressed and compressed RLE (validated, see ``core.formats.rle``); ``iscrowd``
kept as crowd segments; overlapping instances resolved *smaller area on top* (ties: the annotation
listed later), see ``core.formats.build``; unannotated pixels void or a chosen stuff class. A
category is stuff when the JSON says ``isthing: 0`` (our exports do) or its name is in ``stuff``;
all annotations of a stuff class in one photo become one segment.

Export layout under ``dest``: ``instances_<split>.json`` (compressed RLE masks, integer bbox and
area, categories with isthing and color) and ``<split>/`` photos. Things always, stuff with
``include_stuff``. Annotation ids run ``1..M`` per split in image-id order, then segment order.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from collections.abc import Iterable, Mapping

import numpy as np

from core.categories import Category, CategorySet
from core.errors import AnnotationError, CategoryError, DatasetError
from core.formats.build import SMALLER_ON_TOP, Instance, from_instances
from core.formats.records import ExportRecord, ImportItem, ImportProblem, ImportResult
from core.formats.import_run import ImportRun, Job
from core.formats.checks import check_size, coco_image_table, is_coco_id, read_json_object
from core.formats.paths import guess_images_dir, norm_key
from core.progress import CancelFlag, ProgressFn
from core.formats.export import AtomicFolder, ExportSummary, StagedFiles, choose_splits, prepared, run_records
from core.formats.rle import mask_to_rle, segmentation_to_mask
from core.imageio import verify_image


def _load(json_path: Path) -> dict:
    data = read_json_object(json_path, "COCO file")
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise DatasetError(f"the file is missing the key {key!r}", json_path)
        if not isinstance(data[key], list):
            raise DatasetError(f"{key!r} must be a list", json_path)
    return data


def _categories(data: dict, stuff: set[str], fill: str | int | None, json_path: Path) -> tuple[CategorySet, int | None]:
    cats = []
    for k, c in enumerate(data["categories"]):
        if not isinstance(c, dict) or "id" not in c or "name" not in c:
            key = "id" if not isinstance(c, dict) or "id" not in c else "name"
            raise DatasetError(f"categories[{k}] is missing the key {key!r}", json_path)
        d = dict(c)
        # a class named as stuff, or chosen to fill unlabelled pixels, is stuff unless the file says otherwise
        d.setdefault("isthing", 0 if str(c["name"]) in stuff or str(c["name"]) == str(fill) else 1)
        d.setdefault("supercategory", "")
        try:
            cats.append(Category.from_json(d))
        except CategoryError as e:
            raise DatasetError(f"categories[{k}]: {e.reason}", json_path) from e
    try:
        categories = CategorySet(tuple(cats))
    except CategoryError as e:
        raise DatasetError(e.reason, json_path) from e
    fill_id = None
    if fill is not None:
        match = [c for c in categories if c.name == str(fill) or str(c.id) == str(fill)]
        if not match:
            if str(fill).isdigit():
                raise CategoryError(f"fill class id {fill} is not in the file's categories", json_path)
            categories = categories.added(str(fill), isthing=False, supercategory="")
            match = [categories.by_name(str(fill))]
        if match[0].isthing:
            raise CategoryError(f"the fill class {match[0].name!r} is a thing class", json_path,
                                hint="unlabelled pixels can only become a stuff class; list it with --stuff")
        fill_id = match[0].id
    return categories, fill_id


def _import_image(image: dict, anns: list[tuple[int, dict]], photo: Path, categories: CategorySet,
                  things: set[int], fill: int | None, json_path: Path, warnings: list[str]) -> list[ImportResult]:
    info = verify_image(photo)  # the whole file: a truncated photo is reported, not imported
    h, w = int(image["height"]), int(image["width"])
    check_size((h, w), info, json_path, f"the images entry of {image['file_name']!r}")
    results: list[ImportResult] = []
    instances = []
    for k, ann in anns:
        label = f"annotation {ann.get('id', f'#{k}')} (image {image['id']})"
        try:
            mask = segmentation_to_mask(ann["segmentation"], h, w)
        except AnnotationError as e:
            results.append(ImportProblem(str(json_path), f"{label}: {e.reason}"))
            continue
        instances.append(Instance.of(mask, int(ann["category_id"]), bool(ann.get("iscrowd", 0)), label))
    pan, more = from_instances((h, w), instances, things, SMALLER_ON_TOP, fill)
    results.append(ImportItem(photo, pan, tuple(warnings + more), w, h, str(json_path)))
    return results


def import_coco_instances(json_path: str | Path, images_dir: str | Path | None = None, *,
                          stuff: Iterable[str] = (), fill: str | int | None = None,
                          progress: ProgressFn | None = None, cancel: CancelFlag | None = None) -> ImportRun:
    """Import a COCO instances JSON (CVAT, labelme2coco, detectron2 ...) as panoptic annotations.

    Args:
        json_path: the ``instances_*.json``.
        images_dir: the photos (default: guessed, see ``guess_images_dir``).
        stuff: category names to treat as stuff when the JSON has no ``isthing``.
        fill: stuff class (name or id) for unannotated pixels; a new name is added as a stuff class.
    Raises:
        DatasetError: unreadable JSON, a missing top-level key (named) or invalid categories.
    Per annotation (reported, the image still imports): missing keys, unknown image_id or
    category_id, malformed polygons or RLE. Duplicate or zero annotation ids are renumbered with a
    warning; images whose id appears twice are skipped.
    """
    json_path = Path(json_path)
    data = _load(json_path)
    categories, fill_id = _categories(data, set(stuff), fill, json_path)
    things = {c.id for c in categories.things}
    images, dup, image_problems = coco_image_table(data["images"], json_path, ("id", "file_name", "width", "height"),
                                              sizes=True)
    problems: list[ImportResult] = list(image_problems)
    by_image: dict[object, list[tuple[int, dict]]] = defaultdict(list)
    warnings: dict[object, list[str]] = defaultdict(list)
    ann_ids: Counter = Counter()
    for k, ann in enumerate(data["annotations"]):
        missing = [key for key in ("image_id", "category_id", "segmentation")
                   if not isinstance(ann, dict) or key not in ann]
        label = f"annotation {ann.get('id', f'#{k}') if isinstance(ann, dict) else f'#{k}'}"
        if missing:
            problems.append(ImportProblem(str(json_path), f"{label} is missing the key {missing[0]!r}"))
            continue
        odd = [key for key in ("image_id", "category_id", "id") if key in ann and not is_coco_id(ann[key])]
        if odd:
            problems.append(ImportProblem(str(json_path), f"{label}: {odd[0]} is {ann[odd[0]]!r}, not an integer id"))
            continue
        if ann["image_id"] in dup:
            continue
        if ann["image_id"] not in images:
            problems.append(ImportProblem(str(json_path), f"{label}: image_id {ann['image_id']} does not exist"))
            continue
        if ann["category_id"] not in categories:
            problems.append(ImportProblem(str(json_path), f"{label}: category_id {ann['category_id']} does not "
                                          f"exist; known: {categories.ids}"))
            continue
        ann_id = ann.get("id")
        ann_ids[ann_id] += 1
        if ann_id in (None, 0) or ann_ids[ann_id] == 2:
            what = "has no id" if ann_id is None else ("has id 0" if ann_id == 0 else f"id {ann_id} is used twice")
            warnings[ann["image_id"]].append(f"{label} {what}; renumbered")
        by_image[ann["image_id"]].append((k, ann))
    if images_dir is None:
        split = json_path.stem[len("instances_"):] if json_path.stem.startswith("instances_") else ""
        images_dir = guess_images_dir(json_path, [str(i["file_name"]) for i in images.values()], split)
    images_dir = Path(images_dir)
    jobs = []
    for image_id, img in images.items():
        photo = images_dir / norm_key(str(img["file_name"]))
        jobs.append(Job(photo, _import_image, img, by_image.get(image_id, []), photo, categories, things, fill_id,
                        json_path, warnings.get(image_id, [])))
    return ImportRun(categories, len(jobs), jobs, json_path, progress, cancel, preamble=problems)


# --- export ----------------------------------------------------------------------------------------
def export_coco_instances(records: Iterable[ExportRecord], categories: CategorySet, dest: str | Path, *,
                          include_stuff: bool = False, val_fraction: float | None = None, seed: int = 0,
                          splits: Mapping[int, str] | None = None,
                          split_name: str = "all", images: bool = True, overwrite: bool = False,
                          progress: ProgressFn | None = None, cancel: CancelFlag | None = None,
                          total: int | None = None, workers: int | None = None) -> ExportSummary:
    """Write COCO instances JSON (RLE masks) atomically, loadable by ``pycocotools.COCO``.

    Same arguments as ``export_coco_panoptic``; ``include_stuff`` also writes stuff segments.
    """
    dest = Path(dest)
    summary = ExportSummary(dest, "coco-instances")
    exported = {c.id for c in categories if c.isthing or include_stuff}
    with AtomicFolder(dest, overwrite) as tmp:
        staged = StagedFiles(tmp)

        def work(rec: ExportRecord, stem: str) -> tuple[str, list[dict]]:
            ann, stats = prepared(rec, categories)
            photo = staged.photo(rec, stem) if images else stem + Path(rec.photo_path).suffix
            anns = []
            for sid in sorted(ann.segments):
                seg = ann.segments[sid]
                if seg.category_id not in exported:
                    continue
                x, y, bw, bh = stats[sid].bbox
                mask = np.zeros(ann.shape, np.uint8)
                mask[y:y + bh, x:x + bw] = ann.id_map[y:y + bh, x:x + bw] == sid
                anns.append({"image_id": int(rec.image_id), "category_id": int(seg.category_id),
                             "segmentation": mask_to_rle(mask), "area": int(stats[sid].area),
                             "bbox": [int(x), int(y), int(bw), int(bh)], "iscrowd": int(bool(seg.iscrowd))})
            return photo, anns

        entries: dict[int, tuple[dict, list[dict]]] = {}
        for rec, _stem, (photo_name, anns) in run_records(records, work, progress=progress, cancel=cancel,
                                                         total=total, workers=workers, dest=dest):
            if images:
                staged.register(rec.image_id, "img", photo_name)
            summary.segments.update(a["category_id"] for a in anns)
            entries[rec.image_id] = ({"id": int(rec.image_id), "file_name": photo_name, "width": int(rec.width),
                                      "height": int(rec.height)}, anns)
        if not entries:
            raise DatasetError("nothing to export: no annotated images", dest)
        split_of = choose_splits(entries, splits, val_fraction, seed, split_name)
        staged.place(split_of, lambda kind, split: split)
        by_split: dict[str, list[int]] = defaultdict(list)
        for image_id, split in sorted(split_of.items()):
            by_split[split].append(image_id)
        for split, ids in by_split.items():
            annotations: list[dict] = []
            for image_id in ids:
                for a in entries[image_id][1]:
                    annotations.append({"id": len(annotations) + 1, **a})
            data = {"info": {"description": "Panoptic Inspector export", "split": split}, "licenses": [],
                    "images": [entries[i][0] for i in ids], "annotations": annotations,
                    "categories": categories.to_json()}
            (tmp / f"instances_{split}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            summary.splits[split] = len(ids)
            summary.files.append(f"instances_{split}.json")
    return summary
