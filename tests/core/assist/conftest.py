"""Puts this folder on sys.path so the tests share the drawn-photo helpers in ``drawn.py``."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
