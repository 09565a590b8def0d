"""Protection against a reference-counting fault of PySide6 6.12.0 on Python 3.11.

Measured here (PySide6 6.12.0, shiboken6 6.12.0, CPython 3.11.7): every call of a Qt method
that returns ``void`` (``QPainter.drawImage``, ``QWidget.update``, ``QObject.setObjectName`` ...)
releases one reference to ``None`` that it never took, and some calls returning ``bool``
(``QCoreApplication.sendEvent``) do the same to ``True``/``False``. PySide6 6.11.3 does not.
From Python 3.12 on these objects are immortal and nothing happens; on 3.11 their counts (a few
thousand after start-up) fall with every such call, and the interpreter aborts ("Fatal Python
error: none_dealloc") once one reaches zero: after a few seconds of panning a photo, or during
a long test run.

``protect_none()`` detects the fault with a probe (64 calls of a void method) and, only when it
is present, raises the counts of ``None``, ``True`` and ``False`` by 2**60, which no run can use
up (a million faulty calls a second for 36,000 years): the effect of 3.12's immortal objects.
It is idempotent and does nothing on a correct PySide6 or on Python >= 3.12. Remove it once
PySide6 6.12.0 is excluded from the dependencies.
"""
from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

_RESERVE = 1 << 60
_done = False


def leaks_none() -> bool:
    """True when a void Qt method call drops a reference to None (the fault above)."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(64):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None) >= 64


def protect_none() -> bool:
    """Apply the protection when needed; returns True when it was (or had been) applied."""
    global _done
    if _done:
        return True
    if sys.version_info >= (3, 12) or not leaks_none():
        return False
    # ob_refcnt is the first field of every object (Py_ssize_t); with the GIL held this is what
    # Py_INCREF does, 2**60 times at once.
    for singleton in (None, True, False):
        refcnt = ctypes.c_ssize_t.from_address(id(singleton))
        refcnt.value += _RESERVE
    _done = True
    log.info("PySide6 %s releases a reference to None on every void call; protected against it "
                "(pin another PySide6 release to drop this)", _pyside_version())
    return True


def _pyside_version() -> str:
    try:
        import PySide6

        return PySide6.__version__
    except Exception:  # noqa: BLE001 - only for the message
        return "?"
