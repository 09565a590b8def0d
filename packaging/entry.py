"""The bundle's entry script (PyInstaller runs this instead of main.py).

``freeze_support`` must run first in a frozen program: worker processes started with the
``spawn`` method (synthetic data, data loaders on Windows and macOS) re-run this executable, and
it is what turns such a start into a worker instead of a second window.
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from main import main

    sys.exit(main())
