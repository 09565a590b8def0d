"""Preferences come back in their type whatever the settings file holds: the file is the user's,
and a hand edit or another version may have left text, a list or nothing under a key."""
from __future__ import annotations

from PySide6.QtCore import QSettings

from gui.shell.settings import Preferences


def test_numbers_come_back_typed_and_junk_falls_back_to_the_default(tmp_path, qapp):
    qs = QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)
    prefs = Preferences(qs)
    qs.setValue("tools/brush_size", "24.5")   # an INI file stores text
    qs.setValue("tools/tolerance", "12")
    qs.setValue("view/opacity", "half")       # a hand edit
    qs.setValue("tools/other", ["1", "2"])    # a list where a number belongs
    assert prefs.get_float("tools/brush_size", 16.0) == 24.5
    assert prefs.get_int("tools/tolerance", 10) == 12 and isinstance(prefs.get_int("tools/tolerance", 10), int)
    assert prefs.get_int("tools/brush_size", 7) == 7  # "24.5" is no whole number
    assert prefs.get_float("view/opacity", 0.45) == 0.45
    assert prefs.get_int("tools/other", 3) == 3 and prefs.get_float("tools/other", 0.5) == 0.5
    assert prefs.get_float("never/set", 1.5) == 1.5 and prefs.get_int("never/set", 4) == 4
    prefs.qs.sync()
    again = Preferences(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat))
    assert again.get_float("tools/brush_size", 16.0) == 24.5  # read back from the file
