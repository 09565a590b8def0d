"""The train dialog's estimate is measured on the project's own photos through the run's data
pipeline: it grows with the number of photos and with the size, it pays for reading the photos
(a slow decoder makes it longer by what the decoder costs), and it is within a sane factor of a
real epoch of the same run."""
from __future__ import annotations

import time

import pytest

from core.data import coco_panoptic_source
from core.errors import CancelledError
from core.training import Trainer
from core.training.estimate import RunEstimate, measure_run, run_seconds
from tests.core.data.synth import make_coco_dataset
from tests.core.training.helpers import TINY_MODEL, tiny_config


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    # photos of a few sizes and both orientations, as a real project has
    return coco_panoptic_source(make_coco_dataset(root, n=6, sizes=((96, 128), (128, 96), (160, 160))))


def measure(source, **changes):
    return measure_run(tiny_config(**changes), source, photos=3, steps=2, model_config=TINY_MODEL)


def test_the_estimate_adds_up_the_parts_of_the_run():
    est = RunEstimate(None, 3, decode_s=2.0, step_s=1.0, eval_s=0.5, checkpoint_s=3.0, cached=True)
    # 10 photos read once, 2 epochs of 4 full batches of 2, 2 evaluations of 4 photos, 2 checkpoints
    total = run_seconds(est, 9, 4, epochs=2, batch_size=2, eval_every=1)
    assert total == pytest.approx(13 * 2.0 + 2 * (8 * 1.0 + 3.0) + 2 * 4 * 0.5)
    # every 4th epoch and the last: epochs 4, 8 and 10 of 10
    assert run_seconds(est, 8, 4, epochs=10, batch_size=2, eval_every=4) == pytest.approx(
        12 * 2.0 + 10 * (8 + 3.0) + 3 * 4 * 0.5)
    # twice the photos, about twice the run
    assert run_seconds(est, 18, 8, epochs=2, batch_size=2, eval_every=1) > 1.9 * total
    # photos that do not fit the cache are read again every epoch
    uncached = RunEstimate(None, 3, 2.0, 1.0, 0.5, 3.0, cached=False)
    assert run_seconds(uncached, 9, 4, epochs=2, batch_size=2, eval_every=1) == pytest.approx(total + 13 * 2.0)
    # a time budget caps the run, or is the run when it follows the budget
    assert run_seconds(est, 9, 4, epochs=2, batch_size=2, eval_every=1, max_minutes=0.2) == pytest.approx(26 + 12)
    assert run_seconds(est, 9, 4, epochs=2, batch_size=2, eval_every=1, max_minutes=10,
                       follow_budget=True) == pytest.approx(26 + 600)


def test_the_estimate_grows_with_the_training_size(source, one_torch_thread):
    small = measure(source, min_size=64, max_size=64)
    large = measure(source, min_size=320, max_size=320)
    assert small.photos == large.photos == 3
    assert large.step_s > 2 * small.step_s  # 25 times the pixels


def test_the_estimate_pays_for_reading_the_photos(source, monkeypatch, one_torch_thread):
    import core.data.dataset as dataset

    fast = measure(source)
    real_load = dataset.load_image

    def slow_load(*args, **kwargs):  # a 24 MP JPEG costs about this much to decode
        time.sleep(0.3)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(dataset, "load_image", slow_load)
    slow = measure(source)
    assert slow.decode_s >= 0.3 > fast.decode_s
    args = dict(epochs=2, batch_size=2, eval_every=1)
    assert run_seconds(slow, 100, 20, **args) - run_seconds(fast, 100, 20, **args) >= 120 * 0.25


def test_the_measurement_can_be_cancelled(source):
    with pytest.raises(CancelledError):
        measure_run(tiny_config(), source, model_config=TINY_MODEL, cancel=lambda: True)


def test_the_estimate_is_near_a_real_epoch(source, tmp_path, one_torch_thread):
    cfg = tiny_config(epochs=1, max_size=128, min_size=128)
    est = measure_run(cfg, source, photos=3, steps=2, model_config=TINY_MODEL)
    trainer = Trainer(cfg, source, tmp_path / "run", model_config=TINY_MODEL)
    epoch = next(r for r in trainer.run() if r.kind == "epoch")
    predicted = 3 * 2 * est.step_s  # 6 photos: 3 full batches of 2
    # a sane factor, not a timing: the machine is shared, so only a gross error fails
    assert epoch.seconds / 6 < predicted < epoch.seconds * 6
