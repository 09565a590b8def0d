"""Which figures a category gets: its measurement *role*, decided from its name.

Categories are the user's (renamed, translated, ~50 construction-material classes in some
projects), so ids mean nothing; the rule reads the name:

1. an explicit override for the category id, then for its exact name, wins;
2. otherwise the name, lower-cased with accents and separators folded (``Riß`` -> ``riss``,
   ``exposed_rebar`` -> ``exposed rebar``), is searched for the keywords of ``ROLE_KEYWORDS``
   in the order crack, rebar, spalling: the first role with a keyword inside the name wins
   (``rebar_crack`` is a crack, a crack along a bar);
3. otherwise the role is ``region``.

Figures per role (docs/measurement.md has the details):

* ``crack``: centreline length (branches summed), maximum and mean width, orientation;
* ``rebar``: exposed length (the centreline), visible diameter (mean width);
* ``spalling``: area, equivalent diameter, bounding box;
* ``region``: area, bounding box, equivalent diameter, major axis of the equivalent ellipse.

Every segment, whatever its role, also gets its area and its share of the photo.
"""
from __future__ import annotations

import re
import unicodedata
from enum import Enum
from collections.abc import Mapping

from core.categories import Category


class Role(str, Enum):
    CRACK = "crack"
    REBAR = "rebar"
    SPALLING = "spalling"
    REGION = "region"

    @property
    def linear(self) -> bool:
        """Measured along a centreline (length and width)."""
        return self in (Role.CRACK, Role.REBAR)


#: Keywords (folded as ``fold_name`` does) that give a category its role; searched in this order.
ROLE_KEYWORDS: dict[Role, tuple[str, ...]] = {
    Role.CRACK: ("crack", "riss", "fissur", "fisura", "fessur", "scheur", "rysa", "grieta", "trinca",
                 "craquel", "lezarde"),
    Role.REBAR: ("rebar", "reinforc", "bewehrung", "armatur", "armadura", "ferraill", "tondin",
                 "wapening", "zbrojen", "steel bar", "exposed bar", "exposed steel", "stirrup"),
    Role.SPALLING: ("spall", "abplatz", "delamina", "pop out", "popout", "eclat", "desconch",
                    "distacc", "afschilfer", "odprysk"),
}


def fold_name(name: str) -> str:
    """Lower case, accents removed, ``ß`` -> ``ss``, runs of separators -> one space."""
    text = unicodedata.normalize("NFKD", name.replace("ß", "ss").replace("ẞ", "ss"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[\s_\-./]+", " ", text).strip()


def role_for_name(name: str) -> Role:
    """The role the keyword rule gives ``name`` (no overrides)."""
    folded = fold_name(name)
    for role, words in ROLE_KEYWORDS.items():
        if any(w in folded for w in words):
            return role
    return Role.REGION


def role_for(category: Category, overrides: Mapping[int | str, Role | str] | None = None) -> Role:
    """The role of ``category``: override by id, then by name, then the keyword rule.

    Raises:
        ValueError: an override names an unknown role (a programming error, not user data).
    """
    if overrides:
        for key in (category.id, category.name):
            if key in overrides:
                return Role(overrides[key])
    return role_for_name(category.name)


def is_thin(category: Category) -> bool:
    """Whether ``category`` is a thin structure: scored along its centreline and drawn at the photo's
    full resolution. Its ``thin`` flag when the user set one, else whether its role is linear."""
    if category.thin is not None:
        return bool(category.thin)
    return role_for(category).linear
