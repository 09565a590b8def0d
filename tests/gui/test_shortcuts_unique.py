"""No two actions of the window share a key: Qt fires neither of an ambiguous pair, so the key
would silently do nothing (Ctrl+Shift+S was both Save as copy and Split)."""
from __future__ import annotations

from PySide6.QtGui import QKeySequence


def test_every_key_does_one_thing(window):
    owners: dict[str, list[str]] = {}
    for action in window.findChildren(type(window.actions.a["undo"])):
        for seq in action.shortcuts():
            owners.setdefault(seq.toString(QKeySequence.SequenceFormat.PortableText), []).append(
                action.text().replace("&", ""))
    clashes = {key: names for key, names in owners.items() if len(set(names)) > 1}
    assert not clashes, clashes
