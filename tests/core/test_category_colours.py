"""Category colours stay visible on concrete: every default colour, and the colours given to new
categories, stand out from the greys of typical concrete (Lab colour difference)."""
import cv2
import numpy as np

from core.categories import CategorySet, default_categories

#: CIE Lab difference below which a fill on a photo is hard to tell from the surface under it.
MIN_DELTA_E = 30.0
#: Typical concrete greys in photos, dark (shadow, wet) to bright (sunlit), slightly warm or cool.
CONCRETE_GREYS = [(g, g, g) for g in range(70, 226, 10)] + [(g + 8, g + 4, g) for g in range(70, 226, 20)] + \
                 [(g, g + 3, g + 8) for g in range(70, 226, 20)]


def _lab(rgb) -> np.ndarray:
    arr = np.asarray(rgb, np.float32).reshape(-1, 1, 3) / 255.0
    return cv2.cvtColor(arr, cv2.COLOR_RGB2LAB).reshape(-1, 3)


def _closest_grey(color) -> float:
    return float(np.sqrt(((_lab(CONCRETE_GREYS) - _lab([color])) ** 2).sum(1)).min())


def test_every_default_colour_stands_out_from_concrete_greys():
    for cat in default_categories():
        assert _closest_grey(cat.color) >= MIN_DELTA_E, f"{cat.name} {cat.color} is lost on concrete"


def test_default_ids_and_names_are_kept():
    assert [(c.id, c.name) for c in default_categories()] == [
        (1, "crack"), (2, "spalling"), (3, "exposed_rebar"), (4, "concrete"), (5, "background")]


def test_new_categories_get_visible_colours():
    cats: CategorySet = default_categories()
    for i in range(20):
        cats = cats.added(f"extra{i}", isthing=bool(i % 2))
    for cat in cats:
        assert _closest_grey(cat.color) >= MIN_DELTA_E, f"{cat.name} {cat.color} is lost on concrete"
