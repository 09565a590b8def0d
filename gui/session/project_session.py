"""``ProjectSession``: the open project as the GUI sees it, with signals when it changes.

It wraps ``core.project.Project`` and keeps what the views list (photos, categories, which photos
have a prediction) so a repaint never queries the database. Everything that can take long
(opening and checking a project file, adding photos, deleting a category across all annotations)
runs on the ``TaskRunner``; small writes (a status, a rename) run on the GUI thread, they are one
short transaction each.
"""
from __future__ import annotations

import logging
from pathlib import Path
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, Signal

from core.categories import Category, CategorySet
from core.errors import ProjectError
from core.project import ImageRecord, Project
from gui.workers.base import Task, TaskRunner

log = logging.getLogger(__name__)


class ProjectSession(QObject):
    opened = Signal(object)            # Project
    closing = Signal()                 # about to close: flush what you hold
    closed = Signal()
    imagesChanged = Signal()           # photos added or removed
    imageChanged = Signal(int)         # one photo's status or prediction changed
    categoriesChanged = Signal(object)  # CategorySet
    stateChanged = Signal()            # read-only flag or name changed

    def __init__(self, runner: TaskRunner, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self.project: Project | None = None
        self.images: list[ImageRecord] = []
        self.categories: CategorySet = CategorySet()
        self.predicted: set[int] = set()
        #: Replaced by the window: save the open photo's edits, then ``then()`` (default: at once).
        self.before_close: Callable[[Callable[[], object]], None] = _at_once

    # --- open / close -----------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.project is not None

    def current_project(self) -> Project:
        """The open project; what calls this is only offered while one is open."""
        if self.project is None:
            raise ProjectError("no project is open", hint="open or create a project first")
        return self.project

    @property
    def read_only(self) -> bool:
        return self.project is not None and self.project.read_only

    def open(self, path: str | Path, on_done: Callable[[bool], None] | None = None) -> None:
        """Open a project file in the background (integrity checks can take a moment)."""
        self._open_with(lambda: Project.open(path), f"open the project {Path(path).name}", on_done)

    def create(self, path: str | Path, categories: CategorySet | None = None,
               on_done: Callable[[bool], None] | None = None) -> None:
        self._open_with(lambda: Project.create(path, categories), f"create the project {Path(path).name}",
                               on_done)

    def _open_with(self, make: Callable[[], Project], what: str, on_done) -> None:
        # The open photo's pending edits reach the current project before another one replaces it.
        self.before_close(lambda: self._start_open(make, what, on_done))

    def _start_open(self, make: Callable[[], Project], what: str, on_done) -> Task:
        def work(progress, cancel):
            project = make()
            try:
                return project, project.images.list(), project.categories.get(), _predicted(project)
            except BaseException:
                project.close()
                raise

        def finished(result):
            self.close()
            self.project, self.images, self.categories, self.predicted = result
            log.info("opened %s", self.project.path)
            self.opened.emit(self.project)
            self.categoriesChanged.emit(self.categories)
            self.imagesChanged.emit()
            if on_done:
                on_done(True)

        return self.runner.start(work, what, on_finished=finished,
                                 on_failed=(lambda e: on_done(False)) if on_done else None)

    def adopt(self, project: Project) -> None:
        """Show an already open project (tests, the start-up sample)."""
        self.close()
        self.project = project
        self.images = project.images.list()
        self.categories = project.categories.get()
        self.predicted = _predicted(project)
        self.opened.emit(project)
        self.categoriesChanged.emit(self.categories)
        self.imagesChanged.emit()

    def close(self) -> None:
        if self.project is None:
            return
        self.closing.emit()
        project, self.project = self.project, None
        self.images, self.predicted = [], set()
        try:
            project.close()
        finally:
            self.closed.emit()

    # --- photos -----------------------------------------------------------------------------------
    def image(self, image_id: int) -> ImageRecord | None:
        return next((r for r in self.images if r.id == image_id), None)

    def refresh_images(self) -> None:
        if self.project is not None:
            self.images = self.project.images.list()
            self.predicted = _predicted(self.project)
            self.imagesChanged.emit()

    def add_files(self, paths: Iterable[str | Path], on_progress=None, on_done=None) -> Task:
        """Add photos (files, or every photo under folders) in the background.

        ``on_done(report)`` gets the ``core.project.AddReport``.
        """
        project = self.current_project()
        chosen = [Path(p) for p in paths]

        def work(progress, cancel):
            from core.project import list_image_files

            files: list[Path] = []
            for p in chosen:
                files.extend(list_image_files(p) if p.is_dir() else [p])
            return project.images.add_files(files, progress=progress, cancel=cancel)

        def finished(report):
            if report.added and project is self.project:
                self.refresh_images()
            if on_done:
                on_done(report)

        return self.runner.start(work, "add photos", on_finished=finished, on_progress=on_progress)

    def set_status(self, image_ids: Iterable[int], status: str) -> None:
        ids = list(image_ids)
        self.current_project().images.set_status(ids, status)
        self._reload(ids)

    def annotation_saved(self, image_id: int) -> None:
        """The autosaver wrote an annotation: the store may have moved the status on."""
        self._reload([image_id])

    def _reload(self, ids: list[int]) -> None:
        if self.project is None:
            return
        for i in ids:
            try:
                rec = self.project.images.get(i)
            except Exception:  # noqa: BLE001 - removed meanwhile (or the store is closing): the old row stays
                continue
            self.images = [rec if r.id == i else r for r in self.images]
            self.imageChanged.emit(i)

    # --- categories -------------------------------------------------------------------------------
    def reload_categories(self) -> None:
        """Read the categories again (after an import added some) and tell the views."""
        self.categories = self.current_project().categories.get()
        self.categoriesChanged.emit(self.categories)

    def add_category(self, name: str, isthing: bool, color: tuple[int, int, int] | None = None,
                     thin: bool | None = None) -> Category:
        cat = self.current_project().categories.add(name, isthing, color, thin=thin)
        self.reload_categories()
        return cat

    def update_category(self, category: Category) -> None:
        self.current_project().categories.update(category)
        self.reload_categories()

    def category_usage(self, category_id: int) -> tuple[int, int, int]:
        """``(segments, images, pixels)`` that use a category."""
        return self.current_project().categories.usage(category_id)

    def delete_category(self, category_id: int, reassign_to: int | None, on_done=None, on_progress=None) -> Task:
        """Delete a category across the project; its pixels go to ``reassign_to`` (None: void).

        Runs in the background: every annotation using it is rewritten in one transaction.
        """
        project = self.current_project()

        def work(progress, cancel):
            project.categories.delete(category_id, reassign_to=reassign_to, progress=progress)

        def finished(_):
            if project is self.project:
                self.reload_categories()
            if on_done:
                on_done()

        return self.runner.start(work, "delete the category", on_finished=finished, on_progress=on_progress)


def _at_once(then: Callable[[], object]) -> None:
    then()


def _predicted(project: Project) -> set[int]:
    return {image_id for image_id, _model, _at in project.predictions.list()}
