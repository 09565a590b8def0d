"""Thumbnails for the photo browser, made in the background and cached in the project.

One worker thread drains a queue (newest requests first, so what the user scrolls to comes
first). A cached JPEG in ``project.thumbnails`` is used when it is still valid; otherwise the photo
is decoded at reduced size (JPEG draft mode) and the result cached. ``ready(image_id, QImage)``
arrives on the GUI thread; QImage (unlike QPixmap) may be made on any thread.
"""
from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtGui import QImage

from core.errors import InspectorError
from core.imageio import encode_jpeg, load_image
from core.project import ImageRecord, Project
from gui.workers.base import Task

log = logging.getLogger(__name__)

THUMB_SIDE = 256


class ThumbnailProvider(QObject):
    ready = Signal(int, object)    # image id, QImage
    missing = Signal(int, str)     # image id, reason (unreadable photo)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._queue: list[ImageRecord] = []
        self._queued: set[int] = set()
        self._lock = threading.Lock()
        self._project: Project | None = None
        self._task: Task | None = None
        self.cache: dict[int, QImage] = {}

    def set_project(self, project: Project | None) -> None:
        with self._lock:
            self._project = project
            self._queue.clear()
            self._queued.clear()
        self.cache.clear()

    def request(self, records: list[ImageRecord]) -> None:
        """Queue thumbnails that are not cached yet; later calls take precedence."""
        with self._lock:
            for rec in records:
                if rec.id in self.cache:
                    continue
                if rec.id in self._queued:
                    self._queue = [r for r in self._queue if r.id != rec.id]
                self._queue.append(rec)
                self._queued.add(rec.id)
        if self._task is None and self._queue:
            self._task = Task(self._drain, "make thumbnails")
            self._task.signals.done.connect(self._drained)
            self._task.signals.failed.connect(lambda e: log.warning("thumbnails stopped: %s", e))
            self.pool.start(self._task)

    def _drained(self) -> None:
        self._task = None
        if self._queue:
            self.request([])

    def _drain(self, progress, cancel) -> None:
        while not cancel.is_set():
            with self._lock:
                if not self._queue:
                    return
                rec = self._queue.pop()  # newest request first
                self._queued.discard(rec.id)
                project = self._project
            if project is None:
                return
            self._make(project, rec)

    def _make(self, project: Project, rec: ImageRecord) -> None:
        try:
            jpeg = project.thumbnails.get(rec.id, THUMB_SIDE)
        except InspectorError:
            jpeg = None
        img = QImage()
        if jpeg is not None:
            img.loadFromData(jpeg, "JPEG")
        if img.isNull():
            try:
                rgb = load_image(rec.path, max_side=THUMB_SIDE)
            except InspectorError as e:
                self.missing.emit(rec.id, e.reason)
                return
            jpeg = encode_jpeg(rgb, quality=85)
            try:
                if not project.read_only and not project.closed:
                    project.thumbnails.put(rec.id, jpeg, THUMB_SIDE)
            except InspectorError as e:  # a cache: losing it costs only time
                log.info("thumbnail not cached: %s", e)
            img.loadFromData(jpeg, "JPEG")
        self.ready.emit(rec.id, img)

    def store(self, image_id: int, image: QImage) -> None:
        """Called on the GUI thread for each ``ready`` (keeps the cache on one thread)."""
        self.cache[image_id] = image

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        with self._lock:
            self._queue.clear()
            self._queued.clear()
        self.pool.waitForDone(5000)
