"""Predictor: checkpoints in, re-thresholdable predictions out, one photo or many."""
from __future__ import annotations

import argparse
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from core.errors import BadImageError, CheckpointError
from core.imageio import load_image
from core.inference import Predictor
from core.model.checkpoint import save_checkpoint
from tests.support.models import INPUT, TINY, tiny_model, write_photo
from tests.support.results import category_map, found_in, large_segments


def _same_prediction(a, b, thresholds=(0.3, 0.5, 0.7)):
    np.testing.assert_array_equal(a.logits, b.logits)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert a.image_size == b.image_size
    for t in thresholds:
        pa, pb = a.panoptic(t), b.panoptic(t)
        np.testing.assert_array_equal(pa.id_map, pb.id_map)
        assert pa.segments == pb.segments


def test_checkpoint_gives_model_categories_and_trained_input_size(predictor, checkpoint):
    assert predictor.input_size == INPUT  # the training config's eval_size
    assert [c.name for c in predictor.categories][:3] == ["crack", "spalling", "exposed_rebar"]
    assert predictor.description["name"] == checkpoint.name
    assert Predictor.from_checkpoint(checkpoint, "cpu", input_size=64).input_size == 64


def test_prediction_is_full_size_and_has_scored_segments(predictor, photos):
    pred = predictor.predict(photos[0])
    assert pred.image_size == (150, 200) and max(pred.input_size) == INPUT
    assert pred.meta.timings["network_s"] > 0
    ann = pred.panoptic(0.3)
    ann.validate(predictor.categories)
    assert ann.shape == (150, 200)
    assert ann.segments and all(s.source == "model" and 0.3 < s.score <= 1 for s in ann.segments.values())


def test_output_frame_follows_the_exif_orientation(predictor, tmp_path):
    upright = tmp_path / "upright.png"
    rgb, _ = write_photo(upright, 4, (180, 120))                   # 180 wide, 120 high, upright
    exif = Image.Exif()
    exif[0x0112] = 6                                               # "rotate 90 clockwise to view"
    rotated = tmp_path / "phone.png"
    Image.fromarray(rgb).transpose(Image.Transpose.ROTATE_90).save(rotated, exif=exif)
    a, b = predictor.predict(rotated), predictor.predict(upright)
    assert a.image_size == (120, 180) == load_image(rotated).shape[:2]
    _same_prediction(a, b)
    _same_prediction(a, predictor.predict(rgb))
    # A phone JPEG: stored 120 x 180, shown 180 x 120; masks come back in the shown frame.
    jpeg = tmp_path / "phone.jpg"
    Image.fromarray(rgb).transpose(Image.Transpose.ROTATE_90).save(jpeg, exif=exif, quality=95)
    assert predictor.predict(jpeg).panoptic(0.5).shape == (120, 180)


def test_predict_many_equals_predict_and_skips_bad_files(predictor, photos, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    paths = [photos[0], bad, photos[1], tmp_path / "missing.jpg", photos[2]]
    calls = []
    items = list(predictor.predict_many(paths, progress=lambda d, t, m: calls.append((d, t, m))))
    assert [i.index for i in items] == list(range(5)) and [i.path for i in items] == paths
    assert [i.ok for i in items] == [True, False, True, False, True]
    assert all(isinstance(i.error, BadImageError) and str(i.path) in str(i.error) for i in items if not i.ok)
    for item in items:
        if item.ok:
            _same_prediction(item.prediction, predictor.predict(item.path))
    assert [c[:2] for c in calls] == [(k, 5) for k in range(1, 6)] and "broken.jpg" in calls[1][2]


def test_cancel_stops_the_batch(predictor, photos):
    stop = threading.Event()
    seen = []
    for item in predictor.predict_many(photos * 3, cancel=stop):
        seen.append(item)
        stop.set()
    assert len(seen) == 1


def test_big_photo_is_decoded_small_and_predicted_at_full_size(predictor, tmp_path):
    path = tmp_path / "big.jpg"
    rgb, _ = write_photo(tmp_path / "small.png", 9, (300, 200))
    Image.fromarray(rgb).resize((3000, 2000)).save(path, quality=80)
    photo = predictor.decode(path)
    assert max(photo.rgb.shape[:2]) <= INPUT and photo.image_size == (2000, 3000)
    pred = predictor.predict(photo)
    assert pred.panoptic(0.5).shape == (2000, 3000)


@pytest.mark.parametrize("photo_seed", [1, 2])
def test_a_higher_threshold_never_adds_a_segment(predictor, tmp_path, photo_seed):
    path = tmp_path / "p.png"
    write_photo(path, photo_seed, (160, 120))
    pred = predictor.predict(path)
    thresholds = [0.3] + [t for t in pred.score_levels() if t < 1.0]
    seen = [{(s.category_id, s.score) for s in pred.panoptic(t).segments.values()} for t in thresholds]
    assert len(seen[0]) > len(seen[-1])
    assert all(high <= low for low, high in zip(seen, seen[1:]))


class _RunsCode:
    def __reduce__(self):
        return (print, ("this ran while loading a checkpoint",))


def test_bad_and_foreign_checkpoints_are_refused_clearly(tmp_path, capsys):
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"model": {}, "payload": _RunsCode()}, unsafe)
    with pytest.raises(CheckpointError, match="refused"):
        Predictor.from_checkpoint(unsafe, "cpu")
    assert "this ran" not in capsys.readouterr().out
    with pytest.raises(CheckpointError, match="does not exist"):
        Predictor.from_checkpoint(tmp_path / "nope.pt", "cpu")
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="notes.pt"):
        Predictor.from_checkpoint(text, "cpu")
    # A public DETR file: weights without our config and categories -> fine-tuning only.
    model, _ = tiny_model()
    public = tmp_path / "detr-r50-panoptic.pth"
    torch.save({"model": model.state_dict()}, public)
    with pytest.raises(CheckpointError, match="(?i)fine-tun"):
        Predictor.from_checkpoint(public, "cpu")
    # A box detector cannot make panoptic masks.
    boxes_cfg = TINY.replace(with_masks=False)
    boxes, cats = tiny_model(config=boxes_cfg)
    path = tmp_path / "boxes.pt"
    save_checkpoint(path, boxes, boxes_cfg, cats)
    with pytest.raises(CheckpointError, match="mask head"):
        Predictor.from_checkpoint(path, "cpu")


