"""Light and dark palettes; by default the application follows the system's colour scheme.

Fusion is used everywhere so the window looks the same on Linux, Windows and macOS; its palette
is switched when the system scheme changes (Qt 6.5+ reports it through ``QStyleHints``).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

SYSTEM, LIGHT, DARK = "system", "light", "dark"


def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 32, 36), QColor(43, 45, 50), QColor(226, 228, 232)
    roles = {
        QPalette.ColorRole.Window: window, QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base, QPalette.ColorRole.AlternateBase: QColor(38, 40, 45),
        QPalette.ColorRole.ToolTipBase: QColor(55, 58, 64), QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text, QPalette.ColorRole.Button: QColor(52, 55, 61),
        QPalette.ColorRole.ButtonText: text, QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Highlight: QColor(59, 130, 246), QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(96, 165, 250), QPalette.ColorRole.PlaceholderText: QColor(140, 144, 152),
        QPalette.ColorRole.Mid: QColor(70, 73, 80), QPalette.ColorRole.Dark: QColor(25, 26, 30),
        QPalette.ColorRole.Light: QColor(75, 78, 86), QPalette.ColorRole.Midlight: QColor(62, 65, 72),
        QPalette.ColorRole.Shadow: QColor(10, 10, 12),
    }
    for role, colour in roles.items():
        p.setColor(role, colour)
    dim = QColor(120, 123, 130)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, dim)
    return p


def light_palette() -> QPalette:
    p = QApplication.style().standardPalette()
    p.setColor(QPalette.ColorRole.Highlight, QColor(37, 99, 235))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    return p


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hasattr(hints, "colorScheme") and hints.colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, choice: str = SYSTEM) -> None:
    """Use Fusion with a light or dark palette; ``SYSTEM`` follows the system and its changes."""
    if app.style().name().lower() != "fusion":
        app.setStyle(QStyleFactory.create("Fusion"))
    dark = system_is_dark() if choice == SYSTEM else choice == DARK
    app.setPalette(dark_palette() if dark else light_palette())
    app.setProperty("themeChoice", choice)
    hints = QGuiApplication.styleHints()
    if choice == SYSTEM and hasattr(hints, "colorSchemeChanged") and not app.property("themeFollows"):
        app.setProperty("themeFollows", True)
        def follow(_scheme: object) -> None:
            if app.property("themeChoice") == SYSTEM:
                apply_theme(app, SYSTEM)

        hints.colorSchemeChanged.connect(follow)
