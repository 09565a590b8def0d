"""An import as the dialog checked it, its plan in words, and running it in the background.

``CheckedImport`` holds every choice of the import dialog and opens the importer exactly as
``main.py import`` does (``MaskFolderOptions`` and a ``ClassMapping`` for mask folders), so the
check and the import read the dataset the same way. ``run_import`` imports it into the open
project (``core.formats.project_io.import_into_project``), gives the new photos their split, and
says what was done when it ends.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox, QWidget

from core.errors import DatasetError
from core.formats.detect import COCO_INSTANCES, COCO_PANOPTIC, LABELME

if TYPE_CHECKING:
    from core.formats.class_mapping import ClassMapping
    from core.formats.import_plan import ImportPlan
    from gui.session.project_session import ProjectSession

MAX_LISTED = 30
SPLIT_SEED = 0  # main.py's default seed: the same photos always get the same random split


@dataclass(frozen=True)
class CheckedImport:
    kind: str
    source: Path | None
    images: Path | None
    masks: Path | None
    mapping: ClassMapping | None
    classes_option: str | None  # the mapping as --classes text (class-index masks)
    mode: str
    connectivity: int
    min_area: int
    fill: str | None
    replace_existing: bool
    split: str | None           # None, "train", "val" or "random"
    val_share: float | None     # with split "random"

    def open_run(self, progress, cancel):
        """The importer's run (read lazily while it is iterated)."""
        from core import formats

        if self.kind == COCO_PANOPTIC:
            return formats.import_coco_panoptic(_chosen(self.source, "dataset"), images_dir=self.images,
                                                progress=progress, cancel=cancel)
        if self.kind == COCO_INSTANCES:
            return formats.import_coco_instances(_chosen(self.source, "dataset"), self.images, fill=self.fill,
                                                 progress=progress, cancel=cancel)
        if self.kind == LABELME:  # labels are matched to the categories of the mapping: the project's
            return formats.import_labelme(_chosen(self.source, "dataset"),
                                          categories=self.mapping.categories if self.mapping else None,
                                          fill=self.fill, progress=progress, cancel=cancel)
        options = formats.MaskFolderOptions(self.mode, self.connectivity, self.min_area, self.fill)
        return formats.import_mask_folder(_chosen(self.images, "photo folder"), _chosen(self.masks, "masks folder"),
                                          self.mapping, options, progress, cancel)


def _chosen(path: Path | None, what: str) -> Path:
    """A path the dialog checks before it makes the job; a job made otherwise gets a clear error."""
    if path is None:
        raise DatasetError(f"no {what} chosen")
    return path


def command_line(job: CheckedImport) -> str:
    """The ``main.py import masks`` command that reads the masks the same way (for the record)."""
    parts = ["main.py", "import", "masks", str(job.images), "--masks", str(job.masks), "--mode", job.mode]
    if job.classes_option:
        parts += ["--classes", job.classes_option]
    parts += ["--min-area", str(job.min_area), "--connectivity", str(job.connectivity)]
    if job.fill:
        parts += ["--fill", job.fill]
    if job.replace_existing:
        parts.append("--replace")
    return " ".join(shlex.quote(p) for p in parts)


def plan_text(plan: ImportPlan, job: CheckedImport) -> str:
    """The check's result for the summary box: what would be created, then what would be skipped."""
    report = plan.report
    lines = []
    if plan.refused:
        lines.append(f"Cannot import: {', '.join(plan.conflicts)} is a thing in the dataset and stuff in the project "
                     "(or the other way round). Rename or change the class first. Nothing was written.")
    elif not plan.photos_new + plan.photos_existing:
        lines.append("Nothing to import: no photo of the dataset could be read (see the skipped files below).")
    lines.append(f"{plan.photos_new} photos will be added to the project ({plan.photos_existing} already there); "
                 f"{plan.annotations_saved} annotations saved")
    if plan.annotations_kept:
        lines.append(f"{plan.annotations_kept} annotations the project already has are kept as they are "
                     "(tick Replace to overwrite them)")
    if plan.duplicates:
        lines.append(f"{plan.duplicates} photos are copies of photos in the project with another annotation: "
                     "each is added as a photo of its own")
    by_name = report.segments_by_name()
    lines.append(f"Segments: {sum(by_name.values())}" + (f" ({report.crowd} crowd)" if report.crowd else ""))
    kinds = {c.name: ("thing" if c.isthing else "stuff") for c in report.categories}
    lines += [f"  {name}: {n}" for name, n in by_name.items()]
    if plan.categories_new:
        lines.append("New categories: " + ", ".join(f"{n} ({kinds.get(n, '?')})" for n in plan.categories_new))
    if job.split == "random":
        lines.append(f"New photos split at random: {100 * (job.val_share or 0):.0f} % to validation (seed "
                     f"{SPLIT_SEED})")
    elif job.split:
        lines.append(f"New photos go to {'training' if job.split == 'train' else 'validation'}")
    lines.append(f"Skipped: {len(report.skipped)}")
    lines += [f"  {p.message()}" for p in report.skipped[:MAX_LISTED]]
    if len(report.skipped) > MAX_LISTED:
        lines.append(f"  … and {len(report.skipped) - MAX_LISTED} more")
    if report.warnings:
        lines.append(f"Warnings: {len(report.warnings)}")
        lines += [f"  {Path(p).name}: {w}" for p, w in report.warnings[:MAX_LISTED]]
    if job.masks is not None and job.kind not in (COCO_PANOPTIC, COCO_INSTANCES, LABELME):
        lines += ["", "The same import on the command line:", command_line(job)]
    return "\n".join(lines)


def _assign_splits(project, new_ids: list[int], job: CheckedImport) -> None:
    """Give the photos this import added their split (photos already there keep theirs)."""
    from core.formats.export import split_ids

    if not new_ids or job.split is None:
        return
    if job.split != "random":
        project.images.set_split(new_ids, job.split)
        return
    by_split: dict[str, list[int]] = {}
    for image_id, name in split_ids(new_ids, job.val_share, SPLIT_SEED).items():
        by_split.setdefault(name, []).append(image_id)
    for name, ids in by_split.items():
        project.images.set_split(ids, name)


def run_import(session: ProjectSession, job: CheckedImport, parent: QWidget | None):
    """Import ``job`` into the session's project in the background; a message says what was done."""
    project = session.current_project()

    def work(progress, cancel):
        from core.formats.project_io import import_into_project

        before = set(project.images.ids())
        run = job.open_run(progress, cancel)
        split = job.split if job.split in ("train", "val") else None
        summary = import_into_project(project, run, replace_existing=job.replace_existing, split=split,
                                      cancel=cancel)
        if job.split == "random":
            _assign_splits(project, sorted(set(project.images.ids()) - before), job)
        return run, summary

    def finished(result):
        run, summary = result
        if project is session.project:
            session.refresh_images()
            session.reload_categories()
        skipped = len(run.report.skipped) + len(summary.problems)
        box = QMessageBox(QMessageBox.Icon.Information if not skipped else QMessageBox.Icon.Warning,
                          "Import finished",
                          f"{summary.photos_added} photos added, {summary.annotations_saved} annotations saved"
                          + (f", {summary.annotations_kept} kept as they were" if summary.annotations_kept else "")
                          + (f"; {skipped} items skipped" if skipped else "") + ".",
                          QMessageBox.StandardButton.Ok, parent)
        box.setObjectName("importFinishedMessage")
        details = summary.lines() + [f"skipped: {p.message()}" for p in run.report.skipped]
        box.setDetailedText("\n".join(details))
        box.open()

    return session.runner.start(work, "import the dataset", on_finished=finished)