def test_lowest_threshold_matches_the_models_post_processor_on_the_network_outputs(checkpoint, photos):
    """End to end: the same photo through the model and its own post-processor, with the mask
    logits rounded to float16 as a stored prediction keeps them."""
    from core.data.transforms import build_eval_transforms
    from core.model import PanopticPostProcessor

    predictor = Predictor.from_checkpoint(checkpoint, "cpu", mixed_precision=False)  # the network's own numbers
    photo = predictor.decode(photos[1])
    x = build_eval_transforms(predictor.input_size)(torch.from_numpy(photo.rgb.copy()).permute(2, 0, 1))
    out = predictor.model.predict(x[None], None, min_score=0.3)
    exact = dict(out, pred_masks=out["pred_masks"].half().float())
    post = PanopticPostProcessor(len(predictor.categories), predictor.categories)
    pred = predictor.predict(photo)
    size = [tuple(x.shape[-2:])]
    ref = post(exact, size, [photo.image_size], threshold=0.3)[0]
    got = pred.panoptic(0.3)
    assert ref.segments == got.segments and len(got.segments) > 2
    np.testing.assert_array_equal(ref.id_map, got.id_map)
    # Against the unrounded float32 logits: float16 keeps ~3 significant digits, so pixels where
    # two queries' logits nearly tie may go the other way (this untrained model's mask logits are
    # in the hundreds). Which of two near-tied queries wins a region depends on the torch build's
    # kernels, so its score is no contract; what a user sees is: the category of each pixel, and
    # every large segment found again with the same category (IoU > 0.5, PQ's own match rule).
    full = post(out, size, [photo.image_size], threshold=0.3)[0]

    assert (category_map(full) == category_map(got)).mean() > 0.98
    big_full, big_got = large_segments(full), large_segments(got)
    assert big_full and found_in(big_full, big_got) and found_in(big_got, big_full)


def test_the_grouping_containment_reaches_the_prediction_and_bad_values_are_refused(checkpoint, photos):
    from core.commands.predict_cmd import _merge_overlap, _overlap
    from core.model.thing_merge import DEFAULT_MERGE_OVERLAP

    off = Predictor.from_checkpoint(checkpoint, "cpu", merge_overlap=None)
    assert off.predict(photos[0]).meta.merge_overlap is None
    assert Predictor.from_checkpoint(checkpoint, "cpu").predict(photos[0]).meta.merge_overlap == DEFAULT_MERGE_OVERLAP
    with pytest.raises(ValueError, match="merge_overlap"):
        Predictor(off.model, off.categories, input_size=64, merge_overlap=1.5)
    # The command line: not given -> the built-in value; 'off' -> no grouping.
    assert _merge_overlap(None) == DEFAULT_MERGE_OVERLAP and _merge_overlap(_overlap("off")) is None
    assert _merge_overlap(_overlap("0.5")) == 0.5
    with pytest.raises(argparse.ArgumentTypeError):
        _overlap("0")
