"""The PDF report: pages per photo, page numbers, header notes, EXIF capture time and GPS, the
calibration used, crack widths against the limit; its pages are rendered (pypdfium2) and checked."""
import threading

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image, TiffImagePlugin

from core.categories import default_categories
from core.cli import main
from core.errors import CancelledError
from core.measure import calibration_from_gsd
from core.measure.exposure import ACI_224R_TABLE_4_1, set_project_width_limit
from core.panoptic import PanopticAnnotation, Segment
from core.project import Project
from core.report import ReportInfo, ReportPhoto
from core.report.exif import read_exif
from core.report.pdf_report import write_pdf
from core.synthetic.thin_crack import render_crack

R = TiffImagePlugin.IFDRational


def _crack_photo(path, seed, exif=False):
    """A 256 x 128 photo of a 2 px and a 6 px crack written to ``path``; returns its annotation."""
    a = render_crack(2.0, blur_sigma=0.5, noise_sigma=2.0, contrast=60.0, seed=seed)
    b = render_crack(6.0, blur_sigma=0.5, noise_sigma=2.0, contrast=60.0, angle_deg=-60, seed=seed + 1)
    gray = np.hstack([a.image, b.image])
    img = Image.fromarray(np.repeat(gray[..., None], 3, 2))
    if exif:
        ex = img.getexif()
        ex.get_ifd(0x8769)[0x9003] = "2024:05:03 14:21:07"
        gps = ex.get_ifd(0x8825)
        gps[1], gps[2], gps[3], gps[4] = "S", (R(33), R(51), R(3600, 100)), "E", (R(151), R(12), R(3000, 100))
        img.save(path, exif=ex, quality=95)
    else:
        img.save(path)
    ids = np.full(gray.shape, 9, np.int32)
    ids[np.hstack([a.mask(), np.zeros_like(b.mask())])] = 1
    ids[np.hstack([np.zeros_like(a.mask()), b.mask()])] = 2
    return PanopticAnnotation(ids, {1: Segment(1, 1), 2: Segment(2, 1), 9: Segment(9, 4)})


