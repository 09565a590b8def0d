"""Panoptic Inspector entry point.

No arguments (or a project file) -> the desktop application; a sub-command -> the command line
(``python main.py --help``). Kept tiny so start-up stays light: nothing heavy is imported here.
"""
from __future__ import annotations

import sys


def cli_main(argv: list[str] | None = None) -> int:
    from core.cli import main as run_cli

    return run_cli(sys.argv[1:] if argv is None else argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from core.cli import is_cli_invocation

    if is_cli_invocation(argv):
        return cli_main(argv)
    from gui.shell.app import run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
