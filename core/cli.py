"""Command line: ``python main.py <command> ...``.

Each sub-command lives in ``core/commands/<name>.py`` exposing ``register(subparsers)``; this file
only assembles the parser, turns typed errors into one-line messages and exit codes. Every
failure a user can meet is a typed error (``core.errors``); an ``OSError`` no writer wrapped is
still one line naming the file, and anything else one line that points to ``-v`` for the
traceback: a raw traceback is never the answer to bad input.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import logging
import sys
from pathlib import Path
from types import ModuleType

from core.commands.exit_codes import EXIT_CANCELLED, EXIT_ERROR, EXIT_OK, EXIT_USAGE
from core.errors import InspectorError

#: Sub-commands in the order ``--help`` lists them; each is a module in ``core/commands``.
COMMANDS = ("synth", "import", "export", "train", "predict", "evaluate", "report", "measure", "demo", "info")



def is_cli_invocation(argv: list[str]) -> bool:
    """True when argv asks for the command line rather than the GUI: a command (after ``-v``), a
    help or version flag, or a bare word that names no file, i.e. a mistyped command (``trian``),
    which gets the command line's usage error rather than a window."""
    i = 0
    while i < len(argv) and argv[i] in ("-v", "--verbose"):
        i += 1
    if i < len(argv) and (argv[i] in COMMANDS or argv[i] in ("-h", "--help", "--version")):
        return True
    if i > 0:
        return True
    word = argv[0] if argv else ""
    return bool(word) and word.isidentifier() and not Path(word).exists()


def _available_commands(only: str | None = None) -> list[tuple[str, ModuleType]]:
    """``(name, module)`` of every sub-command (or of ``only``); a missing module is a broken build."""
    names = (only,) if only in COMMANDS else COMMANDS
    return [(name, importlib.import_module(f"core.commands.{name.replace('-', '_')}_cmd")) for name in names]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command, or of ``only`` (what running one command needs: the other
    nine modules and what they import cost ~40 ms of every command's start-up)."""
    from core import __version__

    parser = argparse.ArgumentParser(prog="main.py", description="Panoptic Inspector command line. "
                                     "Run without arguments to start the desktop application.")
    parser.add_argument("--version", action="version", version=f"Panoptic Inspector {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for _name, mod in _available_commands(only):
        mod.register(sub)
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or EXIT_OK)
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except InspectorError as e:
        if args.verbose and e.__cause__ is not None:
            logging.getLogger(__name__).info("cause", exc_info=e)
        print(f"error: {e.message()}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as e:  # a disk or file fault no writer wrapped: said in one line, with the file
        if args.verbose:
            logging.getLogger(__name__).exception("details")
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        hint = " (check free space and write permission)" if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS,
                                                                         errno.EACCES) else ""
        print(f"error: {where}{e.strerror or e}{hint}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        print("error: out of memory (try fewer or smaller photos, or a smaller model size)", file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # a fault of ours: one line and the way to the details, never a raw traceback
        if args.verbose:
            raise
        logging.getLogger(__name__).debug("internal error", exc_info=e)
        print(f"error: internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
              f"(run with -v for the traceback, and please report it)", file=sys.stderr)
        return EXIT_ERROR
