"""The thin-structure flag of categories: the add dialog, the panel's toggle, the project keeps it."""
from __future__ import annotations

from core.project import Project
from gui.dialogs.category_dialogs import AddCategoryDialog

from tests.support.dialogs import answer_add_category
from tests.support.gui import open_project


def test_add_dialog_flag_follows_the_name_until_the_user_chooses(qtbot):
    from core.categories import default_categories

    dlg = AddCategoryDialog(default_categories())
    qtbot.addWidget(dlg)
    dlg.name.setText("hairline crack")
    assert dlg.thin.isChecked() and dlg.thin_flag() is None  # the name decides: nothing to store
    dlg.name.setText("efflorescence")
    assert not dlg.thin.isChecked()
    dlg.thin.click()  # the user's choice wins over the name from now on
    dlg.name.setText("efflorescence trail")
    assert dlg.thin.isChecked() and dlg.thin_flag() is True


def test_panel_toggle_is_stored_and_survives_rename_and_reopening(qtbot, window, make_project, monkeypatch):
    path = make_project(1, annotated=1)
    open_project(qtbot, window, path)
    panel = window.categories_panel

    answer_add_category(monkeypatch, "sealant joint", True, (10, 20, 30), thin=True)
    panel.buttons["add"].click()
    assert panel.current().name == "sealant joint" and panel.current().thin is True
    assert panel.buttons["thin"].isChecked()
    monkeypatch.setattr("gui.views.category_panel.QInputDialog.getText", lambda *a, **k: ("joint", True))
    panel.buttons["rename"].click()
    assert window.session.categories.by_name("joint").thin is True  # renaming keeps the flag
    panel.select_by_key(1)  # crack: thin by its name
    assert panel.current().name == "crack" and panel.buttons["thin"].isChecked()
    panel.buttons["thin"].click()
    assert window.session.categories.by_name("crack").thin is False and not panel.buttons["thin"].isChecked()
    with Project.open(path, read_only=True) as p:
        cats = p.categories.get()
    assert cats.by_name("crack").thin is False and cats.by_name("joint").thin is True
    assert cats.by_name("spalling").thin is None  # untouched categories still follow their names
