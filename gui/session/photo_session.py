"""``PhotoSession``: the photo on the canvas, from opening it to saving its edits.

Opening a photo: the previous photo's edits are saved first (``Autosaver.flush``), the canvas
shows the preview as soon as it is decoded, then the full resolution; the annotation is loaded
after the save (so going back to a photo never reads a stale annotation) and becomes the
``AnnotationDocument`` the tools edit. ``firstPaint(image_id, seconds)`` reports how long the
photo took to appear (benchmarks).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal

from core.categories import CategorySet
from core.editing import compute_areas
from core.errors import AnnotationError
from core.panoptic import PanopticAnnotation
from core.project import ImageRecord, Project
from gui.canvas.annotation_item import ExpandedFrom
from gui.canvas.photo_view import PhotoView
from gui.editing.autosave import Autosaver
from gui.editing.document import AnnotationDocument
from gui.editing.editing_controller import EditingController
from gui.editing.trace_keeper import keep_traces
from gui.session.project_session import ProjectSession
from gui.workers.photo_loader import LoadedAnnotation, LoadedPhoto, PhotoLoader

log = logging.getLogger(__name__)


class PhotoSession(QObject):
    photoChanged = Signal(object)       # ImageRecord or None
    documentReady = Signal(object)      # AnnotationDocument
    predictionChanged = Signal(object, object)  # PanopticAnnotation or None, areas
    fullResolution = Signal(int)        # image id: the full photo is shown
    firstPaint = Signal(int, float)     # image id, seconds from open() to the first painted frame
    loadFailed = Signal(int, object)    # image id, exception

    def __init__(self, session: ProjectSession, view: PhotoView, controller: EditingController,
                 loader: PhotoLoader, autosaver: Autosaver, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.view = view
        self.controller = controller
        self.loader = loader
        self.autosaver = autosaver
        self.record: ImageRecord | None = None
        self.document: AnnotationDocument | None = None
        self._opened_at = 0.0
        self._await_paint = False
        self._prefetched = False
        #: ``image id -> ids of the photos the user may open next, nearest first`` (the window
        #: gives the photo list's order); they are decoded ahead once this photo is complete.
        self.neighbours: Callable[[int], list[int]] = self._neighbours_in_project
        loader.previewReady.connect(self._preview)
        loader.photoReady.connect(self._photo)
        loader.annotationReady.connect(self._annotation)
        loader.failed.connect(self._failed)
        session.categoriesChanged.connect(self._categories)
        session.closing.connect(self._closing)
        view.viewport().installEventFilter(self)

    # --- opening ----------------------------------------------------------------------------------
    def open(self, image_id: int, keep_view: bool = False) -> None:
        rec = self.session.image(image_id)
        project = self.session.project
        if rec is None or project is None:
            return
        self.controller.set_document(None)
        self.record = rec
        self.document = None
        self._opened_at = time.perf_counter()
        self._await_paint = True
        self._prefetched = False
        if keep_view and self.view.photo_item is not None and self.view.image_rect().width() == rec.width:
            self.view.set_annotation(None, self.session.categories)
            self.view.set_prediction(None, self.session.categories)
        else:
            self.view.show_photo(rec.width, rec.height)
            self.controller.set_photo_pixels(None)
        self.predictionChanged.emit(None, {})
        self.photoChanged.emit(rec)
        item = self.view.photo_item  # (show_photo made one when the view was not kept)
        if not keep_view or item is None or not item.full_resolution:
            self.loader.load(project, rec)

        def saved(ok: bool, rec: ImageRecord = rec, project: Project = project) -> None:
            if self.record is rec and self.session.project is project:
                self.autosaver.set_document(None)
                self.loader.load_annotation(project, rec)

        self.autosaver.flush(saved)

    def reload(self) -> None:
        """Read the open photo's annotation again (after a project-wide change)."""
        if self.record is not None:
            self.open(self.record.id, keep_view=True)

    def close(self) -> None:
        self.loader.cancel()
        self.loader.cache.clear()
        self.controller.set_document(None)
        self.controller.set_photo_pixels(None)
        self.autosaver.set_document(None)
        self.record = None
        self.document = None
        self.view.clear()
        self.predictionChanged.emit(None, {})
        self.photoChanged.emit(None)

    # --- results ----------------------------------------------------------------------------------
    def _preview(self, image_id: int, image) -> None:
        item = self.view.photo_item
        if self.record is not None and image_id == self.record.id and item is not None and not item.full_resolution:
            item.set_levels([image])

    def _photo(self, image_id: int, photo: LoadedPhoto) -> None:
        if self.record is None or image_id != self.record.id or self.view.photo_item is None:
            return
        self.view.photo_item.set_levels(photo.levels)
        self.controller.set_photo_pixels(photo.bgra)
        self.fullResolution.emit(image_id)
        self._prefetch()

    def _annotation(self, image_id: int, loaded: LoadedAnnotation) -> None:
        if self.record is None or image_id != self.record.id:
            return
        cats = self.session.categories
        doc = AnnotationDocument.from_annotation(image_id, loaded.annotation, cats, loaded.areas, parent=self)
        project = self.session.project
        if project is not None and project.read_only:
            doc.read_only = (f"The project is open read-only ({project.read_only_reason}); "
                             "use File › Save as copy to edit.")
        keep_traces(doc, project, self.autosaver)  # the traced cracks' waypoints, stored with the project
        if self.document is not None:
            self.document.deleteLater()
        self.document = doc
        self.view.set_annotation(doc.annotation, cats)
        self.view.set_prediction(loaded.prediction, cats)
        self.controller.set_prediction(loaded.prediction)
        self.controller.set_document(doc)
        self.autosaver.set_document(doc)
        self.predictionChanged.emit(loaded.prediction, loaded.prediction_areas)
        self.documentReady.emit(doc)
        self._prefetch()

    def _prefetch(self) -> None:
        """Once the open photo is complete (full resolution and annotation: decoding ahead earlier
        would compete with them), decode its neighbours in the background."""
        rec, item = self.record, self.view.photo_item
        if (self._prefetched or rec is None or self.document is None or item is None
                or not item.full_resolution):
            return
        self._prefetched = True
        records = [r for r in (self.session.image(i) for i in self.neighbours(rec.id)) if r is not None]
        self.loader.prefetch(records)

    def _neighbours_in_project(self, image_id: int) -> list[int]:
        ids = [r.id for r in self.session.images]
        if image_id not in ids:
            return []
        k = ids.index(image_id)
        return [ids[j] for j in (k + 1, k - 1) if 0 <= j < len(ids)]

    def set_prediction(self, prediction: PanopticAnnotation | None, areas: dict[int, int] | None = None,
                       source: ExpandedFrom | None = None) -> None:
        """Show another prediction of the open photo (the model panel calls this after running a
        model or moving the confidence threshold); ``None`` removes it. ``areas`` (segment id ->
        pixels) when the caller computed them off the GUI thread (a full pass over a 12 MP map);
        ``source`` what its id map was expanded from (the canvas then recolours only what changed)."""
        if self.record is None:
            return
        if prediction is not None and prediction.shape != (self.record.height, self.record.width):
            raise AnnotationError(f"the prediction is {prediction.shape[1]}x{prediction.shape[0]} but the photo is "
                                  f"{self.record.width}x{self.record.height}", self.record.path)
        self.view.set_prediction(prediction, self.session.categories, source)
        self.controller.set_prediction(prediction)
        if areas is None:
            areas = compute_areas(prediction.id_map) if prediction is not None else {}
        self.predictionChanged.emit(prediction, areas)

    def _failed(self, image_id: int, error: BaseException) -> None:
        self.loadFailed.emit(image_id, error)

    def _categories(self, categories: CategorySet) -> None:
        if self.document is not None:
            self.document.set_categories(categories)
        for item in (self.view.annotation_item, self.view.prediction_item):
            if item is not None:
                item.set_categories(categories)

    def _closing(self) -> None:
        self.close()

    def eventFilter(self, obj, event) -> bool:
        if self._await_paint and event.type() == QEvent.Type.Paint and self.record is not None:
            item = self.view.photo_item
            if item is not None and item.has_pixels:
                self._await_paint = False
                image_id = self.record.id
                # Measured once the paint event has been handled: the photo is on screen.
                QTimer.singleShot(0, lambda: self.firstPaint.emit(image_id, time.perf_counter() - self._opened_at))
        return False
