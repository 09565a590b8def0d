"""One module per command-line sub-command, each with ``register(subparsers)``."""
