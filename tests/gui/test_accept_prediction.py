"""Model > Accept the whole prediction (Ctrl+Shift+A) onto a photo that already has an annotation
asks first: merge (the user's own defects are kept), replace, or cancel."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from core.panoptic import PanopticAnnotation, Segment

from tests.support.gui import open_project

pytestmark = pytest.mark.timeout(60)

CRACK_BOX = (slice(4, 12), slice(4, 40))     # the hand-painted crack of conftest.annotation_for (segment 2)
NEW_SPALL = (slice(40, 56), slice(10, 30))   # a spall only the model found, on the hand-painted concrete


def _prediction(h: int, w: int) -> PanopticAnnotation:
    """The model calls the hand-painted crack's place spalling and finds a second spall."""
    id_map = np.zeros((h, w), np.int32)
    id_map[2:14, 2:44] = 1   # spalling over (and around) the crack
    id_map[NEW_SPALL] = 2
    return PanopticAnnotation(id_map, {1: Segment(1, 2, False, "model", 0.9), 2: Segment(2, 2, False, "model", 0.8)})


def _press_accept_all(qtbot, window):
    QTest.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)


def _question(qtbot, window) -> QMessageBox:
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "acceptPredictionQuestion") is not None
                    and window.findChild(QMessageBox, "acceptPredictionQuestion").isVisible(), timeout=5000)
    return window.findChild(QMessageBox, "acceptPredictionQuestion")


def _click(qtbot, box: QMessageBox, text: str) -> None:
    button = next(b for b in box.buttons() if b.text().replace("&", "") == text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)


def _categories_at(doc, where) -> set[int]:
    ed = doc.editor
    return {ed.segments[int(i)].category_id for i in np.unique(ed.id_map[where]) if int(i)}


@pytest.fixture
def annotated_with_prediction(qtbot, window, make_project):
    open_project(qtbot, window, make_project(1, annotated=1))
    rec = window.photo.record
    window.photo.set_prediction(_prediction(rec.height, rec.width))
    window.activateWindow()
    return window.controller.document


def test_merge_keeps_the_hand_painted_crack_and_adds_what_the_model_found(qtbot, window, annotated_with_prediction):
    doc = annotated_with_prediction
    before = doc.editor.id_map.copy()
    _press_accept_all(qtbot, window)
    box = _question(qtbot, window)
    assert doc.editor.id_map.tobytes() == before.tobytes()  # nothing changes before the answer
    _click(qtbot, box, "Merge")
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 1, timeout=5000)
    assert np.array_equal(doc.editor.id_map[CRACK_BOX], before[CRACK_BOX])  # the crack, pixel for pixel
    assert _categories_at(doc, NEW_SPALL) == {2}  # the model's new spall, over hand-painted concrete


def test_replace_takes_the_prediction_and_undo_brings_the_crack_back(qtbot, window, annotated_with_prediction):
    doc = annotated_with_prediction
    before = doc.editor.id_map.copy()
    _press_accept_all(qtbot, window)
    _click(qtbot, _question(qtbot, window), "Replace")
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 1, timeout=5000)
    assert _categories_at(doc, CRACK_BOX) == {2}  # the model's spalling where the crack was
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.editor.id_map, before)


def test_cancel_changes_nothing(qtbot, window, annotated_with_prediction):
    doc = annotated_with_prediction
    before = doc.editor.id_map.copy()
    _press_accept_all(qtbot, window)
    box = _question(qtbot, window)
    QTest.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)
    QApplication.processEvents()
    assert doc.undo_stack.count() == 0 and np.array_equal(doc.editor.id_map, before)


def test_a_photo_without_annotation_takes_the_prediction_without_a_question(qtbot, window, make_project):
    open_project(qtbot, window, make_project(1, annotated=0))
    rec = window.photo.record
    window.photo.set_prediction(_prediction(rec.height, rec.width))
    doc = window.controller.document
    _press_accept_all(qtbot, window)
    qtbot.waitUntil(lambda: doc.undo_stack.count() == 1, timeout=5000)
    assert window.findChild(QMessageBox, "acceptPredictionQuestion") is None
    assert _categories_at(doc, NEW_SPALL) == {2}
