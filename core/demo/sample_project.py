"""Projects made of synthetic photos: the sample project the app opens on first start, and the
project ``synth --project`` writes beside a dataset.

``resources/sample/`` holds twelve generated photos (``images/``) and the COCO panoptic truth of
seven of them (``panoptic.json``, ``panoptic/``); ``write_sample_resources`` regenerates exactly
those files from ``SAMPLE_PHOTOS``. ``build_sample_project`` turns them into a project: the
photos are copied into a folder beside the project file (``resources/`` may be read-only in an
installed app) and the seven are annotated with status ``done``; the other five are unlabelled,
for the user to try annotating or predicting.
"""
from __future__ import annotations

import logging
import shutil
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from core.errors import CancelledError, DatasetError, ProjectError
from core.formats.coco_panoptic_io import PanopticRecord, iter_coco_panoptic, write_coco_panoptic
from core.imageio import encode_jpeg
from core.progress import CancelFlag, ProgressFn
from core.synthetic.generator import SynthConfig, categories_of, generate_sample

log = logging.getLogger(__name__)





class SamplePhoto(NamedTuple):
    """One photo of the sample: its file name, generator seed, ``(width, height)`` and whether its
    truth ships with it."""

    name: str
    seed: int
    size: tuple[int, int]
    annotated: bool


#: What the shipped sample contains, chosen by looking at the candidates: between them the
#: annotated photos show every class (hairline to wide cracks, spalls with and without bars, sky,
#: vegetation and soil behind the concrete) and the others are left for the user.
SAMPLE_PHOTOS: tuple[SamplePhoto, ...] = (
    SamplePhoto("wall_01.jpg", 1016, (1024, 768), True),      # spall with three bars, tie holes
    SamplePhoto("wall_02.jpg", 1028, (1024, 768), True),      # spall with bars, crack, efflorescence
    SamplePhoto("column_03.jpg", 1002, (768, 1024), True),    # spalls with bars, vegetation
    SamplePhoto("parapet_04.jpg", 1001, (1024, 768), True),   # sky, cracks, spall with bars
    SamplePhoto("wall_05.jpg", 1018, (1024, 768), True),      # wide and hairline cracks, tie holes
    SamplePhoto("wall_06.jpg", 1024, (1024, 768), True),      # spall, crack, vegetation
    SamplePhoto("wall_07.jpg", 1015, (1024, 768), True),      # spall, crack, soil
    SamplePhoto("column_08.jpg", 1035, (768, 1024), False),
    SamplePhoto("wall_09.jpg", 1031, (1024, 768), False),
    SamplePhoto("parapet_10.jpg", 1000, (1024, 768), False),
    SamplePhoto("parapet_11.jpg", 1009, (1024, 768), False),
    SamplePhoto("wall_12.jpg", 1034, (1024, 768), False),
)

#: The generator settings of the sample: every photo shows something to look at.
SAMPLE_CONFIG = SynthConfig(crack_count=(1, 3), spall_count=(0, 2), rebar_probability=0.5)

SAMPLE_JPEG_QUALITY = 85


def sample_dir() -> Path:
    """``resources/sample`` (raises FileNotFoundError listing the resources when missing)."""
    from core.resources import resource_path

    return resource_path("sample")


def write_sample_resources(dest_dir: str | Path) -> None:
    """(Re)generate the sample files into ``dest_dir``: ``images/*.jpg`` for all of
    ``SAMPLE_PHOTOS`` and ``panoptic.json`` + ``panoptic/*.png`` for the annotated ones."""
    dest = Path(dest_dir)
    (dest / "images").mkdir(parents=True, exist_ok=True)
    records = []
    for k, photo in enumerate(SAMPLE_PHOTOS, start=1):
        rgb, ann = generate_sample(photo.seed, photo.size, SAMPLE_CONFIG)
        (dest / "images" / photo.name).write_bytes(encode_jpeg(rgb, SAMPLE_JPEG_QUALITY))
        if photo.annotated:
            records.append(PanopticRecord(k, photo.name, photo.size[0], photo.size[1], ann))
    write_coco_panoptic(dest / "panoptic.json", dest / "panoptic", records, categories_of(SAMPLE_CONFIG))


