"""Report inputs from a COCO panoptic dataset (a JSON file, or a folder holding such files).

Layouts found: ours and panopticapi's (``panoptic_<split>.json`` + ``panoptic_<split>/`` PNGs)
and the synthetic generator's (``panoptic.json``, ``panoptic/``, ``images/``); photos are looked
for as ``core.formats.paths.guess_images_dir`` does unless ``images_dir`` is given. A dataset has
no calibration: one scale may be given for every photo. Files whose segments carry a ``score``
are treated as model predictions.
"""
from __future__ import annotations

from pathlib import Path

from core.categories import CategorySet
from core.errors import DatasetError
from core.formats.coco_panoptic_io import load_coco_panoptic_json
from core.idpng import read_ids
from core.calibration import Calibration
from core.panoptic import PanopticAnnotation
from core.report.model import SOURCE_ANNOTATION, SOURCE_PREDICTION, ReportInfo, ReportPhoto


def find_panoptic_jsons(path: str | Path) -> list[Path]:
    """``path`` itself when it is a file, else the ``*.json`` files of the folder that have a PNG
    folder beside them (``x.json`` + ``x/``), in name order."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DatasetError("no such file or folder", path)
    found = sorted(p for p in path.glob("*.json") if p.with_suffix("").is_dir())
    if not found:
        raise DatasetError("no COCO panoptic JSON (with its PNG folder beside it) in this folder", path,
                           hint="give the JSON file itself")
    return found


def report_from_coco(path: str | Path, *, images_dir: str | Path | None = None,
                     calibration: Calibration | None = None
                     ) -> tuple[list[ReportPhoto], CategorySet, ReportInfo]:
    """The photos, categories and header of a report of a COCO panoptic dataset.

    Raises:
        DatasetError: no JSON found, malformed JSON, or JSON files with different categories.
    """
    from core.formats.paths import guess_images_dir

    photos: list[ReportPhoto] = []
    categories: CategorySet | None = None
    jsons = find_panoptic_jsons(path)
    for json_path in jsons:
        data, cats = load_coco_panoptic_json(json_path)
        if categories is not None and cats != categories:
            raise DatasetError("its categories differ from those of the other JSON files", json_path)
        categories = cats
        images = {img.get("id"): img for img in data["images"] if isinstance(img, dict)}
        split = json_path.stem[len("panoptic_"):] if json_path.stem.startswith("panoptic_") else ""
        names = [str(images.get(a.get("image_id"), {}).get("file_name", "")) for a in data["annotations"]]
        folder = Path(images_dir) if images_dir is not None else guess_images_dir(json_path, names, split)
        png_dir = json_path.with_suffix("")
        for ann in data["annotations"]:
            if not isinstance(ann, dict) or "file_name" not in ann or "segments_info" not in ann:
                raise DatasetError("an annotations entry lacks file_name or segments_info", json_path)
            img = images.get(ann.get("image_id"), {})
            name = str(img.get("file_name") or ann["file_name"])
            photo = folder / name
            scored = any(isinstance(s, dict) and s.get("score") is not None for s in ann["segments_info"])
            photos.append(ReportPhoto(Path(name).name, photo if photo.is_file() else None,
                                      _loader(png_dir / ann["file_name"], ann["segments_info"], ann.get("image_id")),
                                      calibration, SOURCE_PREDICTION if scored else SOURCE_ANNOTATION))
    title = jsons[0].parent.name if len(jsons) > 1 or Path(path).is_dir() else jsons[0].stem
    info = ReportInfo(project=title, details=(("Dataset", str(Path(path))),))
    assert categories is not None  # find_panoptic_jsons raised if it found no JSON
    return photos, categories, info


def _loader(png: Path, segments_info: list, image_id):
    def load() -> PanopticAnnotation:
        ann = PanopticAnnotation.from_coco(read_ids(png), segments_info, path=png)
        ann.validate(None, image_id)
        return ann
    return load
