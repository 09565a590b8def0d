"""Rules the frozen settings dataclasses share (``ModelConfig``, ``TrainConfig``): their checks
on load and their named presets, so that both refuse the same mistakes in the same words.

Both are saved in every checkpoint as plain dicts; a key the code does not know means a newer
or foreign file and is refused rather than dropped, and a float setting is a weight, a rate or
a time, which is never negative, NaN or infinite.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def float_problems(config: Any) -> list[str]:
    """One message per ``float`` field of the dataclass ``config`` that is not a finite number
    >= 0 (annotations read as strings: the modules use ``from __future__ import annotations``)."""
    problems = []
    for f in fields(config):
        v = getattr(config, f.name)
        if f.type == "float" and (not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0):
            problems.append(f"{f.name} must be a finite number >= 0, got {v!r}")
    return problems


def refuse_unknown_keys(d: Mapping[str, Any], known: Iterable[str], what: str) -> None:
    """ValueError naming the keys of ``d`` outside ``known`` (and listing the known ones)."""
    known = set(known)
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"unknown {what} keys {unknown}; known: {sorted(known)}")


def preset(presets: Mapping[str, T], name: str, what: str) -> T:
    """``presets[name]``; ValueError listing the known names otherwise."""
    try:
        return presets[name]
    except KeyError:
        raise ValueError(f"unknown {what} preset {name!r}; known presets: {sorted(presets)}") from None
