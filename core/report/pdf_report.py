"""A print-ready PDF of the inspection report (A4 or US Letter), for filing with an inspection.

Made with ReportLab (BSD licence, pure Python, no display or browser needed, so it runs headless
on a server as well as in the window): its page layout engine (``platypus``) flows tables over
pages with their heading row repeated, and it embeds the pictures as JPEG and a subset of its own
Bitstream Vera font, so the file looks the same on every machine and its text can be searched
and copied.

Layout: a first page with the project, the structure / element notes, the date, the scale, the
crack width limit and its source, and the totals per category; then a page or more per photo:
its name, size, capture time and GPS position from EXIF when the photo has them, the
calibration used, the picture with the defects outlined and numbered (``overlay``), and the
defects table (crack width with its spread and method, and against the limit). Every page has the
project's name and ``Page n of N``.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.atomic import atomic_write_bytes
from core.categories import CategorySet
from core.errors import CancelledError, InspectorError
from core.measure.exposure import ABOVE, compare_measurement, verdict_text
from core.measure.present import WIDTH_METHOD_SHORT, format_number
from core.measure.roles import Role
from core.measure.totals import PhotoMeasurements, summarize
from core.measure.segments import at_threshold, measure_annotation
from core.report.exif import PhotoExif, read_exif
from core.report.model import SOURCE_NONE, SOURCE_PREDICTION, ReportInfo, ReportPhoto
from core.report.provenance import NO_DEFECTS, empty_result_text
from core.report.overlay import render_overlay

log = logging.getLogger(__name__)

PAGE_SIZES = ("A4", "Letter")
PDF_NAME = "report.pdf"
#: Pixels across of the pictures embedded (about 250 dpi over a 170 mm text width).
PICTURE_PX = 1600
JPEG_QUALITY = 85

Progress = Callable[[int, int, str], None]


@dataclass
class PdfResult:
    """What ``write_pdf`` wrote: the file, its page count, each photo's figures, problems."""

    path: Path
    pages: int = 0
    photos: list[PhotoMeasurements] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _fonts() -> tuple[str, str]:
    """The embedded font's regular and bold names (ReportLab's bundled Bitstream Vera)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
        pdfmetrics.registerFont(TTFont("VeraBd", "VeraBd.ttf"))
        pdfmetrics.registerFontFamily("Vera", normal="Vera", bold="VeraBd", italic="Vera", boldItalic="VeraBd")
    return "Vera", "VeraBd"


def _styles():
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    regular, bold = _fonts()
    base = ParagraphStyle("base", fontName=regular, fontSize=9, leading=11.5)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#444c55")),
        "warn": ParagraphStyle("warn", parent=base, textColor=colors.HexColor("#9a3b00")),
        "h1": ParagraphStyle("h1", parent=base, fontName=bold, fontSize=18, leading=22, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base, fontName=bold, fontSize=13, leading=16, spaceBefore=2,
                             spaceAfter=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "head": ParagraphStyle("head", parent=base, fontName=bold, fontSize=8, leading=10),
        "head_r": ParagraphStyle("head_r", parent=base, fontName=bold, fontSize=8, leading=10, alignment=2),
        "bold": bold,
    }


def _e(text) -> str:
    from xml.sax.saxutils import escape

    return escape(str(text))


def _table(rows, widths, styles, header: bool = True, align_right_from: int | None = 1):
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    from reportlab.platypus import Paragraph

    if header:  # heading cells wrap instead of running into each other
        rows = [[Paragraph(_e(c), styles["head_r" if align_right_from is not None and k >= align_right_from
                                          else "head"]) if isinstance(c, str) else c
                 for k, c in enumerate(rows[0])]] + list(rows[1:])
    t = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    cmds = [("FONT", (0, 0), (-1, -1), styles["base"].fontName, 8),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c9d0d6")),
            ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
    if header:
        cmds += [("FONT", (0, 0), (-1, 0), styles["bold"], 8),
                 ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f4"))]
    if align_right_from is not None:
        cmds.append(("ALIGN", (align_right_from, 0), (-1, -1), "RIGHT"))
    t.setStyle(TableStyle(cmds))
    return t


def _meta_rows(info: ReportInfo, photos: Sequence[PhotoMeasurements], styles) -> list:
    from reportlab.platypus import Paragraph

    n_cal = sum(1 for p in photos if p.calibration is not None)
    covered = [p for p in photos if p.source != SOURCE_NONE]
    rows = [("Project", info.project or "–"), ("Date", info.created_at().strftime("%Y-%m-%d %H:%M")),
            ("Photos", f"{len(photos)} ({sum(len(p.defects) for p in photos)} defects; "
                       f"{len(photos) - len(covered)} without figures)"),
            ("Scale", f"{n_cal} of {len(photos)} photos calibrated (figures in mm)"
                      + ("" if n_cal == len(photos) else f"; {len(photos) - n_cal} in pixels"))]
    if info.model:
        rows.append(("Model", info.model))
        if info.absence_reason and any(p.source == SOURCE_PREDICTION for p in photos):
            rows.append(("Photos without predicted defects", f"not conclusive: {info.absence_reason}"))
    if info.min_score is not None:
        rows.append(("Confidence threshold", f"{info.min_score:.2f}"))
    if info.width_limit is not None:
        rows.append(("Crack width limit", info.width_limit.describe()))
    rows.extend(info.details)
    return [[Paragraph(f"<b>{_e(k)}</b>", styles["cell"]), Paragraph(_e(v), styles["cell"])] for k, v in rows]


def _totals(photos: Sequence[PhotoMeasurements], categories: CategorySet, styles, width: float) -> list:
    from reportlab.platypus import Paragraph, Spacer

    totals = summarize(photos, categories, defects_only=True)
    if not totals:
        return [Paragraph("No defects.", styles["base"])]
    rows = [["Category", "Unit", "Count", "Photos", "Total length", "Max crack width", "Total area"]]
    for t in totals:
        rows.append([t.category_name, t.unit, str(t.count), str(t.n_photos), format_number(t.total_length),
                     format_number(t.max_width), f"{format_number(t.total_area)} {t.area_unit}"])
    w = width / 7.0
    return [Paragraph("Totals per category", styles["h2"]), _table(rows, [w * 1.6] + [w * 0.9] * 6, styles,
                                                                        align_right_from=2), Spacer(1, 4)]


def _photo_facts(photo: PhotoMeasurements, exif: PhotoExif, info: ReportInfo) -> list[str]:
    facts = [f"{photo.width} × {photo.height} px"] if photo.width else []
    facts.append(photo.calibration.describe() if photo.calibration is not None
                 else "not calibrated: figures in pixels")
    src = "model prediction" if photo.source == SOURCE_PREDICTION else "annotation"
    if photo.source == SOURCE_PREDICTION and info.min_score is not None:
        src += f", segments scoring ≥ {info.min_score:.2f}"
    facts.append(f"figures from the {src}")
    facts.append(f"taken {exif.taken}" if exif.taken else "capture time: not in the photo")
    facts.append(f"GPS {exif.position}" if exif.position else "GPS position: not in the photo")
    return facts


def _defects_table(photo: PhotoMeasurements, info: ReportInfo, styles, width: float):
    from reportlab.platypus import Paragraph

    u = photo.unit
    limit = info.width_limit
    head = ["#", "Category", f"Length ({u})", f"Width ({u})", "Width IQR", "Width from"]
    if limit is not None:
        head.append("vs limit")
    head += [f"Max width ({u})", f"Area ({photo.defects[0].area_unit})"]
    rows = [head]
    for m in photo.defects:
        crack = m.role == Role.CRACK and m.width is not None
        row = [str(m.label or ""), Paragraph(_e(m.category_name), styles["cell"]), format_number(m.length),
               format_number(m.width) if crack else "", format_number(m.width_spread) if crack else "",
               (WIDTH_METHOD_SHORT.get(m.width_method or "", m.width_method or "")
                + (f" [{format_number(m.width_low)}–{format_number(m.width_high)}]"
                   if m.width_low is not None and m.width_high is not None else "")) if crack else ""]
        if limit is not None:
            v = compare_measurement(m, limit)
            text = verdict_text(v, limit)
            row.append(Paragraph(f"<b>{_e(text)}</b>" if v == ABOVE else _e(text), styles["cell"]))
        # Cracks: their widest opening; rebar: its visible diameter; areas: nothing.
        wide = m.max_width if m.role == Role.CRACK else m.mean_width if m.role == Role.REBAR else None
        row += ["" if wide is None else format_number(wide), format_number(m.area)]
        rows.append(row)
    n = len(head)
    widths = [0.05, 0.16, 0.1, 0.1, 0.09, 0.12] + ([0.15] if limit is not None else []) + [0.1, 0.11]
    scale = width / sum(widths)
    return _table(rows, [w * scale for w in widths[:n]], styles, align_right_from=2)


def _picture(overlay: np.ndarray, max_w: float, max_h: float):
    from PIL import Image
    from reportlab.platypus import Image as RLImage

    h, w = overlay.shape[:2]
    buf = io.BytesIO()
    Image.fromarray(overlay).save(buf, "JPEG", quality=JPEG_QUALITY)
    buf.seek(0)
    scale = min(max_w / w, max_h / h)
    return RLImage(buf, width=w * scale, height=h * scale)


def _measure(photo: ReportPhoto, categories: CategorySet, info: ReportInfo, roles: Mapping | None,
             result: PdfResult):
    """``(PhotoMeasurements, overlay RGB or None, warnings)`` of one photo, as the HTML report."""
    from core.imageio import load_image

    threshold = info.min_score if photo.source == SOURCE_PREDICTION else None
    if not photo.has_figures:
        return PhotoMeasurements(photo.name, 0, 0, photo.calibration, photo.source, ()), None, [photo.no_figures]
    try:
        ann = at_threshold(photo.load_annotation(), threshold)
    except InspectorError as e:
        msg = f"{photo.name}: cannot be measured: {e.message()}"
        result.problems.append(msg)
        return PhotoMeasurements(photo.name, 0, 0, photo.calibration, photo.source, ()), None, [msg]
    warnings, rgb = [], None
    if photo.image is None:
        warnings.append("The photo was not found; the annotation is shown on grey.")
    else:
        try:
            rgb = photo.image if isinstance(photo.image, np.ndarray) else load_image(photo.image)
        except InspectorError as e:
            warnings.append(f"The photo cannot be shown ({e.message()}); the annotation is shown on grey.")
        if rgb is not None and rgb.shape[:2] != ann.shape:
            warnings.append("The photo's size differs from its annotation's; the annotation is shown on grey.")
            rgb = None
    try:
        ms = measure_annotation(ann, categories, photo.calibration, roles=roles, image=rgb)
    except InspectorError as e:
        msg = f"{photo.name}: cannot be measured: {e.message()}"
        result.problems.append(msg)
        return PhotoMeasurements(photo.name, 0, 0, photo.calibration, photo.source, ()), None, [msg]
    result.problems.extend(f"{photo.name}: {w}" for w in warnings)
    h, w = ann.shape
    pm = PhotoMeasurements(photo.name, w, h, photo.calibration, photo.source, tuple(ms))
    return pm, render_overlay(rgb, ann, categories, ms, max_width=PICTURE_PX), warnings


def write_pdf(photos: Sequence[ReportPhoto], categories: CategorySet, path: str | Path,
              info: ReportInfo | None = None, *, page_size: str = "A4", roles: Mapping | None = None,
              progress: Progress | None = None, cancel=None) -> PdfResult:
    """Write the PDF report to ``path`` (atomically: a failed or cancelled run leaves no file).

    Args:
        photos: in report order; categories: the segments' categories; info: the header
            (``info.details`` carries structure / element notes, ``info.width_limit`` the limit).
        page_size: ``"A4"`` or ``"Letter"``.
        progress: ``progress(done, total, photo name)`` after each photo; cancel: ``is_set()``
            checked between photos.
    Raises:
        ValueError: unknown page size. CancelledError: cancelled. InspectorError: cannot write.
    """
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, LETTER
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer

    if page_size not in PAGE_SIZES:
        raise ValueError(f"page size must be one of {', '.join(PAGE_SIZES)}, got {page_size!r}")
    info = info or ReportInfo()
    path = Path(path)
    result = PdfResult(path)
    styles = _styles()
    size = A4 if page_size == "A4" else LETTER
    margin = 16 * mm
    frame_w, frame_h = size[0] - 2 * margin, size[1] - 2 * margin - 10 * mm
    measured = []
    for k, photo in enumerate(photos):
        if cancel is not None and cancel.is_set():
            raise CancelledError("PDF report cancelled")
        measured.append((_measure(photo, categories, info, roles, result), photo))
        if progress is not None:
            progress(k + 1, len(photos), photo.name)
    result.photos = [m[0][0] for m in measured]

    story = [Paragraph(_e(info.title), styles["h1"]),
             _table(_meta_rows(info, result.photos, styles), [45 * mm, frame_w - 45 * mm], styles, header=False,
                    align_right_from=None),
             Spacer(1, 6), *_totals(result.photos, categories, styles, frame_w),
             Paragraph(_e("Crack width: the median along the crack, read from the photo's grey profile across "
                          "it (below a pixel); Width IQR: its interquartile range along the crack, the "
                          "uncertainty. Width from: photo = the crack's own profile; photo (ref.) = the interior "
                          "contrast of the photo's wider cracks; photo (est.) = thin and blurred, interior "
                          "contrast estimated, [the range of widths that fit its profiles]; "
                          "mask = counted from the mask."), styles["small"])]
    if info.width_limit is not None and info.width_limit.guidance:
        story.append(Paragraph(_e(f"The crack width limit is {info.width_limit.source}'s guidance for reasonable "
                                  "crack widths under service loads, not an acceptance limit; near = the limit "
                                  "lies within the width's IQR."), styles["small"]))
    for index, ((pm, overlay, warnings), photo) in enumerate(measured, start=1):
        story.append(PageBreak())
        exif = read_exif(photo.image) if isinstance(photo.image, (str, Path)) and Path(photo.image).exists() \
            else PhotoExif()
        head = [Paragraph(f"{index}. {_e(pm.name)}", styles["h2"]),
                Paragraph(_e(" · ".join(_photo_facts(pm, exif, info))), styles["small"])]
        head += [Paragraph(_e(w), styles["warn"]) for w in warnings if w]
        if overlay is not None:
            head += [Spacer(1, 4), _picture(overlay, frame_w, frame_h * 0.58)]
        story.append(KeepTogether(head))
        story.append(Spacer(1, 6))
        if pm.source != SOURCE_NONE and pm.defects:
            story.append(_defects_table(pm, info, styles, frame_w))
        elif pm.source != SOURCE_NONE:
            # The same words as the HTML: a model that has not proved itself never says "no defects".
            empty = empty_result_text(pm.source == SOURCE_PREDICTION, info.absence_reason)
            story.append(Paragraph(_e(empty), styles["base" if empty == NO_DEFECTS else "warn"]))

    project = info.project or info.title
    regular, _bold = _fonts()

    def decorate(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(colors.HexColor("#5b6670"))
        canvas.drawString(margin, size[1] - margin + 4 * mm, f"{project} – {info.title}"[:120])
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=size, leftMargin=margin, rightMargin=margin, topMargin=margin + 6 * mm,
                            bottomMargin=margin, title=info.title, author="Panoptic Inspector",
                            subject=project)
    canvas_class = _numbered_canvas(regular, margin, size, project)
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate, canvasmaker=canvas_class)
    data = buf.getvalue()
    result.pages = canvas_class.pages
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    except OSError as e:
        raise InspectorError(f"cannot write the PDF report: {e.strerror or e}", path) from e
    return result


def _numbered_canvas(font: str, margin: float, size, project: str):
    """A canvas class that writes ``Page n of N`` once the page count is known (two passes)."""
    from reportlab.pdfgen import canvas

    class NumberedCanvas(canvas.Canvas):
        pages = 0

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved = []

        def showPage(self):  # noqa: N802 - ReportLab API
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved)
            type(self).pages = total
            for state in self._saved:
                self.__dict__.update(state)
                self.setFont(font, 7.5)
                self.setFillGray(0.35)
                self.drawRightString(size[0] - margin, margin - 8, f"Page {self._pageNumber} of {total}")
                self.drawString(margin, margin - 8, project[:90])
                super().showPage()
            super().save()

    return NumberedCanvas
