"""Loading one photo for the canvas, off the GUI thread, in the order the user sees it:

1. a preview (the JPEG decoded at reduced size: tens of milliseconds even for 24 megapixels),
2. the full-resolution pyramid (needed for 1:1 zoom and for the flood fill),
3. on request, the annotation (PNG decode + areas) and the latest prediction, if any.

Results of a photo the user has already left are dropped (a token per request). Decoded photos
go into a ``PhotoCache``; ``prefetch`` decodes the open photo's neighbours into it in the
background, at the lowest priority, so that going to one of them shows it without a decode.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from core.editing import compute_areas
from core.errors import AnnotationError, BadImageError
from core.imageio import load_image
from core.panoptic import PanopticAnnotation
from core.project import ImageRecord, Project
from gui.canvas.photo_item import build_pyramid, qimage_from_bgra
from gui.workers.photo_cache import PhotoCache, file_key
from gui.workers.base import TaskRunner

log = logging.getLogger(__name__)



def preview_side(width: int, height: int) -> int:
    """Longer side of the preview: what a JPEG decodes at 1/4 scale (Pillow's draft mode picks the
    largest reduction that keeps *both* sides at least this long), between 512 and 1600 px."""
    return int(min(1600, max(512, min(width, height) // 4)))


@dataclass(frozen=True)
class LoadedAnnotation:
    annotation: PanopticAnnotation
    areas: dict[int, int]
    prediction: PanopticAnnotation | None
    prediction_areas: dict[int, int]


@dataclass(frozen=True)
class LoadedPhoto:
    levels: list[QImage]
    bgra: np.ndarray  # [H, W, 4] uint8, level 0 (the flood fill reads it)


def _bgra(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)


def decode_bgra(path) -> np.ndarray:
    """The photo as upright ``[H, W, 4]`` uint8 BGRA (what the canvas draws), as ``load_image``
    reads it. A plain JPEG (RGB, no EXIF rotation: what cameras and drones write) is decoded by
    OpenCV straight to BGR and widened once: at 24 MP that holds ~170 MB at its peak, where
    ``load_image`` (Pillow's own 4-byte buffer, then an RGB copy) and the conversion held ~270 MB
    and made the start-up's peak. Both use libjpeg's default decoding: the same pixels."""
    import cv2
    from PIL import Image

    try:
        with Image.open(path) as img:
            plain = (img.format == "JPEG" and img.mode == "RGB"
                     and int(img.getexif().get(0x0112, 1) or 1) == 1)
    except Exception:  # noqa: BLE001 - load_image below reports an unreadable file with its reason
        plain = False
    if plain:
        bgr = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        if bgr is not None:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    return _bgra(load_image(path))


def latest_prediction(project: Project, image_id: int, model_id: int | None = None) -> PanopticAnnotation | None:
    """The stored prediction of ``model_id``, or of the model that predicted this image last."""
    rows = project.predictions.list(image_id=image_id, model_id=model_id)
    if not rows:
        return None
    _, mid, _ = max(rows, key=lambda r: r[2])
    return project.predictions.load_annotation(image_id, mid)


class PhotoLoader(QObject):
    previewReady = Signal(int, object)     # image id, QImage
    photoReady = Signal(int, object)       # image id, LoadedPhoto
    annotationReady = Signal(int, object)  # image id, LoadedAnnotation
    failed = Signal(int, object)           # image id, exception

    def __init__(self, runner: TaskRunner, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner
        self.model_id: int | None = None  # which model's prediction to show (None: the latest)
        self._token = 0
        self._prefetch_token = 0
        self.cache = PhotoCache()
        # image id -> what to run once its decoding ahead ends (GUI thread): a photo opened while
        # it is decoded ahead waits for that decode instead of holding a second copy alongside.
        self._inflight: dict[int, list] = {}

    def cancel(self) -> None:
        self._token += 1
        self._prefetch_token += 1

    def load(self, project: Project, record: ImageRecord) -> None:
        """Load the preview and the full photo; ``load_annotation`` follows separately (the
        caller may first have to save the previous photo's edits)."""
        self._token += 1
        self._prefetch_token += 1
        token, image_id, path = self._token, record.id, record.path
        size = (record.height, record.width)

        side = preview_side(record.width, record.height)
        self.cache.pin([image_id])
        cached = self.cache.get(image_id, path)
        if cached is not None and cached.photo is not None:
            self.photoReady.emit(image_id, cached.photo)  # decoded ahead: on screen with the next paint
            return

        def preview(progress, cancel):
            key = file_key(path)
            image = qimage_from_bgra(_bgra(load_image(path, max_side=side)))
            self.cache.put(image_id, key, preview=image)
            return image

        def full(progress, cancel):
            return self._decode(image_id, path, size)

        def resume() -> None:
            if token != self._token:
                return
            done = self.cache.get(image_id, path)
            if done is not None and done.photo is not None:
                self.photoReady.emit(image_id, done.photo)
            else:
                self._start(token, image_id, full, "load the photo", self.photoReady, 0)

        def full_task() -> None:
            if image_id in self._inflight:
                self._inflight[image_id].append(resume)
            else:
                resume()

        if cached is not None and cached.preview is not None:
            self.previewReady.emit(image_id, cached.preview)
            full_task()
            return
        # The preview has the processor to itself; the full photo follows it (on a 2-core laptop
        # decoding both at once delays the first picture by half).
        self._start(token, image_id, preview, "show the photo", self.previewReady, 2, then=full_task)

    def _decode(self, image_id: int, path, size: tuple[int, int]) -> LoadedPhoto:
        """The full photo as a pyramid (worker thread); kept in the cache."""
        key = file_key(path)  # before reading: a file replaced meanwhile never matches later
        bgra = decode_bgra(path)
        if bgra.shape[:2] != size:
            raise BadImageError(f"the photo is now {bgra.shape[1]}x{bgra.shape[0]}, the project recorded "
                                f"{size[1]}x{size[0]}", path, hint="the file was replaced; remove and add it again")
        levels = build_pyramid(bgra)
        photo = LoadedPhoto([qimage_from_bgra(lv) for lv in levels], bgra)
        self.cache.put(image_id, key, photo=photo)
        return photo

    def prefetch(self, records: list[ImageRecord]) -> None:
        """Decode ``records`` (the open photo's neighbours, nearest first) into the cache in the
        background, at the lowest priority, as far as the cache's budget allows; a later call or
        ``load`` of another photo drops what has not started yet."""
        self._prefetch_token += 1
        token = self._prefetch_token
        for rec in records:
            cached = self.cache.get(rec.id, rec.path)
            if (cached is not None and cached.photo is not None) or rec.id in self._inflight:
                continue
            if not self.cache.fits(rec.width * rec.height * 4 * 4 // 3):
                break

            def work(progress, cancel, rec=rec):
                if token != self._prefetch_token:
                    return None  # the user moved on: other neighbours now
                try:
                    self._decode(rec.id, rec.path, (rec.height, rec.width))
                except (BadImageError, OSError, ValueError) as e:  # shown when the photo is opened, not now
                    log.info("photo %s not decoded ahead: %s", rec.id, e)
                return None

            self._inflight[rec.id] = []
            self.runner.start(work, "decode the next photo", report_errors=False, priority=-1,
                              on_done=functools.partial(self._prefetched, rec.id))

    def _prefetched(self, image_id: int) -> None:
        for then in self._inflight.pop(image_id, []):
            then()

    def load_annotation(self, project: Project, record: ImageRecord) -> None:
        """Load the annotation and the latest prediction of the photo ``load`` was last given."""
        token, image_id, path = self._token, record.id, record.path
        size = (record.height, record.width)
        model_id = self.model_id

        def annotation(progress, cancel):
            ann = project.annotations.load(image_id)
            if ann is None:
                ann = PanopticAnnotation.empty(*size)
            elif ann.shape != size:
                raise AnnotationError(f"the stored mask is {ann.shape[1]}x{ann.shape[0]} but the photo is "
                                      f"{size[1]}x{size[0]}", path, hint="the photo file may have been replaced")
            pred = latest_prediction(project, image_id, model_id)
            if pred is not None and pred.shape != size:
                log.warning("prediction of image %s has the wrong size; not shown", image_id)
                pred = None
            return LoadedAnnotation(ann, compute_areas(ann.id_map), pred,
                                    compute_areas(pred.id_map) if pred is not None else {})

        self._start(token, image_id, annotation, "load the annotation", self.annotationReady, 1)

    def _start(self, token: int, image_id: int, fn, what: str, signal, priority: int, then=None) -> None:
        def finished(result):
            if token == self._token:
                signal.emit(image_id, result)
                if then is not None:
                    then()

        def failed(error):
            if token == self._token:
                self.failed.emit(image_id, error)

        self.runner.start(fn, what, on_finished=finished, on_failed=failed, report_errors=False, priority=priority)
