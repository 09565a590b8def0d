"""The train dialog starts where ``main.py train`` does: the project's active model, else the
shipped demo model when the project shares a defect with it, else random weights; random weights and
ImageNet features are explicit choices; a model with other categories keeps its class rows by name."""
from __future__ import annotations

import os
from pathlib import Path

from core.categories import default_categories
from core.demo.sample_model import demo_model_path
from core.project import Project
from gui.training import weights_choice as td
from tests.support.gui import open_project


def _dialog(qtbot, window, path: Path):
    open_project(qtbot, window, path)
    dialog = window.training.open_train_dialog(measure=False)
    assert dialog is not None
    return dialog


def _choose(dialog, kind: str) -> None:
    index = dialog.init.findData(kind)
    assert index >= 0, kind
    dialog.init.setCurrentIndex(index)


def test_a_project_without_models_fine_tunes_the_shipped_model(qtbot, window, make_project):
    dialog = _dialog(qtbot, window, make_project(4, annotated=4))
    assert dialog.init.currentData() == td.INIT_SHIPPED
    cfg = dialog.request().config
    assert Path(cfg.init_weights) == demo_model_path() and cfg.init_kind == "checkpoint" and cfg.new_class_head
    assert "demo model" in dialog.init_note.text()

    _choose(dialog, td.INIT_NONE)
    cfg = dialog.request().config
    assert cfg.init_weights == "" and cfg.init_kind == "none" and cfg.model_preset == "cpu_fast"

    _choose(dialog, td.INIT_FEATURES)  # ImageNet features choose the preset whose backbone has them
    assert dialog.preset.currentData() == "cpu_lite0"
    cfg = dialog.request().config
    assert (cfg.init_weights, cfg.init_kind, cfg.model_preset) == ("", "imagenet", "cpu_lite0")
    assert dialog.start_button.isEnabled()
    dialog.preset.setCurrentIndex(dialog.preset.findData("cpu_fast"))
    assert not dialog.start_button.isEnabled() and "cpu_lite0" in dialog.problem.text()
    if os.environ.get("SHOTS_DIR"):
        _choose(dialog, td.INIT_SHIPPED)
        dialog.adjustSize()
        dialog.grab().save(os.path.join(os.environ["SHOTS_DIR"], "train_dialog_shipped.png"))
    dialog.reject()


def test_a_crack_only_project_is_offered_the_shipped_model_and_one_without_its_defects_is_not():
    cats = default_categories()
    crack_only = cats.removed(2).removed(3).removed(4).added("planking", False)
    assert td.shipped_model(crack_only) is not None  # what the shipped model learnt of cracks carries over
    assert td.shipped_model(cats.removed(1).removed(2).removed(3).added("graffiti", True)) is None


def test_a_crack_only_project_opens_the_dialog_on_the_shipped_model(qtbot, window, tmp_path):
    from core.categories import Category, CategorySet
    from tests.support.gui import write_photos

    cats = CategorySet((Category(1, "crack", True, (230, 25, 75)), Category(2, "concrete", False, (60, 180, 75)),
                        Category(3, "planking", False, (200, 200, 200))))
    path = tmp_path / "cracks.pinspect"
    with Project.create(path, cats) as project:
        project.images.add_files(write_photos(tmp_path / "photos", 2))
    dialog = _dialog(qtbot, window, path)
    assert dialog.init.currentData() == td.INIT_SHIPPED
    note = dialog.init_note.text()
    assert "learnt of crack, concrete is kept" in note and "new rows for: planking" in note
    if os.environ.get("SHOTS_DIR"):
        dialog.adjustSize()
        dialog.grab().save(os.path.join(os.environ["SHOTS_DIR"], "train_dialog_crack_only.png"))
    dialog.reject()


def test_the_active_model_is_the_start_and_keeps_class_rows_by_name(qtbot, window, make_project, tmp_path):
    path = make_project(4, annotated=4)
    fewer = default_categories().removed(3)  # a model that never knew exposed_rebar
    ckpt = tmp_path / "own.pt"
    ckpt.write_bytes(b"stand-in: the dialog never loads it")
    with Project.open(path) as p:
        older = p.models.add("older", checkpoint=ckpt, config={"backbone": "resnet18"}, categories=default_categories())
        own = p.models.add("own model", checkpoint=ckpt, config={"backbone": "resnet18"}, categories=fewer)
        from core.project.active_model import set_active_model

        set_active_model(p, own)
    dialog = _dialog(qtbot, window, path)
    assert dialog.init.currentData() == td.INIT_MODEL and dialog.init_model.currentData() == own
    assert "(active)" in dialog.init_model.currentText()
    assert dialog.new_head.isVisibleTo(dialog) and dialog.new_head.isChecked()
    assert "new rows for: exposed_rebar" in dialog.init_note.text()
    request = dialog.request()
    assert request.config.init_weights == str(ckpt) and request.config.new_class_head
    assert request.model_config == {"backbone": "resnet18"}
    dialog.init_model.setCurrentIndex(dialog.init_model.findData(older))  # same categories: no new rows
    assert not dialog.new_head.isVisibleTo(dialog) and "new rows" not in dialog.init_note.text()
    if os.environ.get("SHOTS_DIR"):
        dialog.init_model.setCurrentIndex(dialog.init_model.findData(own))
        dialog.adjustSize()
        dialog.grab().save(os.path.join(os.environ["SHOTS_DIR"], "train_dialog_active.png"))
    dialog.reject()


def test_the_dialog_answers_qts_size_and_names_its_image_size_spin_box(qtbot, window, make_project):
    """A spin box stored as ``size`` once hid ``QWidget.size()``: asking the dialog its size failed."""
    dialog = _dialog(qtbot, window, make_project(4, annotated=4))
    assert dialog.size() == dialog.geometry().size()
    assert dialog.image_size.suffix() == " px" and dialog.request().config.max_size == dialog.image_size.value()
    dialog.reject()
