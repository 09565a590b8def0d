"""PySide6 views and workers over core objects. Owns no domain logic."""
