import pytest
import torch
import torchvision
from torchvision.ops import FrozenBatchNorm2d

from core.errors import CheckpointError
from core.model.backbone import Backbone, cached_weights_path
from core.model.position_encoding import PositionEmbeddingSine


def test_returns_stride_4_8_16_32_features_and_padding_masks():
    bb = Backbone("resnet18", return_interm_layers=True, trainable_layers=5, frozen_bn=False)
    images = torch.randn(2, 3, 96, 128)
    pixel_mask = torch.zeros(2, 96, 128, dtype=torch.bool)
    pixel_mask[1, :, 64:] = True  # the right half of the second image is padding
    feats, masks = bb(images, pixel_mask)
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 24, 32), (128, 12, 16), (256, 6, 8), (512, 3, 4)]
    assert bb.num_channels == (64, 128, 256, 512) and bb.strides == (4, 8, 16, 32)
    for m, f in zip(masks, feats):
        assert m.dtype == torch.bool and m.shape == (2, *f.shape[-2:])
        assert not m[0].any() and m[1, :, m.shape[-1] // 2:].all() and not m[1, :, : m.shape[-1] // 2].any()


def test_detector_backbone_returns_stride_32_only_with_frozen_batch_norm():
    bb = Backbone("resnet50", return_interm_layers=False, trainable_layers=3, frozen_bn=True)
    feats, _ = bb(torch.randn(1, 3, 64, 64), torch.zeros(1, 64, 64, dtype=torch.bool))
    assert len(feats) == 1 and feats[0].shape[1] == 2048
    assert isinstance(bb.body.bn1, FrozenBatchNorm2d)
    assert not any(k.endswith("num_batches_tracked") for k in bb.state_dict())


@pytest.fixture
def resnet18_file(tmp_path):
    torch.manual_seed(123)
    state = torchvision.models.resnet18(weights=None).state_dict()
    path = tmp_path / "resnet18-imagenet.pth"
    torch.save(state, path)
    return path, state


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """An empty torchvision cache, and a network that fails the test if anyone reaches for it."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    return tmp_path / "hub"


def test_weights_from_a_file_the_user_names(resnet18_file):
    path, state = resnet18_file
    bb = Backbone("resnet18", True, 5, False, weights=path)
    assert torch.equal(bb.body.conv1.weight, state["conv1.weight"])
    assert torch.equal(bb.body.layer4[1].bn2.running_var, state["layer4.1.bn2.running_var"])


def test_auto_uses_the_cache_when_the_file_is_there(resnet18_file, empty_hub):
    path, state = resnet18_file
    target = cached_weights_path("resnet18")
    assert str(target).startswith(str(empty_hub))
    target.parent.mkdir(parents=True)
    target.write_bytes(path.read_bytes())
    bb = Backbone("resnet18", True, 5, False, weights="auto")
    assert torch.equal(bb.body.conv1.weight, state["conv1.weight"])


def test_auto_without_cache_starts_random_and_never_downloads(empty_hub, resnet18_file):
    _, state = resnet18_file
    bb = Backbone("resnet18", True, 5, False, weights="auto")  # the fixture fails on any download
    assert not torch.equal(bb.body.conv1.weight, state["conv1.weight"])


def test_imagenet_downloads_only_when_asked_and_reports_failure(empty_hub, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(CheckpointError, match="could not download.*unreachable"):
        Backbone("resnet18", True, 5, False, weights="imagenet")


def test_a_file_without_resnet_weights_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"conv1.weight": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not a resnet18 state dict"):
        Backbone("resnet18", True, 5, False, weights=path)


def test_position_encoding_ignores_padding():
    pe = PositionEmbeddingSine(16)
    mask = torch.zeros(1, 6, 8, dtype=torch.bool)
    padded = torch.zeros(1, 9, 12, dtype=torch.bool)
    padded[:, 6:, :] = True
    padded[:, :, 8:] = True
    a, b = pe(mask), pe(padded)
    assert a.shape == (1, 32, 6, 8) and b.shape == (1, 32, 9, 12)
    torch.testing.assert_close(b[:, :, :6, :8], a)
