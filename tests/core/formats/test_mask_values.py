"""Values found in class-index masks (before mapping them), and the plan of an import into a project."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import DatasetError
from core.formats import MaskFolderOptions, import_mask_folder, parse_class_option
from core.formats.import_plan import plan_project_import
from core.formats.mask_values import sample_evenly, scan_mask_values
from core.imageio import encode_jpeg
from core.project import Project


def _mask(values: dict[int, int], shape=(20, 30)) -> np.ndarray:
    """A mask with ``values[v]`` pixels of each value v (row-major runs), 0 elsewhere."""
    flat = np.zeros(shape[0] * shape[1], np.uint8)
    at = 0
    for v, n in values.items():
        flat[at:at + n] = v
        at += n
    return flat.reshape(shape)


def test_values_pixels_and_shares_are_counted_over_the_masks(tmp_path):
    Image.fromarray(_mask({1: 60, 5: 30})).save(tmp_path / "a.png")
    Image.fromarray(_mask({2: 100})).save(tmp_path / "b.png")
    pal = Image.fromarray(_mask({7: 6}), mode="L").convert("P")  # palette: read as indices, like the importer
    pal.putpalette([0, 0, 0] * 7 + [255, 0, 0] + [0, 0, 0] * 248)
    pal.save(tmp_path / "sub_c.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    found = scan_mask_values(tmp_path)
    assert found.total == 4 and found.read == 3 and len(found.problems) == 1
    assert "broken.png" in found.problems[0].message()
    assert found.pixels[1] == 60 and found.pixels[5] == 30 and found.pixels[2] == 100
    assert found.masks_with[0] == 3 and found.masks_with[5] == 1
    assert sorted(found.pixels) == [0, 1, 2, 5, 7]
    assert found.share(5) == pytest.approx(30 / 1800)
    assert found.preview is not None and found.preview.shape == (20, 30) and found.preview_path.name == "a.png"
    assert not found.sampled


def test_a_large_folder_is_sampled_evenly_from_first_to_last(tmp_path):
    for i in range(12):
        Image.fromarray(_mask({i + 1: 10})).save(tmp_path / f"m{i:02d}.png")
    found = scan_mask_values(tmp_path, sample=4)
    assert found.read == 4 and found.total == 12 and found.sampled
    assert 1 in found.pixels and 12 in found.pixels  # first and last mask read
    assert sample_evenly(list(range(10)), 3) == [0, 4, 9] and sample_evenly([1, 2], 5) == [1, 2]


def test_a_missing_or_empty_folder_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        scan_mask_values(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no mask images"):
        scan_mask_values(tmp_path)


def test_the_plan_counts_what_the_import_would_create_and_writes_nothing(tmp_path):
    photos, masks = tmp_path / "photos", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        (photos / f"p{i}.jpg").write_bytes(encode_jpeg(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)))
        m = np.zeros((20, 30), np.uint8)
        m[2:8, 2:8] = 2
        m[15, 2] = 2  # a 1-px speck
        m[10:18, 20:28] = 5
        Image.fromarray(m).save(masks / f"p{i}.png")
    (photos / "p9.jpg").write_bytes(encode_jpeg(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)))  # no mask
    path = tmp_path / "p.pinspect"
    with Project.create(path) as project:
        mapping = parse_class_option("2=spalling,5=corrosion:thing", project.categories.get())
        run = import_mask_folder(photos, masks, mapping, MaskFolderOptions("index", 8, 4, None))
        plan = plan_project_import(project, run, replace_existing=False)
        assert project.images.count() == 0 and "corrosion" not in [c.name for c in project.categories.get()]
    assert plan.photos_new == 2 and plan.annotations_saved == 2 and plan.categories_new == ["corrosion"]
    assert plan.report.segments_by_name() == {"spalling": 2, "corrosion": 2}  # the speck is dropped
    assert len(plan.report.skipped) == 1 and "no mask found" in plan.report.skipped[0].reason
    assert "would add the categories corrosion" in plan.lines(path)


def test_masks_named_by_class_are_found_for_the_binary_layout(tmp_path):
    for token in ("crack", "spalling"):
        (tmp_path / token).mkdir()
        for i in range(3):
            Image.fromarray(_mask({255: 20})).save(tmp_path / token / f"p{i}.png")
    Image.fromarray(_mask({1: 20})).save(tmp_path / "p0_exposed_rebar.png")
    found = scan_mask_values(tmp_path, tokens=["crack", "spalling", "exposed_rebar", "concrete"])
    assert found.tokens == {"crack": 3, "spalling": 3, "exposed_rebar": 1}
    assert scan_mask_values(tmp_path).tokens == {}
