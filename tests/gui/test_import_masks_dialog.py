"""Importing photos + class-index masks in the window with the command line's options: the values
found in the masks are listed (pixels, share) and each mapped to a category (an existing one, a
new one, unlabelled or void), specks below the minimum area are dropped, and a dry run says what
will be created before anything is written."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit

from core.formats.detect import MASK_FOLDER
from gui.dialogs.import_dialog import ImportDialog

from tests.support.gui import open_project, write_photos

pytestmark = pytest.mark.timeout(60)

W, H = 96, 64
SPECKS = 10


def class_mask() -> np.ndarray:
    """``[64, 96]`` uint8: a crack (1), one spall (2) with ten 2-px specks of its value along a
    ragged edge (never touching it, even diagonally), and a corroded patch (5); 0 elsewhere."""
    m = np.zeros((H, W), np.uint8)
    m[5:7, 5:60] = 1
    m[30:45, 10:30] = 2
    for k in range(SPECKS):
        y = 48 + 3 * (k // 5)
        x = 10 + 4 * (k % 5)
        m[y, x:x + 2] = 2
    m[30:50, 60:85] = 5
    return m


@pytest.fixture
def mask_dataset(tmp_path) -> tuple[Path, Path]:
    photos = write_photos(tmp_path / "site" / "photos", 2, W, H, start=40)
    masks = tmp_path / "site" / "labels"
    masks.mkdir()
    for p in photos:
        Image.fromarray(class_mask()).save(masks / f"{p.stem}.png")
    return photos[0].parent, masks


def _open_dialog(qtbot, window) -> ImportDialog:
    window.actions.a["import"].trigger()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(ImportDialog)), timeout=5000)
    return next(d for d in window.findChildren(ImportDialog) if d.isVisible())


def _type_path(qtbot, edit: QLineEdit, path: Path) -> None:
    edit.clear()
    qtbot.keyClicks(edit, str(path))
    qtbot.keyClick(edit, Qt.Key.Key_Tab)


def _row_of(table, value: int) -> int:
    for r in range(table.rowCount()):
        if table.item(r, 0) is not None and table.item(r, 0).text() == str(value):
            return r
    raise AssertionError(f"value {value} is not listed")


def test_masks_with_values_1_2_5_import_with_5_as_a_new_category_and_specks_dropped(
        qtbot, window, make_project, mask_dataset):
    photos, masks = mask_dataset
    open_project(qtbot, window, make_project(1, annotated=0))
    dialog = _open_dialog(qtbot, window)
    dialog.kind.setCurrentIndex(dialog.kind.findData(MASK_FOLDER))
    _type_path(qtbot, dialog.images.edit, photos)
    _type_path(qtbot, dialog.masks.edit, masks)

    table = dialog.classes.table
    qtbot.waitUntil(lambda: table.rowCount() == 4, timeout=10_000)  # values 0, 1, 2, 5 found in the masks
    share = table.item(_row_of(table, 5), 1).text()
    assert "%" in share  # pixels and share of the masks' pixels
    assert not dialog.classes.preview.pixmap().isNull()  # one mask coloured by the mapping

    # by default the values follow the command line's defaults: 1 crack, 2 spalling, 5 background
    becomes = table.cellWidget(_row_of(table, 5), 3)
    assert isinstance(becomes, QComboBox) and becomes.currentText() == "background"
    becomes.setFocus()
    becomes.setCurrentIndex(becomes.findText("New category…"))
    name = table.cellWidget(_row_of(table, 5), 4)
    assert isinstance(name, QLineEdit) and name.isEnabled()
    name.clear()
    qtbot.keyClicks(name, "corrosion")
    kind = table.cellWidget(_row_of(table, 5), 5)
    kind.setCurrentIndex(kind.findText("thing"))
    assert dialog.min_area.value() >= 4  # the default removes 2-px specks

    qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "corrosion" in dialog.summary.toPlainText(), timeout=20_000)
    summary = dialog.summary.toPlainText()
    assert "2 photos" in summary and "spalling: 2" in summary and "corrosion: 2" in summary, summary
    assert len(window.session.images) == 1  # the check wrote nothing
    assert "corrosion" not in [c.name for c in window.session.project.categories.get()]

    assert dialog.import_button.isEnabled()
    with qtbot.waitSignal(window.session.imagesChanged, timeout=20_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=20_000)
    project = window.session.project
    cats = {c.name: c for c in project.categories.get()}
    assert "corrosion" in cats and cats["corrosion"].isthing
    imported = [r for r in project.images.list() if r.path.parent.name == "photos"]
    assert len(imported) == 2
    for rec in imported:
        ann = project.annotations.load(rec.id)
        per_class: dict[str, int] = {}
        for seg in ann.segments.values():
            per_class[project.categories.get().by_id(seg.category_id).name] = \
                per_class.get(project.categories.get().by_id(seg.category_id).name, 0) + 1
        assert per_class == {"crack": 1, "spalling": 1, "corrosion": 1}  # one spall is one segment
    for box in QApplication.topLevelWidgets():
        if box.isVisible() and box.windowTitle() == "Import finished":
            box.close()


def _check(qtbot, dialog) -> str:
    with qtbot.waitSignal(dialog.checked, timeout=20_000):
        qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    return dialog.summary.toPlainText()


def _dialog_with_masks(qtbot, window, make_project, photos, masks) -> ImportDialog:
    open_project(qtbot, window, make_project(1, annotated=0))
    dialog = _open_dialog(qtbot, window)
    dialog.kind.setCurrentIndex(dialog.kind.findData(MASK_FOLDER))
    _type_path(qtbot, dialog.images.edit, photos)
    _type_path(qtbot, dialog.masks.edit, masks)
    qtbot.waitUntil(lambda: dialog.classes.table.rowCount() == 4, timeout=10_000)
    return dialog


def test_a_changed_option_asks_for_a_new_check_and_a_zero_minimum_area_counts_the_specks(
        qtbot, window, make_project, mask_dataset):
    dialog = _dialog_with_masks(qtbot, window, make_project, *mask_dataset)
    assert "spalling: 2" in _check(qtbot, dialog) and dialog.import_button.isEnabled()
    dialog.min_area.selectAll()
    qtbot.keyClicks(dialog.min_area, "0")
    assert not dialog.import_button.isEnabled() and "Check again" in dialog.summary.toPlainText()
    summary = _check(qtbot, dialog)
    assert f"spalling: {2 * (1 + SPECKS)}" in summary  # every speck would be a spall of its own
    assert "--min-area 0" in summary and "--classes" in summary  # the same import on the command line


def test_unlabelled_values_take_the_fill_class_and_void_stays_void(qtbot, window, make_project, mask_dataset):
    dialog = _dialog_with_masks(qtbot, window, make_project, *mask_dataset)
    table = dialog.classes.table
    becomes = table.cellWidget(_row_of(table, 5), 3)
    becomes.setCurrentIndex(becomes.findText("unlabelled (fill class or void)"))
    assert not table.cellWidget(_row_of(table, 5), 4).isEnabled()  # no name to give
    dialog.fill.setCurrentIndex(dialog.fill.findText("concrete"))
    summary = _check(qtbot, dialog)
    assert "concrete: 2" in summary and "background" not in summary and "corrosion" not in summary
    becomes = table.cellWidget(_row_of(table, 2), 3)
    becomes.setCurrentIndex(becomes.findText("void (never labelled)"))
    summary = _check(qtbot, dialog)
    assert "spalling" not in summary and "crack: 2" in summary


def test_a_mapping_file_names_the_values(qtbot, window, make_project, mask_dataset, tmp_path):
    photos, masks = mask_dataset
    mapping = tmp_path / "classes.json"
    mapping.write_text('{"values": {"1": "crack", "2": "spalling", "5": "corrosion"}, '
                       '"categories": [{"id": 1, "name": "crack", "isthing": 1, "color": [230, 25, 75]}, '
                       '{"id": 2, "name": "spalling", "isthing": 1, "color": [245, 130, 48]}, '
                       '{"id": 7, "name": "corrosion", "isthing": 1, "color": [120, 70, 20]}]}')
    dialog = _dialog_with_masks(qtbot, window, make_project, photos, masks)
    _type_path(qtbot, dialog.mapping_file.edit, mapping)
    table = dialog.classes.table
    qtbot.waitUntil(lambda: table.cellWidget(_row_of(table, 5), 3).currentText() == "New category…", timeout=10_000)
    assert table.cellWidget(_row_of(table, 5), 4).text() == "corrosion"
    assert "New categories: corrosion (thing)" in _check(qtbot, dialog)


def test_problems_are_listed_with_their_reasons_and_nothing_is_written(
        qtbot, window, make_project, mask_dataset, tmp_path):
    photos, masks = mask_dataset
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(masks / "photo_041.png")  # wrong size for its photo
    dialog = _dialog_with_masks(qtbot, window, make_project, photos, masks)
    summary = _check(qtbot, dialog)
    assert "1 photos will be added" in summary and "Skipped: 1" in summary
    assert "photo_041.png" in summary and "10x10" in summary  # which file, and why
    _type_path(qtbot, dialog.images.edit, tmp_path / "nowhere")
    summary = _check(qtbot, dialog)
    assert summary.startswith("Cannot import:") and "does not exist" in summary
    assert not dialog.import_button.isEnabled()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=10_000)
    assert len(window.session.images) == 1 and len(window.session.project.images.list()) == 1


def test_masks_named_by_class_are_read_as_one_binary_mask_per_class(qtbot, window, make_project, tmp_path):
    photos = write_photos(tmp_path / "binary" / "photos", 2, W, H, start=60)
    masks = tmp_path / "binary" / "masks"
    m = class_mask()
    for token, value in (("crack", 1), ("spalling", 2)):
        (masks / token).mkdir(parents=True)
        for p in photos:
            Image.fromarray(((m == value) * 255).astype(np.uint8)).save(masks / token / f"{p.stem}.png")
    open_project(qtbot, window, make_project(1, annotated=0))
    dialog = _open_dialog(qtbot, window)
    dialog.kind.setCurrentIndex(dialog.kind.findData(MASK_FOLDER))
    _type_path(qtbot, dialog.images.edit, photos[0].parent)
    _type_path(qtbot, dialog.masks.edit, masks)
    qtbot.waitUntil(lambda: dialog.mode.currentData() == "binary", timeout=10_000)
    assert "crack (2 photos)" in dialog.classes.note.text() and not dialog.classes.table.isVisible()
    summary = _check(qtbot, dialog)
    assert "2 photos will be added" in summary and "crack: 2" in summary and "spalling: 2" in summary, summary
    with qtbot.waitSignal(window.session.imagesChanged, timeout=20_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.session.images) == 3, timeout=10_000)


def test_a_dropped_mask_dataset_opens_the_dialog_with_the_values_listed(qtbot, window, make_project, mask_dataset):
    photos, masks = mask_dataset
    open_project(qtbot, window, make_project(1, annotated=0))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photos.parent))])  # the folder with photos/ and labels/
    pos = QPointF(window.rect().center())
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    QApplication.sendEvent(window, QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                              Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(ImportDialog)), timeout=5000)
    dialog = next(d for d in window.findChildren(ImportDialog) if d.isVisible())
    assert dialog.kind.currentData() == MASK_FOLDER and dialog.masks.path() == masks
    qtbot.waitUntil(lambda: dialog.classes.table.rowCount() == 4, timeout=10_000)
    assert "2 photos will be added" in _check(qtbot, dialog)
    assert len(window.session.images) == 1  # nothing added without the user's go


def test_labelme_labels_keep_the_project_categories(qtbot, window, make_project, tmp_path):
    import json

    from core.formats.detect import LABELME

    photo = write_photos(tmp_path / "lm", 1, W, H, start=80)[0]
    (tmp_path / "lm" / f"{photo.stem}.json").write_text(json.dumps({
        "shapes": [{"label": "spalling", "points": [[10, 10], [40, 10], [40, 30], [10, 30]], "shape_type": "polygon"}],
        "imagePath": photo.name, "imageHeight": H, "imageWidth": W, "imageData": None}))
    open_project(qtbot, window, make_project(1, annotated=0))
    dialog = _open_dialog(qtbot, window)
    dialog.kind.setCurrentIndex(dialog.kind.findData(LABELME))
    _type_path(qtbot, dialog.source.edit, tmp_path / "lm")
    summary = _check(qtbot, dialog)
    assert "1 photos will be added" in summary and "spalling: 1" in summary and "New categories" not in summary
