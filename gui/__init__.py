"""PySide6 views and workers over core objects. Owns no domain logic.

Importing ``gui`` first guards the process against a PySide6 6.12.0 fault on Python 3.11 that
would otherwise abort it after some thousands of Qt calls (see ``gui.shell.qt_guard``).
"""
from gui.shell.qt_guard import protect_none as _protect_none

_protect_none()
