"""Suite-wide settings: Qt offscreen, few torch threads (CI has 2 cores), deterministic seeds."""
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test (directories that train or predict ask for it): on a shared
    2-core machine two OpenMP threads that wait for each other while other processes hold the
    cores made a training step ten times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
