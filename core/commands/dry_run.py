"""``--dry-run`` of import and export: what would be created, replaced or skipped, written nowhere.

The checks are the real ones (``core.safety``): a destination the command would refuse is refused
by the dry run too, so a clean dry run means the command itself will start.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.formats.import_run import ImportRun

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


def project_plan(project_path: Path, run: ImportRun, replace_existing: bool) -> list[str]:
    """Lines saying what importing ``run`` (an ``ImportRun``, consumed here) into the project
    would add, keep and skip; the project is only read."""
    from core.formats.records import ImportItem
    from core.project import Project

    if not project_path.exists():
        items = [r for r in run if isinstance(r, ImportItem)]
        new_cats = [c.name for c in run.categories]
        return [f"would create the project {project_path}",
                f"would add {len(items)} photos and save {sum(i.annotation is not None for i in items)} annotations",
                *([f"would add the categories {', '.join(new_cats)}"] if new_cats else [])]
    from core.formats.import_plan import plan_project_import

    with Project.open(project_path, read_only=True) as project:
        return plan_project_import(project, run, replace_existing).lines(project_path)
