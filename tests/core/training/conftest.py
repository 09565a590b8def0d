"""One torch thread in these tests: on the shared 2-core CI machine, two OpenMP threads that wait
for each other while other processes hold the cores made a training step ten times slower."""
import pytest


@pytest.fixture(autouse=True)
def _single_torch_thread(one_torch_thread):
    """See ``tests/conftest.py``."""
