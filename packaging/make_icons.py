"""Render the application icon from its SVG into the files each platform wants.

    python packaging/make_icons.py        # rewrites resources/icons/*.png, .ico, .icns

Outputs (committed, so neither the app nor a bundle build needs an SVG renderer at run time):
``panoptic-inspector-<N>.png`` for the freedesktop hicolor sizes and the window icon,
``panoptic-inspector.ico`` (Windows: the .exe and taskbar) and ``panoptic-inspector.icns`` (macOS).
Sizes of 32 px and below are drawn from ``panoptic-inspector-small.svg``, a simplified drawing
(no speckles or rebar, a thicker crack), because the full drawing turns to mush at 16 px.
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
NAME = "panoptic-inspector"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
SMALL_MAX = 32
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512)


def render(svg: Path, size: int):
    """The SVG rendered to a ``size`` x ``size`` RGBA PIL image."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    return Image.open(io.BytesIO(bytes(data))).convert("RGBA")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - fonts, image plugins
    big, small = ICONS / f"{NAME}.svg", ICONS / f"{NAME}-small.svg"
    images = {n: render(small if n <= SMALL_MAX else big, n) for n in sorted(set(PNG_SIZES + ICO_SIZES + ICNS_SIZES))}
    for n in PNG_SIZES:
        images[n].save(ICONS / f"{NAME}-{n}.png", optimize=True)
    # Pillow picks each size from the list, resampling only the ones it was not given.
    images[256].save(ICONS / f"{NAME}.ico", sizes=[(n, n) for n in ICO_SIZES],
                     append_images=[images[n] for n in ICO_SIZES if n != 256])
    images[512].save(ICONS / f"{NAME}.icns", append_images=[images[n] for n in ICNS_SIZES if n != 512])
    for p in sorted(ICONS.iterdir()):
        print(f"{p.name:36s} {p.stat().st_size:8d} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
