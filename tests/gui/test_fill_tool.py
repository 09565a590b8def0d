"""The Fill tool driven with clicks: it keeps painted defects unless asked (Shift+click), and on
textured concrete its region is solid, not speckled."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from core.imageio import encode_png
from core.panoptic import PanopticAnnotation, Segment
from core.project import Project

from tests.support.gui import open_project

pytestmark = pytest.mark.timeout(120)
CRACK, SPALLING, CONCRETE = 1, 2, 4
W, H = 160, 120


def textured_concrete(seed: int = 3) -> np.ndarray:
    """``[H, W, 3]`` uint8 grey concrete with grain (sensor noise and pores): the texture that a
    per-pixel colour flood fill turns into speckles."""
    rng = np.random.default_rng(seed)
    mottle = cv2.GaussianBlur(rng.normal(0, 1, (H, W)).astype(np.float32), (0, 0), 10)
    mottle *= 6.0 / max(float(mottle.std()), 1e-6)
    grain = rng.normal(0, 14, (H, W))
    g = np.clip(150 + mottle + grain, 0, 255)
    return np.repeat(g[..., None], 3, 2).astype(np.uint8)


def painted_defects() -> PanopticAnnotation:
    """A crack and a spall painted by the user; the rest void."""
    id_map = np.zeros((H, W), np.int32)
    id_map[30:34, 10:150] = 1     # a crack across the photo
    id_map[70:95, 60:100] = 2     # a spall
    return PanopticAnnotation(id_map, {1: Segment(1, CRACK), 2: Segment(2, SPALLING)})


@pytest.fixture
def fill_photo(qtbot, window, tmp_path):
    def open_with(annotation: PanopticAnnotation | None):
        (tmp_path / "png").mkdir(exist_ok=True)
        (tmp_path / "png" / "c.png").write_bytes(encode_png(textured_concrete()))
        path = tmp_path / "fill.pinspect"
        with Project.create(path) as p:
            p.images.add_files([tmp_path / "png" / "c.png"])
            if annotation is not None:
                p.annotations.save(p.images.list()[0].id, annotation)
        with qtbot.waitSignal(window.photo.fullResolution, timeout=10_000):
            open_project(qtbot, window, path)
        doc = window.photo.document
        window.view.set_zoom(4.0)
        window.view.centerOn(W / 2, H / 2)
        qtbot.wait(10)
        return doc
    return open_with


def fill_at(qtbot, window, doc, x: float, y: float, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    steps = doc.undo_stack.count()
    qtbot.keyClick(window.view, Qt.Key.Key_4)   # concrete
    qtbot.keyClick(window.view, Qt.Key.Key_G)   # Fill
    pos: QPoint = window.view.mapFromScene(QPointF(x, y))
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, modifier, pos)
    qtbot.waitUntil(lambda: doc.undo_stack.count() == steps + 1 and not doc.busy, timeout=10_000)


def test_fill_keeps_the_defects_already_painted(qtbot, window, fill_photo):
    doc = fill_photo(painted_defects())
    before = doc.annotation.id_map.copy()
    fill_at(qtbot, window, doc, 20.5, 60.5)
    after = doc.annotation.id_map
    np.testing.assert_array_equal(after[before != 0], before[before != 0])  # crack and spall kept
    concrete = [s.id for s in doc.editor.segments.values() if s.category_id == CONCRETE]
    assert len(concrete) == 1
    assert (after[before == 0] == concrete[0]).mean() > 0.98               # the void around them filled
    assert window.actions.a["undo"].text() == "Undo Fill concrete"
    window.actions.a["undo"].trigger()
    np.testing.assert_array_equal(doc.annotation.id_map, before)


def test_shift_click_fills_over_the_defects(qtbot, window, fill_photo):
    doc = fill_photo(painted_defects())
    fill_at(qtbot, window, doc, 20.5, 60.5, Qt.KeyboardModifier.ShiftModifier)
    concrete = next(s.id for s in doc.editor.segments.values() if s.category_id == CONCRETE)
    after = doc.annotation.id_map
    assert (after[30:34, 10:150] == concrete).all()  # the crack painted over, as asked
    assert {s.category_id for s in doc.editor.segments.values()} == {CONCRETE}


def test_fill_on_textured_concrete_gives_a_solid_region_not_speckles(qtbot, window, fill_photo):
    doc = fill_photo(None)
    fill_at(qtbot, window, doc, 80.5, 60.5)
    filled = doc.annotation.id_map != 0
    assert filled.mean() > 0.99, f"only {filled.mean():.1%} of uniform concrete filled"
    holes = cv2.connectedComponents((~filled).astype(np.uint8))[0] - 1
    assert holes <= 1
