"""Make the README's report thumbnail: a sample project of synthetic photos, its report, a screenshot.

    .venv/bin/python docs/images/report_thumbnail.py /tmp/report_sample

Needs Chromium (Debian: ``apt-get install chromium``) for the screenshot; without it the sample
project and the report are still made. Writes docs/images/report_thumbnail.png (< 300 KB); the
full-size screenshots (first screen, whole page) stay in the output folder.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.cli import main as cli_main  # noqa: E402
from core.imageio import encode_jpeg  # noqa: E402
from core.measure import calibration_from_line  # noqa: E402
from core.project import Project  # noqa: E402
from core.synthetic import generate_sample  # noqa: E402

SEEDS = (4, 33, 30)
SIZE = (2400, 1600)


def make_project(out: Path) -> Path:
    (out / "photos").mkdir(parents=True, exist_ok=True)
    files = []
    samples = {}
    for k, seed in enumerate(SEEDS):
        rgb, ann = generate_sample(seed, SIZE)
        f = out / "photos" / f"retaining_wall_{k + 1:02d}.jpg"
        f.write_bytes(encode_jpeg(rgb, quality=90))
        files.append(f)
        samples[f.name] = ann
    path = out / "sample.pinspect"
    if path.exists():
        path.unlink()
    with Project.create(path, name="Retaining wall, Hauptstraße 12 (synthetic sample)") as project:
        for rec in project.images.add_files(files).added:
            project.annotations.save(rec.id, samples[rec.name])
            if not rec.name.endswith("03.jpg"):  # the third photo stays uncalibrated: figures in px
                cal = calibration_from_line((200, 1500), (1800, 1500), 1, unit="m")  # a folding rule
                project.calibration.set(rec.id, cal)
    return path


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 1700) -> bool:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("no Chromium found: skipping the screenshot", file=sys.stderr)
        return False
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                        f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={width},{height}",
                        html.resolve().as_uri()], check=True, capture_output=True, timeout=180)
    return png.is_file()


def main(out: Path) -> int:
    from PIL import Image

    project = make_project(out)
    report = out / "report"
    if cli_main(["report", str(project), "--out", str(report)]) != 0:
        return 1
    shot = out / "screenshot.png"
    if not screenshot(report / "report.html", shot):
        return 0
    screenshot(report / "report.html", out / "whole_page.png", height=9000)
    page = Image.open(shot).convert("RGB")
    thumb = page.resize((800, round(page.height * 800 / page.width)), Image.Resampling.LANCZOS)
    # A 256-colour palette (octree keeps the category colours true) brings it from ~600 to ~150 KB.
    thumb.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(
        ROOT / "docs/images/report_thumbnail.png", optimize=True)
    print(f"report_thumbnail.png: {(ROOT / 'docs/images/report_thumbnail.png').stat().st_size // 1024} KB; "
          f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="report_sample_"))))
