"""What a report is made from (``ReportPhoto``, ``ReportInfo``) and what writing one returns.

A report works on plain inputs, so it serves a project (``project.py``), a COCO panoptic folder
(``coco.py``) or a script alike. Photos and annotations may be given lazily (a path, a
callable): a report of 200 photos of 24 MP never holds more than one of them in memory.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from collections.abc import Callable

import numpy as np

from core.calibration import Calibration
from core.measure.exposure import WidthLimit
from core.measure.totals import CategoryTotal, PhotoMeasurements
from core.panoptic import PanopticAnnotation

SOURCE_ANNOTATION, SOURCE_PREDICTION = "annotation", "prediction"
#: ``source`` of a photo of the report's scope that has no figures (``ReportPhoto.no_figures``).
SOURCE_NONE = "none"

ImageInput = np.ndarray | str | Path | None
AnnotationInput = PanopticAnnotation | Callable[[], PanopticAnnotation] | None


@dataclass(frozen=True)
class ReportPhoto:
    """One photo of a report.

    Attributes:
        name: shown as the section title (usually the file name).
        image: ``[H, W, 3]`` uint8 RGB, a path read with ``core.imageio.load_image``, or None
            (the overlay is then drawn on grey and the report says the photo was not found).
        annotation: the photo's annotation or prediction, or a zero-argument callable that loads
            it when the report reaches this photo; None for a photo without figures.
        calibration: the photo's scale; None: figures in pixels, and the report says so.
        source: ``"annotation"`` (ground truth), ``"prediction"`` (a model's output) or ``"none"``.
        no_figures: for a photo without figures, why (e.g. "Not annotated and not predicted"): it
            is listed in the report with this text, so no photo of the scope goes missing silently.
    """

    name: str
    image: ImageInput
    annotation: AnnotationInput
    calibration: Calibration | None = None
    source: str = SOURCE_ANNOTATION
    no_figures: str = ""

    @property
    def has_figures(self) -> bool:
        return self.annotation is not None

    def load_annotation(self) -> PanopticAnnotation:
        ann = self.annotation
        if ann is None:
            raise ValueError(f"{self.name} has no figures: {self.no_figures}")
        return ann if isinstance(ann, PanopticAnnotation) else ann()


@dataclass(frozen=True)
class ReportInfo:
    """Header of a report.

    Attributes:
        project: the project's name. title: the document title.
        model: one line about the model behind predictions and its evaluation on the project
            (None when only annotations).
        absence_reason: why the model's empty result on a photo does not show that it has no
            defects (``core.report.provenance``); None when it may say "no defects".
        min_score: the confidence threshold applied to predictions (None: no threshold).
        details: extra ``(label, value)`` rows for the header (inspector, structure, weather...).
        created: the report's date; None means now.
        width_limit: the project's tolerable crack width (``core.measure.exposure``), each crack
            is shown against it; None for none.
    """

    project: str = ""
    title: str = "Inspection report"
    model: str | None = None
    absence_reason: str | None = None
    min_score: float | None = None
    details: tuple[tuple[str, str], ...] = ()
    created: datetime | None = None
    width_limit: WidthLimit | None = None

    def created_at(self) -> datetime:
        return self.created or datetime.now().astimezone()


@dataclass
class ReportResult:
    """What ``write_report`` wrote and measured.

    Attributes:
        html_path / csv_path: the files written.
        photos: per-photo measurements, in report order.
        totals: per-category totals (``core.measure.summarize``).
        problems: one line per photo that could not be shown fully (missing photo, bad file).
        pdf: the ``pdf_report.PdfResult`` when a PDF was written beside (by the caller).
    """

    html_path: Path
    csv_path: Path
    photos: list[PhotoMeasurements] = field(default_factory=list)
    totals: list[CategoryTotal] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    pdf: object | None = None
