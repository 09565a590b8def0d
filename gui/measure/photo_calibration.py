"""``PhotoCalibration``: the scale (mm per pixel) of the photo on the canvas, read from and
written to the project store.

The store keeps one ``core.calibration.Calibration`` per photo (``project.calibration``), the
type measurement turns into figures. Reads and writes are single short transactions, so they run on the GUI
thread like the other small writes of ``ProjectSession``. A read-only project refuses with the
reason; a failed write leaves the previous scale in place and says why.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from core.calibration import Calibration
from core.errors import ProjectError
from core.project import Project
from gui.session.project_session import ProjectSession

log = logging.getLogger(__name__)


class PhotoCalibration(QObject):
    """The calibration of the current photo; ``changed(image_id, Calibration | None)``."""

    changed = Signal(object, object)  # image id (or None: no photo), Calibration or None

    def __init__(self, session: ProjectSession, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.image_id: int | None = None
        self.calibration: Calibration | None = None
        session.closed.connect(lambda: self.set_photo(None))

    def set_photo(self, image_id: int | None) -> None:
        """Follow the photo on the canvas: read its scale (None when it has none)."""
        self.image_id = image_id
        self.calibration = self.read(image_id) if image_id is not None else None
        self.changed.emit(self.image_id, self.calibration)

    def read(self, image_id: int) -> Calibration | None:
        project = self.session.project
        if project is None:
            return None
        try:
            return project.calibration.get(image_id)
        except ProjectError as e:  # a damaged record must not hide the photo: figures stay in px
            log.warning("image %s: unusable calibration record (%s); figures in pixels", image_id, e)
            return None

    def _writable(self) -> tuple[Project, int]:
        """The project and photo a scale is written for."""
        project = self.session.project
        if project is None or self.image_id is None:
            raise ProjectError("open a photo first: the scale belongs to one photo")
        if project.read_only:
            raise ProjectError(f"the project is open read-only ({project.read_only_reason}); "
                               "the scale cannot be saved", project.path,
                               hint="use File › Save as copy to keep working")
        return project, self.image_id

    def apply(self, calibration: Calibration) -> None:
        """Store ``calibration`` for the current photo and announce it.

        Raises:
            ProjectError: no photo, a read-only project, or the write failed (the old scale stays).
        """
        project, image_id = self._writable()
        project.calibration.set(image_id, calibration)
        self.calibration = calibration
        self.changed.emit(self.image_id, calibration)

    def clear(self) -> None:
        """Remove the current photo's scale: figures go back to pixels."""
        project, image_id = self._writable()
        project.calibration.clear(image_id)
        self.calibration = None
        self.changed.emit(self.image_id, None)
