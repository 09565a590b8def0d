"""The role rule: from category names, in several languages, with overrides."""
import pytest

from core.categories import Category, default_categories
from core.measure import Role, role_for, role_for_name


def test_default_categories_get_the_expected_roles():
    cats = default_categories()
    roles = {c.name: role_for(c) for c in cats}
    assert roles == {"crack": Role.CRACK, "spalling": Role.SPALLING, "exposed_rebar": Role.REBAR,
                     "concrete": Role.REGION, "background": Role.REGION}


@pytest.mark.parametrize("name, role", [
    ("Riß", Role.CRACK), ("Haarriss", Role.CRACK), ("fissure", Role.CRACK), ("Grieta longitudinal", Role.CRACK),
    ("crack-along-rebar", Role.CRACK), ("Bewehrung freiliegend", Role.REBAR), ("reinforcement", Role.REBAR),
    ("Abplatzung", Role.SPALLING), ("Éclatement", Role.SPALLING), ("delamination", Role.SPALLING),
    ("efflorescence", Role.REGION), ("vegetation", Role.REGION), ("barrier", Role.REGION),
])
def test_names_in_several_languages(name, role):
    assert role_for_name(name) == role


def test_overrides_by_id_then_name_win_over_the_name_rule():
    cat = Category(7, "defect A", True, (1, 2, 3))
    assert role_for(cat) == Role.REGION
    assert role_for(cat, {7: "crack"}) == Role.CRACK
    assert role_for(cat, {"defect A": Role.REBAR}) == Role.REBAR
    assert role_for(cat, {7: Role.SPALLING, "defect A": Role.CRACK}) == Role.SPALLING
