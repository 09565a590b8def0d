"""One torch thread in these tests: on the shared 2-core CI machine, two OpenMP threads that wait
for each other while other processes hold the cores made a training step ten times slower."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
