"""The category dialogs behave as widgets: the delete dialog can be placed on the screen (a
"move" radio button once hid ``QWidget.move``) and says which category the pixels go to."""
from __future__ import annotations

from PySide6.QtCore import QPoint

from core.categories import default_categories
from gui.dialogs.category_dialogs import DeleteCategoryDialog, PixelDecision


def test_the_delete_dialog_can_be_moved_and_gives_the_pixels_to_the_chosen_category(qtbot):
    cats = list(default_categories())
    dlg = DeleteCategoryDialog(cats[0], default_categories(), (3, 1, 1200))
    qtbot.addWidget(dlg)
    dlg.move(40, 50)
    assert dlg.pos() == QPoint(40, 50)
    assert dlg.decision() == PixelDecision(None)  # void unless another category is chosen
    dlg.give.setChecked(True)
    assert dlg.target.isEnabled()
    assert dlg.decision() == PixelDecision(cats[1].id)
