"""The 20-minute recipe's short version: the ``cpu_fast`` recipe learns from random weights in about a minute
of a 2-core CPU (the 20-minute figure is ``bench/bench_convergence.py``'s), and the published
recipe does not in the same number of steps."""
import pytest

from core.data.sources import coco_panoptic_source
from core.synthetic import write_coco_dataset
from core.training import Trainer
from core.training.config import get_train_preset


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fast") / "data"
    write_coco_dataset(folder, 8, seed=3, size=160)
    return coco_panoptic_source(folder)


def _final_pq(preset: str, photos, out, epochs: int):
    cfg = get_train_preset(preset).replace(epochs=epochs, min_size=128, max_size=160, eval_size=160, eval_every=epochs,
                                           eval_threshold=0.3, num_workers=0, device="cpu", seed=0)
    if preset == "cpu_small":
        cfg = cfg.replace(stage="joint")
    evals = [r for r in Trainer(cfg, photos, out, val_source=photos).run() if r.kind == "eval"]
    return evals[-1]


@pytest.mark.slow
def test_cpu_fast_learns_the_training_photos_within_a_minute(photos, tmp_path):
    # 8 photos, batch 4: 2 steps an epoch, 60 steps in all.
    ev = _final_pq("cpu_fast", photos, tmp_path / "fast", epochs=30)
    assert ev.pq >= 0.25, f"PQ {ev.pq:.3f} (things {ev.pq_things:.3f}, stuff {ev.pq_stuff:.3f})"
    assert ev.pq_stuff >= 0.5
