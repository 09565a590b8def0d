import os

import numpy as np
import pytest
import torch

from core.categories import CategorySet
from core.errors import CheckpointError
from core.model import (ModelConfig, load_checkpoint, load_model_from_checkpoint, load_model_state,
                        save_checkpoint)


def _images():
    return torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def test_round_trip_restores_model_config_categories_and_extra(build_tiny, tiny_config, categories, tmp_path):
    model, _, _ = build_tiny()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model(_images())["pred_logits"].sum().backward()
    optimizer.step()
    path = tmp_path / "Brücke Nord" / "model.pth"  # a new folder with a non-ASCII name
    extra = {"optimizer": optimizer.state_dict(), "epoch": 3, "rng": torch.get_rng_state()}
    save_checkpoint(path, model, tiny_config, categories, extra)
    ckpt = load_checkpoint(path)
    assert ModelConfig.from_dict(ckpt["config"]) == tiny_config
    assert CategorySet.from_json(ckpt["categories"]) == categories
    assert ckpt["epoch"] == 3 and torch.equal(ckpt["rng"], extra["rng"])
    optimizer.load_state_dict(ckpt["optimizer"])
    loaded = load_model_from_checkpoint(path)
    model.eval()
    loaded.model.eval()
    with torch.no_grad():
        a, b = model(_images()), loaded.model(_images())
    assert torch.equal(a["pred_masks"], b["pred_masks"]) and torch.equal(a["pred_logits"], b["pred_logits"])
    assert loaded.config == tiny_config and loaded.postprocessor.category_ids == categories.ids
    assert [p.name for p in path.parent.iterdir()] == ["model.pth"]  # no temporary file left


def test_a_failed_save_leaves_the_previous_checkpoint(build_tiny, tiny_config, categories, tmp_path, monkeypatch):
    model, _, _ = build_tiny()
    path = tmp_path / "model.pth"
    save_checkpoint(path, model, tiny_config, categories, {"epoch": 1})

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(path, model, tiny_config, categories, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["model.pth"]


class _Payload:
    def __reduce__(self):
        return (os.mkdir, (os.environ["PAYLOAD_DIR"],))


def test_a_checkpoint_with_pickled_code_is_refused_without_running_it(tmp_path, monkeypatch):
    marker = tmp_path / "payload-ran"
    monkeypatch.setenv("PAYLOAD_DIR", str(marker))
    path = tmp_path / "evil.pth"
    torch.save({"format": "panoptic-inspector-detr", "format_version": 1, "model": {}, "x": _Payload()}, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("content, message", [
    (b"", "damaged|not a PyTorch"),
    (b"this is not a checkpoint", "damaged|not a PyTorch"),
])
def test_garbage_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as e:
        load_checkpoint(path)
    assert str(path) in str(e.value)


def test_a_truncated_checkpoint_is_refused(build_tiny, tiny_config, categories, tmp_path):
    model, _, _ = build_tiny()
    path = tmp_path / "model.pth"
    save_checkpoint(path, model, tiny_config, categories)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pth")


def test_public_detr_file_is_told_apart(tmp_path):
    path = tmp_path / "detr-r50.pth"
    torch.save({"model": {"class_embed.bias": torch.zeros(92)}}, path)
    with pytest.raises(CheckpointError, match="plain DETR checkpoint") as e:
        load_checkpoint(path)
    assert "public DETR" in str(e.value)


def _stored(build_tiny, tiny_config, categories, tmp_path, changes):
    model, _, _ = build_tiny()
    path = tmp_path / "model.pth"
    save_checkpoint(path, model, tiny_config, categories)
    ckpt = torch.load(path, weights_only=True)
    ckpt.update(changes)
    torch.save(ckpt, path)
    return path


def test_newer_format_versions_are_refused(build_tiny, tiny_config, categories, tmp_path):
    path = _stored(build_tiny, tiny_config, categories, tmp_path, {"format_version": 99})
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(path)


def test_a_bad_stored_config_is_refused(build_tiny, tiny_config, categories, tmp_path):
    path = _stored(build_tiny, tiny_config, categories, tmp_path, {"config": {"hidden_dim": "big"}})
    with pytest.raises(CheckpointError, match="model config"):
        load_checkpoint(path)


def test_categories_must_match_the_class_head(build_tiny, tiny_config, categories, tmp_path):
    path = _stored(build_tiny, tiny_config, categories, tmp_path,
                   {"categories": categories.to_json()[:3]})
    with pytest.raises(CheckpointError, match="5 classes but the checkpoint lists 3"):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_model_are_a_checkpoint_error(build_tiny):
    model, _, _ = build_tiny()
    other, _, _ = build_tiny(hidden_dim=64)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model_state(model, other.state_dict(), "other.pth")


def test_extra_must_be_plain_data(build_tiny, tiny_config, categories, tmp_path):
    model, _, _ = build_tiny()
    with pytest.raises(ValueError, match="numpy"):
        save_checkpoint(tmp_path / "m.pth", model, tiny_config, categories, {"rng": np.random.get_state()})
    with pytest.raises(ValueError, match="reserved"):
        save_checkpoint(tmp_path / "m.pth", model, tiny_config, categories, {"model": {}})
    assert not (tmp_path / "m.pth").exists()
