"""``info``: versions, devices and where things are; useful in bug reports."""
from __future__ import annotations

import argparse
import platform


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show versions and the compute device")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core import __version__
    from core.device import describe_device

    print(f"Panoptic Inspector {__version__}, Python {platform.python_version()}")
    print(describe_device())
    return 0
