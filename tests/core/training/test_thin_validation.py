"""Validation during training also scores thin classes by their centrelines (cheap, at eval size)."""
from __future__ import annotations

import pytest

from core.data import coco_panoptic_source
from core.training import Trainer
from tests.core.data.synth import make_coco_dataset
from tests.core.training.helpers import TINY_MODEL, tiny_config


@pytest.fixture(autouse=True)
def _single_torch_thread(one_torch_thread):
    """See ``tests/conftest.py``."""


def test_eval_records_carry_centreline_measures_of_thin_classes(tmp_path, capsys):
    from core.evaluation.thin import thin_categories
    from core.training.evaluate import Validation, evaluate_pq

    source = coco_panoptic_source(make_coco_dataset(tmp_path / "data", n=4, sizes=((64, 64),)))
    seen = []

    def evaluate(*args, **kwargs):
        result = evaluate_pq(*args, **kwargs)
        seen.append(result)
        return result

    cfg = tiny_config(epochs=1, eval_every=1)
    records = list(Trainer(cfg, source, tmp_path / "run", val_source=source, model_config=TINY_MODEL,
                           evaluate_fn=evaluate).run())
    (rec,) = [r for r in records if r.kind == "eval"]
    (val,) = seen
    assert isinstance(val, Validation) and val.all is val.pq.all  # PQ reads through as before
    thin_names = {c.name for c in thin_categories(source.categories)}
    assert thin_names and {r.name for r in val.thin.per_class} == thin_names
    counted = [r for r in val.thin.per_class if r.counted]
    assert counted and val.thin.num_images == rec.images
    for r in counted:  # the truth has thin segments, so recall is defined, and the record keeps it
        assert r.gt_length > 0 and rec.per_class[r.name]["cl_recall"] == r.recall
        assert set(rec.per_class[r.name]) >= {"cl_precision", "cl_recall", "cl_f1", "cl_iou"}
    for name in set(rec.per_class) - thin_names:
        assert "cl_f1" not in rec.per_class[name]
