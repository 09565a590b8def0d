"""The project store: one SQLite file (``*.pinspect``) holding an inspector's work.

Start at ``Project`` (store.py). Parts: ``project.images`` (images.py), ``project.categories``
(categories.py), ``project.annotations`` (annotations.py), ``project.predictions``
(predictions.py), ``project.models`` (models.py), ``project.calibration`` (calibration.py),
``project.thumbnails`` (thumbnails.py). The schema and its migrations: schema.py. Threads and
transactions: db.py. The single-instance lock: lock.py.
"""
from core.project.annotations import AnnotationInfo
from core.project.categories import ASK, CategoryInUseError
from core.project.images import AddReport, ImageRecord, RelinkReport, file_sha256, list_image_files
from core.project.models import ModelRecord
from core.project.predictions import PredictionRecord
from core.project.schema import IMAGE_SPLITS, IMAGE_STATUSES, SCHEMA_VERSION
from core.project.store import PROJECT_SUFFIX, Project

__all__ = [
    "Project", "PROJECT_SUFFIX", "SCHEMA_VERSION", "IMAGE_SPLITS", "IMAGE_STATUSES",
    "ImageRecord", "AddReport", "RelinkReport", "AnnotationInfo", "PredictionRecord", "ModelRecord",
    "CategoryInUseError", "ASK", "file_sha256", "list_image_files",
]
