"""Exit codes of ``main.py`` sub-commands, shared by the commands and the front end (core.cli)."""

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
