"""Helpers shared by tests in several folders (``from tests.support.<module> import ...``)."""
