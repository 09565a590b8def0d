"""Argument types with ranges, so a bad option is refused by the parser (usage line, exit code 2)
before any work starts, never as a traceback from deep inside.

    p.add_argument("--split", type=fraction(upper_open=True), ...)   # 0 <= x < 1
    p.add_argument("--min-area", type=count(minimum=0), ...)          # an int >= 0
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def fraction(lower_open: bool = False, upper_open: bool = True) -> Callable[[str], float]:
    """A finite number in [0, 1] (bounds open as asked): ``--split``, ``--val-fraction``."""
    lo, hi = "(" if lower_open else "[", ")" if upper_open else "]"

    def parse(text: str) -> float:
        value = float(_number(text, float))
        if value < 0 or value > 1 or (lower_open and value == 0) or (upper_open and value == 1):
            raise argparse.ArgumentTypeError(f"must lie in {lo}0, 1{hi}, got {text}")
        return value

    parse.__name__ = "fraction"
    return parse


def count(minimum: int = 0, maximum: int | None = None) -> Callable[[str], int]:
    """An integer in [minimum, maximum]: pixel areas, epochs, batch sizes, sizes, threads."""
    def parse(text: str) -> int:
        value = int(_number(text, int))
        if value < minimum or (maximum is not None and value > maximum):
            bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            raise argparse.ArgumentTypeError(f"must be an integer {bound}, got {text}")
        return value

    parse.__name__ = "integer"
    return parse


def positive(allow_zero: bool = False) -> Callable[[str], float]:
    """A finite number > 0 (>= 0 with ``allow_zero``): learning rates, minutes, norms."""
    def parse(text: str) -> float:
        value = float(_number(text, float))
        if value < 0 or (value == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"must be a finite number {'>=' if allow_zero else '>'} 0, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def add_scale_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``--mm-per-pixel MM`` (``--mm-per-px`` is the same option): the photos' scale in millimetres
    per pixel, a positive number, in ``args.mm_per_pixel`` (None when not given).

    One spelling for every command that measures (``measure``, ``report``), so that a scale typed
    for one is understood by the other, and checked by the parser like every other range.
    """
    parser.add_argument("--mm-per-pixel", "--mm-per-px", dest="mm_per_pixel", type=positive(), default=None,
                        metavar="MM", help=help)
