"""A checkpoint of the tiny model of ``tests.support.models``, a predictor over it, and small
synthetic photos. One torch thread: the CI machine has two shared cores."""
from __future__ import annotations

import pytest

from core.model import save_checkpoint
from tests.support.models import INPUT, TINY, tiny_model, write_photo


@pytest.fixture(autouse=True)
def _single_torch_thread(one_torch_thread):
    """See ``tests/conftest.py``."""


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """Saved as training saves it: the training config says it was evaluated at ``INPUT`` px."""
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    model, categories = tiny_model()
    training = {"train_config": {"eval_size": INPUT, "max_size": 128}}
    save_checkpoint(path, model, TINY, categories, {"training": training})
    return path


@pytest.fixture(scope="session")
def predictor(checkpoint):
    from core.inference import Predictor

    return Predictor.from_checkpoint(checkpoint, device="cpu")


@pytest.fixture
def photos(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"photo_{i}.jpg"
        write_photo(p, i, (200 + 40 * i, 150), quality=95)
        paths.append(p)
    return paths
