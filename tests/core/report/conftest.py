"""Small photos with known defects for the report tests."""
import numpy as np
import pytest

from core.panoptic import PanopticAnnotation, Segment


def make_photo(width: int = 320, height: int = 240, seed: int = 0, score: float | None = None):
    """A textured grey photo with a horizontal crack (200 x 3 px), a spalled disc (r 25) and
    concrete everywhere else; returns ``(rgb, annotation)``."""
    rng = np.random.default_rng(seed)
    rgb = (128 + rng.normal(0, 12, (height, width, 3))).clip(0, 255).astype(np.uint8)
    id_map = np.full((height, width), 9, np.int32)
    id_map[60:63, 40:240] = 1
    yy, xx = np.mgrid[:height, :width]
    id_map[(yy - 160) ** 2 + (xx - 200) ** 2 < 25 ** 2] = 2
    source = "manual" if score is None else "model"
    segs = {1: Segment(1, 1, source=source, score=score), 2: Segment(2, 2, source=source, score=score),
            9: Segment(9, 4, source=source)}
    return rgb, PanopticAnnotation(id_map, segs)


@pytest.fixture
def photo_factory():
    return make_photo
