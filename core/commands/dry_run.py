"""``--dry-run`` of import and export: what would be created, replaced or skipped, written nowhere.

The checks are the real ones (``core.safety``): a destination the command would refuse is refused
by the dry run too, so a clean dry run means the command itself will start.
"""
from __future__ import annotations

import os
from pathlib import Path

MAX_LISTED = 20


def _count_files(folder: Path) -> int:
    n = 0
    for _root, _dirs, files in os.walk(folder):
        n += len(files)
    return n


def destination_plan(out: Path, overwrite: bool, what: str) -> list[str]:
    """Lines saying what would happen to the folder ``out`` (raises when it would be refused)."""
    from core.safety import check_replaceable

    state = check_replaceable(out, overwrite)
    if state == "new":
        return [f"would create {out} with {what}"]
    if state == "empty":
        return [f"would write {what} into the empty folder {out}"]
    return [f"would replace the earlier output in {out} ({_count_files(out)} files) with {what}, "
            "after the new one is complete"]


def print_plan(lines: list[str], skipped: list[str]) -> None:
    print("dry run: nothing is written")
    for line in lines:
        print(line)
    print(f"would skip: {len(skipped)}")
    for text in skipped[:MAX_LISTED]:
        print(f"  {text}")
    if len(skipped) > MAX_LISTED:
        print(f"  ... and {len(skipped) - MAX_LISTED} more")


def project_plan(project_path: Path, run, replace_existing: bool) -> list[str]:
    """Lines saying what importing ``run`` (an ``ImportRun``, consumed here) into the project
    would add, keep and skip; the project is only read."""
    from core.formats.common import ImportItem
    from core.project import Project, file_sha256

    items = [r for r in run if isinstance(r, ImportItem)]
    if not project_path.exists():
        new_cats = [c.name for c in run.categories]
        return [f"would create the project {project_path}",
                f"would add {len(items)} photos and save {sum(i.annotation is not None for i in items)} annotations",
                *([f"would add the categories {', '.join(new_cats)}"] if new_cats else [])]
    from core.formats.project_io import remap_categories, same_annotation

    added = existing = saved = kept = duplicates = 0
    with Project.open(project_path, read_only=True) as project:
        have = {c.name: c for c in project.categories.get()}
        conflicts = [c.name for c in run.categories if c.name in have and have[c.name].isthing != c.isthing]
        new_cats = [c.name for c in run.categories if c.name not in have]
        lut = {c.id: have[c.name].id if c.name in have else -c.id for c in run.categories}
        for item in items:
            rec = project.images.find_by_path(item.photo_path)
            if rec is None:
                try:
                    same = project.images.find_by_hash(file_sha256(item.photo_path)[0])
                except OSError:
                    same = []
                rec = same[0] if same else None
                if rec is not None and item.annotation is not None:
                    stored = project.annotations.load(rec.id)
                    if stored is not None and not same_annotation(stored, remap_categories(item.annotation, lut)):
                        rec = None  # a copy with another annotation: added as a photo of its own
                        duplicates += 1
            if rec is None:
                added += 1
            else:
                existing += 1
            if item.annotation is None or not item.annotation.segments:
                continue
            if rec is not None and project.annotations.has(rec.id) and not replace_existing:
                kept += 1
            else:
                saved += 1
    lines = [f"would add {added} photos to {project_path} ({existing} already there) and save {saved} annotations"]
    if duplicates:
        lines.append(f"  of which {duplicates} are copies of photos in the project with another annotation "
                     "(kept as photos of their own, flagged as duplicates)")
    if kept:
        lines.append(f"would leave {kept} annotations the project already has (--replace to overwrite)")
    if new_cats:
        lines.append(f"would add the categories {', '.join(new_cats)}")
    if conflicts:
        lines.append(f"would refuse the import: {', '.join(conflicts)} is a thing on one side and stuff on the other")
    return lines