def build_sample_project(dest_path: str | Path, progress: ProgressFn | None = None,
                         cancel: CancelFlag | None = None, *, with_demo_model: bool = False) -> Path:
    """Create the sample project at ``dest_path`` (a new ``.pinspect`` file).

    The twelve photos are copied into ``<project stem> photos/`` beside it (existing identical
    files are reused); seven get their truth as annotations with status ``done``, five stay
    unlabelled. ``with_demo_model`` (the application's first start): the shipped demo model is
    added as the active model with every photo predicted (``core.demo.add_demo_model``); without
    one, or when it cannot be used, the sample is made without it and the reason logged.
    Returns the project path.

    Raises:
        ProjectError: ``dest_path`` exists or cannot be written.
        DatasetError: the shipped sample is incomplete.
    """
    src = sample_dir()
    dest_path = Path(dest_path)
    photos = dest_path.parent / f"{dest_path.stem} photos"
    missing = [p.name for p in SAMPLE_PHOTOS if not (src / "images" / p.name).is_file()]
    if missing:
        raise DatasetError(f"the sample is missing {', '.join(missing)}", src / "images")
    if dest_path.exists():  # checked before copying anything, so a refusal leaves no trace
        raise ProjectError("a file of that name already exists; it was left as it is", dest_path,
                           hint="choose another name or open it")
    photos.mkdir(parents=True, exist_ok=True)
    for p in SAMPLE_PHOTOS:
        target = photos / p.name
        source = src / "images" / p.name
        if not (target.is_file() and target.read_bytes() == source.read_bytes()):
            shutil.copyfile(source, target)
    _project_from(dest_path, [src / "panoptic.json"], photos, "Sample project", progress, cancel)
    if with_demo_model:
        _add_demo_model(dest_path, progress, cancel)
    return dest_path


def _add_demo_model(project_path: Path, progress: ProgressFn | None, cancel: CancelFlag | None) -> None:
    """The demo model into the sample; a sample without it beats no sample, so a model that cannot
    be used is logged, not raised."""
    from core.demo.sample_model import add_demo_model
    from core.errors import InspectorError

    try:
        report = add_demo_model(project_path, progress, cancel)
    except InspectorError as e:
        log.warning("the sample project was made without the demo model: %s", e.message())
        return
    if report.model_id is None:
        log.info("the sample project was made without a demo model (none in this build)")


def dataset_to_project(project_path: str | Path, dataset_dir: str | Path, progress: ProgressFn | None = None,
                       cancel: CancelFlag | None = None) -> Path:
    """A project over a dataset written by ``write_coco_dataset``: its photos (left where they
    are), every truth annotation with status ``done``, and the train/val split when it has one."""
    dataset_dir = Path(dataset_dir)
    json_paths = sorted(dataset_dir.glob("panoptic*.json"))
    if not json_paths:
        raise DatasetError("no panoptic*.json here; not a synthetic dataset", dataset_dir)
    return _project_from(Path(project_path), json_paths, dataset_dir / "images", None, progress, cancel)


def _project_from(project_path: Path, json_paths: list[Path], photos_dir: Path, name: str | None,
                  progress: ProgressFn | None, cancel: CancelFlag | None) -> Path:
    from core.project import IMAGE_SPLITS, Project

    records: list[tuple[str | None, Path]] = []
    for json_path in json_paths:
        split = json_path.stem[len("panoptic_"):] if json_path.stem.startswith("panoptic_") else None
        records.append((split if split in IMAGE_SPLITS else None, json_path))
    files = sorted(p for p in photos_dir.iterdir() if p.suffix.lower() == ".jpg")
    total = 2 * len(files)
    done = 0

    def step(message: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, message)

    categories = categories_of(SynthConfig())
    with Project.create(project_path, categories, name=name) as project:
        report = project.images.add_files(files, skip_duplicates=False, cancel=cancel,
                                          progress=lambda d, t, m: progress(d, total, m) if progress else None)
        if report.cancelled:
            raise CancelledError("cancelled while adding photos", project_path)
        if report.failed:
            path, why = report.failed[0]
            raise DatasetError(f"a photo could not be added: {why}", path)
        done = len(files)
        by_split: dict[str, list[int]] = defaultdict(list)
        for split, json_path in records:
            with project.transaction("add the synthetic truth"):
                for rec in iter_coco_panoptic(json_path):
                    if cancel is not None and cancel.is_set():
                        raise CancelledError("cancelled while adding annotations", project_path)
                    image = project.images.find_by_path(photos_dir / rec.file_name)
                    if image is None:
                        raise DatasetError(f"the truth names a photo that is not there: {rec.file_name}", json_path)
                    project.annotations.save(image.id, rec.annotation, status="done")
                    if split is not None:
                        by_split[split].append(image.id)
                    step(rec.file_name)
        for split, ids in by_split.items():
            project.images.set_split(ids, split)
    log.info("made project %s from %s", project_path, photos_dir)
    return project_path
