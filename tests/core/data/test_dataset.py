"""The training data pipeline: COCO panoptic source, dataset samples, augmentation alignment,
collate padding, deterministic sampling."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.categories import Category, CategorySet
from core.data import (EpochBatchSampler, PanopticDataset, SampleKey, build_eval_transforms, build_train_transforms,
                       coco_panoptic_source, collate, split_source)
from core.data.targets import CompactAnnotation, targets_from_index_map
from core.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from core.errors import DatasetError
from core.imageio import encode_png
from core.panoptic import PanopticAnnotation, Segment
from tests.core.data.synth import CATEGORIES, make_coco_dataset


@pytest.fixture(scope="module")
def dataset_json(tmp_path_factory):
    return make_coco_dataset(tmp_path_factory.mktemp("coco"), n=6, kinds=("mixed", "stuff_only", "empty"))


def _train_ds(json_path, **kw):
    return PanopticDataset(coco_panoptic_source(json_path), build_train_transforms(64, 96, **kw), base_size=96)


def test_source_finds_photos_beside_the_json_and_reads_categories(dataset_json):
    src = coco_panoptic_source(dataset_json.parent)  # the folder works as well as the file
    assert len(src) == 6 and src.skipped == ()
    assert src.categories.ids == CATEGORIES.ids
    assert all(s.image_path.parent.name == "images" for s in src.samples)


def test_missing_photos_are_listed_and_no_photo_at_all_is_an_error(tmp_path):
    json_path = make_coco_dataset(tmp_path, n=3)
    (tmp_path / "images" / "photo_001.png").unlink()
    src = coco_panoptic_source(json_path)
    assert len(src) == 2 and len(src.skipped) == 1 and "photo_001.png" in src.skipped[0]
    for p in (tmp_path / "images").iterdir():
        p.unlink()
    with pytest.raises(DatasetError, match="none of the photos"):
        coco_panoptic_source(json_path)


def test_samples_have_one_disjoint_mask_and_tight_box_per_segment(dataset_json):
    ds = _train_ds(dataset_json)
    for i in range(len(ds)):
        s = ds[SampleKey(i, 123)]
        n, h, w = s.masks.shape
        assert s.image.shape == (3, h, w) and s.image.dtype == torch.float32
        assert 64 <= max(h, w) <= 96
        assert s.boxes.shape == (n, 4) and s.labels.shape == (n,)
        assert n == 0 or int(s.masks.sum(0).max()) <= 1  # segments never overlap
        for m, box in zip(s.masks, s.boxes):
            ys, xs = torch.nonzero(m, as_tuple=True)
            assert box.tolist() == [xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1]


def test_things_and_stuff_get_boxes_and_empty_and_stuff_only_photos_work(dataset_json):
    ds = _train_ds(dataset_json)
    stuff_idx = {i for i, c in enumerate(CATEGORIES) if not c.isthing}
    labels = [set(ds[SampleKey(i, 0)].labels.tolist()) for i in range(3)]
    assert labels[0] & stuff_idx and labels[0] - stuff_idx  # mixed: both kinds, all with boxes
    assert labels[1] and labels[1] <= stuff_idx            # stuff only
    empty = ds[SampleKey(2, 0)]
    assert labels[2] == set() and empty.masks.shape[0] == 0 and empty.boxes.shape == (0, 4)


def test_augmentation_keeps_photo_and_masks_aligned(tmp_path):
    # Each segment has its own flat colour; after flips, crops and resizes the pixels inside
    # every target mask (away from its border) must still carry that segment's colour.
    from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic

    h, w = 80, 96
    id_map = np.zeros((h, w), np.int32)
    id_map[:, :40] = 1
    id_map[:, 40:] = 2
    id_map[20:50, 55:85] = 3
    colours = {1: (200, 30, 30), 2: (30, 200, 30), 3: (30, 30, 200)}
    img = np.zeros((h, w, 3), np.uint8)
    for k, c in colours.items():
        img[id_map == k] = c
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(encode_png(img))
    ann = PanopticAnnotation(id_map, {1: Segment(1, 4), 2: Segment(2, 5), 3: Segment(3, 2)})
    write_coco_panoptic(tmp_path / "p.json", tmp_path / "p", [PanopticRecord(1, "a.png", w, h, ann)], CATEGORIES)
    ds = PanopticDataset(coco_panoptic_source(tmp_path / "p.json"),
                         build_train_transforms(48, 96, jitter=0.0, crop_prob=1.0, vflip=True), base_size=96)
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1), torch.tensor(IMAGENET_STD).view(3, 1)
    colour_of_label = {3: colours[1], 4: colours[2], 1: colours[3]}  # class index = position of the category
    for seed in range(12):
        s = ds[SampleKey(0, seed)]
        for m, label in zip(s.masks, s.labels.tolist()):
            inner = torch.nn.functional.max_pool2d((~m)[None, None].float(), 5, 1, 2)[0, 0] == 0
            if inner.sum() == 0:
                continue
            rgb = (s.image[:, inner] * std + mean) * 255
            expected = torch.tensor(colour_of_label[label], dtype=torch.float32).view(3, 1)
            assert (rgb - expected).abs().max() < 40, f"seed {seed}: label {label} misaligned"


def test_native_windows_keep_a_one_pixel_crack_at_its_own_width(tmp_path):
    # A 1-px crack across a 192-px photo trained at 96 px: resized it is half a pixel wide (a
    # faint smear, gone from its mask), in a native window it is the 1-px line it is.
    from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic
    from core.training.config import TrainConfig
    from core.training.setup import train_dataset

    h = w = 192
    id_map = np.ones((h, w), np.int32)
    id_map[:, 101] = 2
    img = np.full((h, w, 3), 180, np.uint8)
    img[id_map == 2] = 40
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(encode_png(img))
    ann = PanopticAnnotation(id_map, {1: Segment(1, 4), 2: Segment(2, 2)})
    write_coco_panoptic(tmp_path / "p.json", tmp_path / "p", [PanopticRecord(1, "a.png", w, h, ann)], CATEGORIES)
    source = coco_panoptic_source(tmp_path / "p.json")
    cfg = TrainConfig(min_size=96, max_size=96, jitter=0.0, crop_prob=0.0, hflip=False, native_crop_prob=1.0)
    assert cfg.decode_size == 192  # decoded at 2 x max_size: here the photo's own size
    ds = train_dataset(cfg, source, cache=False)
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)
    seen = 0
    for seed in range(8):
        s = ds[SampleKey(0, seed)]
        assert s.image.shape[1:] == (96, 96)  # the pixels of a resized sample: the cost per step stays
        grey = ((s.image * std + mean) * 255)[0]
        columns = (grey < 100).all(0).nonzero().flatten().tolist()
        if columns:  # the window holds the crack: one dark column, its mask exactly that column
            seen += 1
            assert len(columns) == 1
            col_masks = [m for m in s.masks if m.all(0).any() and m.sum() == 96]
            assert len(col_masks) == 1 and col_masks[0][:, columns[0]].all()
    assert seen > 0
    resized = train_dataset(cfg.replace(native_crop_prob=0.0), source, cache=False)[SampleKey(0, 0)]
    grey = ((resized.image * std + mean) * 255)[0]
    assert not (grey < 100).all(0).any()  # resized to 96 px the line is a smear, not a dark column


def test_same_key_same_sample_other_seed_other_augmentation(dataset_json):
    ds = _train_ds(dataset_json)
    a, b = ds[SampleKey(0, 7)], ds[SampleKey(0, 7)]
    assert torch.equal(a.image, b.image) and torch.equal(a.masks, b.masks)
    shapes = {tuple(ds[SampleKey(0, s)].image.shape) for s in range(10)}
    assert len(shapes) > 1  # multi-scale: different seeds give different sizes


def test_loading_in_worker_processes_gives_the_same_samples(dataset_json):
    ds = _train_ds(dataset_json)
    ds.preload()
    sampler = EpochBatchSampler(len(ds), 2, seed=3, epoch=1)
    batches = {}
    for workers in (0, 2):
        loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=collate, num_workers=workers)
        batches[workers] = list(loader)
    for b0, b2 in zip(batches[0], batches[2]):
        assert torch.equal(b0.images, b2.images) and b0.indices == b2.indices


def test_annotation_of_other_size_is_left_out_with_an_exif_hint(tmp_path):
    json_path = make_coco_dataset(tmp_path, n=3, sizes=((64, 80),))
    from PIL import Image

    p = tmp_path / "images" / "photo_001.png"
    Image.open(p).transpose(Image.Transpose.ROTATE_90).save(p)  # 80 x 64 now: swapped
    ds = PanopticDataset(coco_panoptic_source(json_path), build_eval_transforms(96), base_size=96)
    assert ds[1] is None and "EXIF" in ds.failures["photo_001.png"]
    bad = ds.preload()
    assert list(bad) == ["photo_001.png"] and len(ds) == 2
    assert all(ds[i] is not None for i in range(len(ds)))


def test_crowd_segments_get_no_target_and_eval_gt_keeps_them():
    id_map = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 3, 3]], np.int32)
    ann = PanopticAnnotation(id_map, {1: Segment(1, 1), 2: Segment(2, 1, iscrowd=True), 3: Segment(3, 4)})
    compact = CompactAnnotation.from_panoptic(ann, CATEGORIES)
    masks, boxes, labels = targets_from_index_map(torch.from_numpy(compact.index_map),
                                                  torch.from_numpy(compact.labels), torch.from_numpy(compact.crowd))
    assert labels.tolist() == [0, 3] and masks.sum().item() == 8
    assert boxes.tolist() == [[0, 0, 2, 2], [0, 2, 4, 3]]
    back = compact.to_panoptic()
    assert back.segments[2].iscrowd and np.array_equal(back.semantic(), ann.semantic())


def test_collate_pads_to_multiples_of_32_marks_padding_and_normalises_boxes(dataset_json):
    ds = PanopticDataset(coco_panoptic_source(dataset_json), build_eval_transforms(70), base_size=96, keep_gt=True)
    samples = [ds[0], None, ds[2]]
    batch = collate(samples)
    assert batch.dropped == 1 and len(batch) == 2
    assert batch.images.shape[-2] % 32 == 0 and batch.images.shape[-1] % 32 == 0
    pad_h, pad_w = batch.images.shape[-2:]
    for b, s in enumerate([samples[0], samples[2]]):
        h, w = s.image.shape[1:]
        assert batch.image_sizes[b] == (h, w)
        assert not batch.pixel_mask[b, :h, :w].any() and batch.pixel_mask[b].sum() == pad_h * pad_w - h * w
        t = batch.targets[b]
        assert t["masks"].shape == (s.masks.shape[0], pad_h, pad_w)
        cx, cy, bw, bh = t["boxes"].unbind(-1)
        x0, y0 = (cx - bw / 2) * pad_w, (cy - bh / 2) * pad_h
        assert torch.allclose(torch.stack([x0, y0], -1), s.boxes[:, :2], atol=1e-4)
    assert len(batch.gts) == 2 and batch.gts[0].shape == batch.image_sizes[0]
    assert collate([None, None]) is None


def test_sampler_is_deterministic_sharded_and_resumable():
    full = list(EpochBatchSampler(10, 2, seed=5, epoch=3))
    assert full == list(EpochBatchSampler(10, 2, seed=5, epoch=3))
    assert full != list(EpochBatchSampler(10, 2, seed=5, epoch=4))
    assert sorted(k.index for b in full for k in b) == list(range(10))
    assert list(EpochBatchSampler(10, 2, seed=5, epoch=3, start_batch=2)) == full[2:]
    shards = [[k.index for b in EpochBatchSampler(8, 2, seed=5, epoch=0, rank=r, world_size=2) for k in b]
              for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 4 and sorted(shards[0] + shards[1]) == list(range(8))
    # 9 samples: padded to 10 so both processes run the same number of steps (DDP would hang otherwise)
    assert [len(EpochBatchSampler(9, 2, rank=r, world_size=2)) for r in range(2)] == [2, 2]


def test_split_is_deterministic_disjoint_and_keeps_one_validation_photo(dataset_json):
    src = coco_panoptic_source(dataset_json)
    tr, va = split_source(src, 0.2, seed=1)
    tr2, va2 = split_source(src, 0.2, seed=1)
    assert [s.key for s in va.samples] == [s.key for s in va2.samples]
    assert len(va) >= 1 and len(tr) + len(va) == len(src)
    assert not {s.key for s in tr.samples} & {s.key for s in va.samples}


def test_unknown_category_in_an_annotation_is_reported(tmp_path):
    json_path = make_coco_dataset(tmp_path, n=2)
    data = json.loads(json_path.read_text())
    data["categories"] = [c for c in data["categories"] if c["id"] != 4] + [
        {"id": 9, "name": "x", "isthing": 1, "color": [1, 2, 3]}]
    json_path.write_text(json.dumps(data))
    ds = PanopticDataset(coco_panoptic_source(json_path), build_eval_transforms(96), base_size=96)
    with pytest.raises(DatasetError, match="none of the 2 photos"):
        ds.preload()
    assert any("category" in r for r in ds.failures.values())


def test_category_positions_define_class_indices():
    cats = CategorySet((Category(7, "b", False, (1, 1, 1)), Category(3, "a", True, (2, 2, 2))))
    ann = PanopticAnnotation(np.array([[5, 6]], np.int32), {5: Segment(5, 3), 6: Segment(6, 7)})
    compact = CompactAnnotation.from_panoptic(ann, cats)
    assert compact.labels[1:].tolist() == [1, 0]


def test_a_photo_at_its_own_size_is_always_a_native_window_a_shrunk_one_sometimes():
    """Half the samples native (``native_crop_prob`` 0.5): a photo decoded at its own size (smaller
    than the decode size, read at its own size by the thin head at inference) is a window every
    time; a photo shrunk to the decode size is a window or a resized view."""
    from torchvision import tv_tensors

    transform = build_train_transforms(96, 96, jitter=0.0, crop_prob=0.0, hflip=False, native_crop_prob=0.5,
                                       decoded_at=192)
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)

    def steps_between_columns(side: int) -> set[float]:
        """Grey-level step between neighbouring columns of a ramp photo (1 per px), per sample:
        1 for a window, side / 96 for a resized view."""
        ramp = torch.arange(side, dtype=torch.uint8).repeat(3, side, 1)
        seen = set()
        for seed in range(16):
            torch.manual_seed(seed)
            image, _ = transform(tv_tensors.Image(ramp), tv_tensors.Mask(torch.zeros(1, side, side, dtype=torch.int64)))
            grey = ((image * std + mean) * 255)[0, 48]
            seen.add(round(float((grey[1:] - grey[:-1]).mean()), 1))
        return seen

    assert steps_between_columns(150) == {1.0}  # its own size: always a window
    assert steps_between_columns(192) == {1.0, 2.0}  # shrunk to the decode size: both views
