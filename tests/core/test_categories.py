import json

import pytest

from core.categories import Category, CategorySet, default_categories
from core.errors import CategoryError


def test_default_set_is_the_concrete_defect_set():
    cats = default_categories()
    assert [c.name for c in cats.things] == ["crack", "spalling", "exposed_rebar"]
    assert [c.name for c in cats.stuff] == ["concrete", "background"]
    assert cats.by_name("crack").id == 1


@pytest.mark.parametrize("cats, message", [
    ([Category(1, "a", True, (1, 2, 3)), Category(1, "b", True, (1, 2, 3))], "duplicate category id"),
    ([Category(1, "a", True, (1, 2, 3)), Category(2, "a", True, (1, 2, 3))], "duplicate category name"),
    ([Category(0, "a", True, (1, 2, 3))], "positive integer"),
    ([Category(1, "a", True, (1, 2, 300))], "invalid colour"),
    ([Category(1, " ", True, (1, 2, 3))], "empty name"),
])
def test_invalid_sets_are_refused(cats, message):
    with pytest.raises(CategoryError, match=message):
        CategorySet(tuple(cats))


def test_json_round_trip_and_editing(tmp_path):
    cats = default_categories().added("efflorescence", True)
    path = tmp_path / "Kategorien_ä.json"
    cats.save(path)
    loaded = CategorySet.load(path)
    assert loaded == cats
    assert loaded.by_name("efflorescence").id == 6
    assert json.loads(path.read_text(encoding="utf-8"))[0]["isthing"] == 1
    renamed = loaded.replaced(Category(1, "Riss", True, (1, 2, 3)))
    assert renamed.by_id(1).name == "Riss" and renamed.ids == loaded.ids  # ids never move
    assert 1 not in renamed.removed(1)


def test_unreadable_category_file_names_the_file(tmp_path):
    bad = tmp_path / "cats.json"
    bad.write_text('[{"name": "x"}]')
    with pytest.raises(CategoryError, match="cats.json.*'id'"):
        CategorySet.load(bad)
