"""``write_report``: measure every photo, draw its overlay, write ``report.html`` and ``segments.csv``.

One pass over the photos, one photo in memory at a time: each photo's section (with its picture)
is streamed to a temporary file, and the HTML is assembled at the end, because the totals at the
top need every photo measured first. Both outputs are written atomically; a cancelled or failed
report leaves earlier reports in ``out_dir`` untouched and no temporary files behind.

A photo that cannot be read does not stop the report: its section says so and shows the
annotation on grey; an annotation that cannot be loaded gives a section with the error. Both
are listed in ``ReportResult.problems``.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from collections.abc import Mapping, Sequence

import numpy as np

from core.atomic import atomic_open
from core.categories import CategorySet
from core.errors import CancelledError, InspectorError
from core.measure.totals import PhotoMeasurements, summarize
from core.measure.segments import at_threshold, measure_annotation
from core.progress import CancelFlag, ProgressFn
from core.report import html_report
from core.report.csv_report import write_csv
from core.report.model import SOURCE_PREDICTION, ReportInfo, ReportPhoto, ReportResult
from core.report.provenance import empty_result_text
from core.report.overlay import render_overlay

log = logging.getLogger(__name__)

HTML_NAME, CSV_NAME = "report.html", "segments.csv"
#: Width of the pictures in the report (px) and their JPEG quality.
IMAGE_WIDTH, JPEG_QUALITY = 1200, 85





def _load_rgb(photo: ReportPhoto, shape: tuple[int, int]) -> tuple[np.ndarray | None, str | None]:
    """The photo's pixels (or None) and a warning for the report when they cannot be shown."""
    from core.imageio import load_image

    img = photo.image
    if img is None:
        return None, "The photo was not found; the annotation is shown on grey."
    try:
        rgb = img if isinstance(img, np.ndarray) else load_image(img)
    except InspectorError as e:
        return None, f"The photo cannot be shown ({e.message()}); the annotation is shown on grey."
    if rgb.shape[:2] != shape:
        return None, (f"The photo is {rgb.shape[1]} × {rgb.shape[0]} px but its annotation {shape[1]} × "
                      f"{shape[0]} px; the annotation is shown on grey.")
    return rgb, None


def write_report(photos: Sequence[ReportPhoto], categories: CategorySet, out_dir: str | Path,
                 info: ReportInfo | None = None, *, roles: Mapping | None = None,
                 image_width: int = IMAGE_WIDTH, progress: ProgressFn | None = None,
                 cancel: CancelFlag | None = None) -> ReportResult:
    """Write ``out_dir/report.html`` (self-contained) and ``out_dir/segments.csv``.

    Args:
        photos: the photos in report order (``ReportPhoto``: image, annotation, calibration).
        categories: names, colours and roles of the segments' categories.
        out_dir: created when missing; existing report files there are replaced atomically.
        info: header (project, model, threshold, date); ``info.min_score`` filters predictions.
        roles: measurement-role overrides ``{category id or name: Role}`` (see core.measure.roles).
        image_width: width of the embedded pictures in px.
        progress: ``progress(done, total, photo name)`` after each photo.
        cancel: checked between photos; raises ``CancelledError`` when set.
    Returns:
        ``ReportResult`` with the paths, the measurements, the totals and any problems.
    Raises:
        CancelledError: when cancelled (nothing is written).
        InspectorError: the output cannot be written (the path and reason are in it).
    """
    from core.imageio import encode_jpeg

    info = info or ReportInfo()
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InspectorError(f"cannot create the report folder: {e.strerror or e}", out_dir) from e
    result = ReportResult(out_dir / HTML_NAME, out_dir / CSV_NAME)
    total = len(photos)
    try:
        body = tempfile.TemporaryFile("w+", encoding="utf-8", dir=out_dir, prefix=".report-body-")
    except OSError as e:
        raise InspectorError(f"cannot write in the report folder: {e.strerror or e}", out_dir) from e
    with body:
        for k, photo in enumerate(photos):
            if cancel is not None and cancel.is_set():
                raise CancelledError("report cancelled", out_dir)
            measured, section = _one_photo(k + 1, photo, categories, info, roles, image_width, encode_jpeg, result)
            result.photos.append(measured)
            body.write(section)
            if progress is not None:
                progress(k + 1, total, photo.name)
        result.totals = summarize(result.photos, categories, defects_only=False)
        body.seek(0)
        try:
            with atomic_open(result.html_path, "w", encoding="utf-8") as f:
                f.write(html_report.document_start(info))
                f.write(html_report.header(info, result.photos))
                f.write(html_report.totals_table([t for t in result.totals if _is_defect_total(t, categories)],
                                                 categories))
                if len(result.photos) > 1:
                    f.write(html_report.photo_index(result.photos))
                shutil.copyfileobj(body, f)
                f.write(html_report.document_end(info))
            write_csv(result.csv_path, result.photos)
        except OSError as e:
            raise InspectorError(f"cannot write the report: {e.strerror or e}", out_dir) from e
    for path in (result.html_path, result.csv_path):
        _make_shareable(path)
    log.info("report of %d photos written to %s", total, result.html_path)
    return result


def _make_shareable(path: Path) -> None:
    """Atomic writes start from a private (0600) temporary file; a report is meant to be handed
    over, so make it readable like any other file the user saves."""
    try:
        os.chmod(path, 0o644)
    except OSError as e:  # not fatal: the report is written
        log.debug("could not change the permissions of %s: %s", path, e)


def _is_defect_total(total, categories: CategorySet) -> bool:
    from core.measure.roles import Role

    cat_thing = categories.by_id(total.category_id).isthing if total.category_id in categories else True
    return cat_thing or total.role != Role.REGION


def _one_photo(index: int, photo: ReportPhoto, categories: CategorySet, info: ReportInfo,
               roles: Mapping | None, image_width: int, encode_jpeg, result: ReportResult
               ) -> tuple[PhotoMeasurements, str]:
    threshold = info.min_score if photo.source == SOURCE_PREDICTION else None
    if not photo.has_figures:  # listed, so that no photo of the scope goes missing without a word
        pm = PhotoMeasurements(photo.name, 0, 0, photo.calibration, photo.source, ())
        return pm, html_report.photo_section(index, pm, None, categories, (), None, empty_note=photo.no_figures)
    empty_note = empty_result_text(photo.source == SOURCE_PREDICTION, info.absence_reason)
    try:
        ann = at_threshold(photo.load_annotation(), threshold)
        rgb, warning = _load_rgb(photo, ann.shape)
        # Crack widths are read from the photo's pixels when it is there (else from the masks).
        ms = measure_annotation(ann, categories, photo.calibration, roles=roles, image=rgb)
    except InspectorError as e:
        msg = f"{photo.name}: cannot be measured: {e.message()}"
        log.warning(msg)
        result.problems.append(msg)
        pm = PhotoMeasurements(photo.name, 0, 0, photo.calibration, photo.source, ())
        return pm, html_report.photo_section(index, pm, None, categories, [msg], threshold)
    h, w = ann.shape
    pm = PhotoMeasurements(photo.name, w, h, photo.calibration, photo.source, tuple(ms))
    warnings = []
    if warning:
        warnings.append(warning)
        result.problems.append(f"{photo.name}: {warning}")
        log.warning("%s: %s", photo.name, warning)
    overlay = render_overlay(rgb, ann, categories, ms, max_width=image_width)
    del rgb
    jpeg = encode_jpeg(overlay, quality=JPEG_QUALITY)
    return pm, html_report.photo_section(index, pm, jpeg, categories, warnings, threshold, empty_note=empty_note,
                                         width_limit=info.width_limit)
