"""How the pixel values (or file names) of a mask dataset map to categories.

A mapping file is a small JSON object::

    {
      "categories": [{"id": 1, "name": "crack", "isthing": 1, "color": [230, 25, 75]}, ...],
      "values": {"1": "crack", "2": "spalling", "3": "exposed_rebar"},
      "masks": {"crack": "crack", "spall": "spalling"},
      "ignore": [255]
    }

* ``categories`` (optional): the category set; without it the default concrete-defect set is used.
* ``values``: class-index masks, pixel value -> category name or id. Value 0 is "unlabelled" unless
  it is mapped (map it to a stuff class to make the inverted defect mask a stuff segment).
* ``masks``: one binary mask per class, file-name token -> category, found as
  ``<masks>/<token>/<photo stem>.png`` or ``<masks>/<photo stem>_<token>.png``.
* ``ignore``: pixel values that always stay void (e.g. 255 borders).

Without a file or option every category maps from its own id (``values``) and its name (``masks``),
which is exactly what the semantic exporter writes, so its output imports back as it was.
The same information fits on the command line: ``--classes 1=crack,2=spalling,3=rust:thing``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core.categories import CategorySet, default_categories
from core.errors import CategoryError
from core.safety import read_regular_file


@dataclass(frozen=True)
class ClassMapping:
    """``values``: mask pixel value -> category id; ``masks``: file-name token -> category id."""

    categories: CategorySet
    values: dict[int, int] = field(default_factory=dict)
    masks: dict[str, int] = field(default_factory=dict)
    ignore: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        for what, table in (("values", self.values), ("masks", self.masks)):
            for key, cid in table.items():
                if cid not in self.categories:
                    raise CategoryError(f"class mapping {what}[{key!r}] refers to unknown category id {cid}")
        both = self.ignore & set(self.values)
        if both:
            raise CategoryError(f"pixel values {sorted(both)} are both mapped and ignored")

    @staticmethod
    def identity(categories: CategorySet | None = None) -> ClassMapping:
        """Every category from its own id (class-index masks) and its name (binary masks)."""
        cats = categories if categories is not None else default_categories()
        return ClassMapping(cats, {c.id: c.id for c in cats}, {c.name: c.id for c in cats})

    def to_json(self) -> dict:
        names = {c.id: c.name for c in self.categories}
        out: dict = {"categories": self.categories.to_json(),
                     "values": {str(v): names[c] for v, c in sorted(self.values.items())}}
        if self.masks:
            out["masks"] = {t: names[c] for t, c in sorted(self.masks.items())}
        if self.ignore:
            out["ignore"] = sorted(int(v) for v in self.ignore)
        return out


def _category_ref(categories: CategorySet, ref: object, where: str) -> int:
    if isinstance(ref, bool):
        raise CategoryError(f"{where}: expected a category name or id, got {ref!r}")
    if isinstance(ref, int) and ref in categories:
        return ref
    if isinstance(ref, str):
        for c in categories:
            if c.name == ref:
                return c.id
        if ref.strip().isdigit() and int(ref) in categories:
            return int(ref)
    raise CategoryError(f"{where}: unknown category {ref!r}; known: {[c.name for c in categories]}",
                        hint='add it to "categories" in the mapping file, or write NAME:thing / NAME:stuff')


def load_class_mapping(path: str | Path, base: CategorySet | None = None) -> ClassMapping:
    """Read a mapping file (see the module docstring). Raises ``CategoryError`` naming the file."""
    path = Path(path)
    try:
        data = json.loads(read_regular_file(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CategoryError(f"cannot read the class mapping: {e}", path) from e
    if not isinstance(data, dict):
        raise CategoryError("a class mapping must be a JSON object with 'values' and/or 'masks'", path)
    try:
        cats = CategorySet.from_json(data["categories"]) if "categories" in data else (
            base if base is not None else default_categories())
        values, masks = {}, {}
        for key, ref in dict(data.get("values", {})).items():
            try:
                value = int(key)
            except ValueError as e:
                raise CategoryError(f"values: key {key!r} is not a pixel value") from e
            values[value] = _category_ref(cats, ref, f"values[{key!r}]")
        for token, ref in dict(data.get("masks", {})).items():
            masks[str(token)] = _category_ref(cats, ref, f"masks[{token!r}]")
        ignore = frozenset(int(v) for v in data.get("ignore", []))
        if not values and not masks:
            raise CategoryError("the mapping has neither 'values' nor 'masks'")
        return ClassMapping(cats, values, masks, ignore)
    except CategoryError as e:
        raise CategoryError(e.reason, path, e.hint) from e
    except (TypeError, ValueError) as e:
        raise CategoryError(f"malformed class mapping: {e}", path) from e


def parse_class_option(text: str, base: CategorySet | None = None) -> ClassMapping:
    """Mapping from a command-line option.

    ``"1=crack,2=spalling,255=ignore"`` maps pixel values; ``"crack=crack,spall=spalling"`` maps
    binary-mask file tokens. ``NAME:thing`` or ``NAME:stuff`` adds a category the set lacks.
    """
    cats = base if base is not None else default_categories()
    pairs = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if "=" not in part:
            raise CategoryError(f"class option {part!r} is not KEY=CLASS", hint="e.g. --classes 1=crack,2=spalling")
        key, ref = (s.strip() for s in part.split("=", 1))
        name, _, kind = ref.partition(":")
        if kind and name not in {c.name for c in cats}:
            if kind not in ("thing", "stuff"):
                raise CategoryError(f"class option {part!r}: kind must be 'thing' or 'stuff'")
            cats = cats.added(name, isthing=(kind == "thing"))
        pairs.append((key, name))
    values, masks, ignore = {}, {}, set()
    for key, name in pairs:
        if key.lstrip("-").isdigit():
            if name == "ignore":
                ignore.add(int(key))
            else:
                values[int(key)] = _category_ref(cats, name, f"--classes {key}")
        else:
            masks[key] = _category_ref(cats, name, f"--classes {key}")
    if not values and not masks:
        raise CategoryError("the class option maps nothing", hint="e.g. --classes 1=crack,2=spalling")
    return ClassMapping(cats, values, masks, frozenset(ignore))