def _texts(path):
    pdf = pdfium.PdfDocument(str(path))
    # Table headings wrap inside their cells: compare the words, not the line breaks.
    return pdf, [" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf))]


def test_exif_time_and_position_are_read(tmp_path):
    _crack_photo(tmp_path / "a.jpg", 1, exif=True)
    e = read_exif(tmp_path / "a.jpg")
    assert e.taken == "2024-05-03 14:21:07"
    assert e.lat == pytest.approx(-(33 + 51 / 60 + 36 / 3600)) and e.lon == pytest.approx(151 + 12 / 60 + 30 / 3600)
    assert e.position == "33.860000° S, 151.208333° E"
    _crack_photo(tmp_path / "b.png", 1)
    assert read_exif(tmp_path / "b.png").position is None and read_exif(tmp_path / "missing.jpg").taken is None


def test_pages_numbers_notes_exif_calibration_and_limit(tmp_path):
    photos = [ReportPhoto("north.jpg", tmp_path / "north.jpg", _crack_photo(tmp_path / "north.jpg", 1, exif=True),
                          calibration_from_gsd(0.1)),
              ReportPhoto("south.png", tmp_path / "south.png", _crack_photo(tmp_path / "south.png", 3), None)]
    info = ReportInfo(project="Bridge A12", details=(("Structure", "Pier 3"), ("Element", "Crossbeam B")),
                      width_limit=ACI_224R_TABLE_4_1[2])
    res = write_pdf(photos, default_categories(), tmp_path / "r.pdf", info)
    pdf, texts = _texts(res.path)
    assert len(pdf) == res.pages == 3  # a first page, then a page per photo
    assert pdf[0].get_size() == pytest.approx((595.3, 841.9), abs=0.5)  # A4 in points
    for k, text in enumerate(texts, start=1):
        assert f"Page {k} of 3" in text and "Bridge A12" in text
    first, north, south = texts
    assert "Pier 3" in first and "Crossbeam B" in first and "De-icing chemicals" in first
    assert "guidance, not an acceptance limit" in first
    assert "taken 2024-05-03 14:21:07" in north and "33.860000° S, 151.208333° E" in north
    assert "1 px = 0.1 mm" in north and "Width (mm)" in north
    assert "above 0.18 mm" in north  # the 6 px crack: 0.6 mm
    assert "capture time: not in the photo" in south and "not calibrated" in south and "Width (px)" in south
    # The picture is on the page: red crack outlines over the (tinted) photo, not a blank page.
    page = np.asarray(pdf[1].render(scale=1.0).to_pil().convert("RGB")).astype(int)
    reddish = (page[..., 0] > 150) & (page[..., 1] < 90) & (page[..., 2] < 120)
    photo = (page.max(-1) < 200) & (page.min(-1) > 40)  # mid tones: neither the white page nor text
    assert reddish.sum() > 200 and photo.sum() > 20_000


def test_letter_pages_and_a_long_table_flows_onto_more_pages(tmp_path):
    ids = np.full((400, 600), 9, np.int32)
    segs = {9: Segment(9, 4)}
    for k in range(80):  # 80 spalled patches: a table longer than a page
        y, x = 20 + (k // 10) * 45, 20 + (k % 10) * 55
        ids[y:y + 12, x:x + 12] = 100 + k
        segs[100 + k] = Segment(100 + k, 2)
    rgb = np.full((400, 600, 3), 150, np.uint8)
    res = write_pdf([ReportPhoto("deck.png", rgb, PanopticAnnotation(ids, segs))], default_categories(),
                    tmp_path / "r.pdf", ReportInfo(project="Deck"), page_size="Letter")
    pdf, texts = _texts(res.path)
    assert len(pdf) >= 3 and pdf[0].get_size() == pytest.approx((612, 792), abs=0.5)
    assert "80" in texts[-1] and texts[-1].count("spalling") > 3  # the table's last rows, header repeated
    assert "Area" in texts[-1]


def test_cancel_leaves_no_file_and_bad_page_size_is_refused(tmp_path):
    ann = _crack_photo(tmp_path / "a.png", 1)
    stop = threading.Event()
    stop.set()
    with pytest.raises(CancelledError):
        write_pdf([ReportPhoto("a.png", tmp_path / "a.png", ann)], default_categories(), tmp_path / "r.pdf",
                  cancel=stop)
    assert not (tmp_path / "r.pdf").exists()
    with pytest.raises(ValueError, match="A4"):
        write_pdf([], default_categories(), tmp_path / "r.pdf", page_size="A3")


def test_main_report_pdf_from_a_project(tmp_path, capsys):
    ann = _crack_photo(tmp_path / "wall.jpg", 5, exif=True)
    with Project.create(tmp_path / "p.pinspect") as project:
        project.images.add_files([tmp_path / "wall.jpg"])
        image_id = project.images.list()[0].id
        project.annotations.save(image_id, ann)
        project.calibration.set(image_id, calibration_from_gsd(0.2))
        set_project_width_limit(project, ACI_224R_TABLE_4_1[1])
    out = tmp_path / "out"
    assert main(["report", str(tmp_path / "p.pinspect"), "--out", str(out), "--pdf", "--page-size", "Letter",
                 "--structure", "Pier 3", "--element", "North face", "--notes", "dry, overcast"]) == 0
    assert "report.pdf (2 pages, Letter)" in capsys.readouterr().out
    pdf, texts = _texts(out / "report.pdf")
    assert pdf[0].get_size() == pytest.approx((612, 792), abs=0.5)
    assert "Pier 3" in texts[0] and "North face" in texts[0] and "dry, overcast" in texts[0]
    assert "Humidity, moist air, soil" in texts[0]
    assert "taken 2024-05-03 14:21:07" in texts[1] and "1 px = 0.2 mm" in texts[1]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Pier 3" in html and "Crack width limit" in html
