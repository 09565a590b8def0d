"""Categories (classes) of a project and their validation.

Masks refer to category *ids*, never to list positions, so renaming or reordering never relabels
pixels. A ``CategorySet`` is immutable; editing returns a new set.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Iterable, Iterator
from typing import cast

from core.atomic import atomic_write_text
from core.errors import CategoryError


@dataclass(frozen=True)
class Category:
    """One class. ``color`` is (R, G, B) in 0..255; ``isthing`` marks countable instances.

    ``thin``: scored and refined as a thin structure (centreline measures, full-resolution masks);
    None follows the name (``core.measure.roles.is_thin``: cracks and other linear roles), a
    bool is the user's explicit choice. Written to JSON only when set, so older files and readers
    are unaffected.
    """

    id: int
    name: str
    isthing: bool
    color: tuple[int, int, int]
    supercategory: str = "defect"
    thin: bool | None = None

    def to_json(self) -> dict:
        d = asdict(self)
        d["isthing"] = int(self.isthing)  # COCO writes 0/1
        d["color"] = [int(c) for c in self.color]
        if self.thin is None:
            del d["thin"]
        else:
            d["thin"] = bool(self.thin)
        return d

    @staticmethod
    def from_json(d: dict) -> Category:
        try:
            return Category(
                id=int(d["id"]),
                name=str(d["name"]),
                isthing=bool(d.get("isthing", 1)),
                color=as_rgb(int(c) for c in d.get("color", _auto_color(int(d["id"])))),
                supercategory=str(d.get("supercategory", "")),
                thin=None if d.get("thin") is None else _flag(d["thin"]),
            )
        except KeyError as e:
            raise CategoryError(f"category is missing the key {e.args[0]!r}: {d!r}") from e
        except (TypeError, ValueError) as e:
            raise CategoryError(f"category has a field of the wrong type: {d!r}") from e


def as_rgb(values: Iterable[int]) -> tuple[int, int, int]:
    """``values`` as a ``Category.color`` tuple, unchecked: a ``CategorySet`` checks the length and
    range when it is made, and its error names the category."""
    return cast("tuple[int, int, int]", tuple(values))


def _flag(value: object) -> bool:
    """A JSON boolean (or 0/1, as COCO writes ``isthing``); anything else is a wrong type."""
    if isinstance(value, bool) or value in (0, 1):
        return bool(value)
    raise ValueError(f"expected true/false, got {value!r}")


def _auto_color(cat_id: int) -> tuple[int, int, int]:
    """A stable, well-spread colour for a category without one (golden-ratio hue walk)."""
    import colorsys

    h = (cat_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.65, 0.95)
    return int(r * 255), int(g * 255), int(b * 255)


@dataclass(frozen=True)
class CategorySet:
    """An ordered, validated collection of categories, looked up by id or name."""

    categories: tuple[Category, ...] = field(default_factory=tuple)

    def __post_init__(self):
        ids, names = set(), set()
        for c in self.categories:
            if not isinstance(c.id, int) or c.id <= 0:
                raise CategoryError(f"category id must be a positive integer, got {c.id!r} ({c.name!r})")
            if c.id in ids:
                raise CategoryError(f"duplicate category id {c.id}")
            if not c.name.strip():
                raise CategoryError(f"category {c.id} has an empty name")
            if c.name in names:
                raise CategoryError(f"duplicate category name {c.name!r}")
            if len(c.color) != 3 or any(not (0 <= int(v) <= 255) for v in c.color):
                raise CategoryError(f"category {c.name!r} has an invalid colour {c.color!r}")
            ids.add(c.id)
            names.add(c.name)

    # --- lookup -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories)

    def __len__(self) -> int:
        return len(self.categories)

    def __contains__(self, cat_id: object) -> bool:
        return any(c.id == cat_id for c in self.categories)

    def by_id(self, cat_id: int) -> Category:
        for c in self.categories:
            if c.id == cat_id:
                return c
        raise CategoryError(f"unknown category id {cat_id}; known: {self.ids}")

    def by_name(self, name: str) -> Category:
        for c in self.categories:
            if c.name == name:
                return c
        raise CategoryError(f"unknown category name {name!r}; known: {[c.name for c in self.categories]}")

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.categories]

    @property
    def things(self) -> list[Category]:
        return [c for c in self.categories if c.isthing]

    @property
    def stuff(self) -> list[Category]:
        return [c for c in self.categories if not c.isthing]

    def is_thing(self, cat_id: int) -> bool:
        return self.by_id(cat_id).isthing

    # --- editing (returns new sets) -----------------------------------------------------------
    def next_id(self) -> int:
        return max(self.ids, default=0) + 1

    def added(self, name: str, isthing: bool, color: tuple[int, int, int] | None = None,
              supercategory: str = "defect") -> CategorySet:
        cid = self.next_id()
        cat = Category(cid, name, isthing, as_rgb(color) if color else _auto_color(cid), supercategory)
        return CategorySet(self.categories + (cat,))

    def replaced(self, cat: Category) -> CategorySet:
        self.by_id(cat.id)
        return CategorySet(tuple(cat if c.id == cat.id else c for c in self.categories))

    def removed(self, cat_id: int) -> CategorySet:
        self.by_id(cat_id)
        return CategorySet(tuple(c for c in self.categories if c.id != cat_id))

    # --- JSON ---------------------------------------------------------------------------------
    def to_json(self) -> list[dict]:
        return [c.to_json() for c in self.categories]

    @staticmethod
    def from_json(items: Iterable[dict]) -> CategorySet:
        if not isinstance(items, (list, tuple)):
            raise CategoryError("categories must be a JSON list")
        return CategorySet(tuple(Category.from_json(d) for d in items))

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, json.dumps(self.to_json(), indent=2, ensure_ascii=False))

    @staticmethod
    def load(path: str | Path) -> CategorySet:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise CategoryError(f"cannot read categories: {e}", path) from e
        if isinstance(data, dict):
            data = data.get("categories", data)
        try:
            return CategorySet.from_json(data)
        except CategoryError as e:
            raise CategoryError(e.reason, path) from e


def default_categories() -> CategorySet:
    """The default concrete-defect set shipped in ``resources/categories/concrete_defects.json``."""
    from core.resources import resource_path

    return CategorySet.load(resource_path("categories/concrete_defects.json"))
