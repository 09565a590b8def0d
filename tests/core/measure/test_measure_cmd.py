"""``python main.py measure``: crack widths of a photo with a mask from any tool, as JSON."""
import json

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.synthetic.thin_crack import render_crack


def _write(tmp_path, name, image, mask, *, value=255, mask_name=None):
    photo = tmp_path / f"{name}.png"
    Image.fromarray(np.repeat(image[..., None], 3, 2)).save(photo)
    m = tmp_path / (mask_name or f"{name}_mask.png")
    Image.fromarray(np.where(mask, value, 0).astype(np.uint8)).save(m)
    return photo, m


def _two_cracks(seed=0, wider=1.0):
    """A 1.0 px and a 5 px crack of the same interior side by side, masks 1 px too wide."""
    a = render_crack(1.0, blur_sigma=0.6, noise_sigma=2.0, contrast=50.0, seed=seed)
    b = render_crack(5.0, blur_sigma=0.6, noise_sigma=2.0, contrast=50.0, angle_deg=-60, seed=seed + 1)
    return np.hstack([a.image, b.image]), np.hstack([a.mask(wider), b.mask(wider)])


def test_json_rows_per_crack_in_px_and_mm(tmp_path, capsys):
    image, mask = _two_cracks()
    photo, m = _write(tmp_path, "wall", image, mask)
    out = tmp_path / "cracks.json"
    assert main(["measure", str(photo), "--mask", str(m), "--mm-per-px", "0.2", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["mm_per_px"] == 0.2 and doc["problems"] == []
    (entry,) = doc["photos"]
    assert (entry["width"], entry["height"]) == (256, 128)
    rows = sorted(entry["cracks"], key=lambda r: r["mean_width_px"])
    assert len(rows) == 2
    thin, wide = rows
    assert thin["mean_width_px"] == pytest.approx(1.0, abs=0.15)
    assert wide["mean_width_px"] == pytest.approx(5.0, abs=0.2)
    assert thin["mean_width_mm"] == pytest.approx(thin["mean_width_px"] * 0.2)
    assert thin["max_width_mm"] >= thin["median_width_mm"]
    assert thin["length_px"] == pytest.approx(0.7 * 128, rel=0.1)
    assert thin["length_mm"] == pytest.approx(thin["length_px"] * 0.2)
    assert thin["method"] == "profile-ref" and wide["method"] == "profile"
    assert thin["width_iqr_px"] < 0.5
    # The mask is 1 px too wide on each side: its own count is 2 px off, the profile is not.
    assert thin["mask_mean_width_px"] > 2.5
    printed = capsys.readouterr().out
    assert "wall.png: 2 cracks" in printed and "mean w mm" in printed


def test_class_index_mask_and_no_scale(tmp_path):
    image, mask = _two_cracks(seed=3)
    photo, m = _write(tmp_path, "slab", image, mask, value=3)
    labels = np.asarray(Image.open(m)).copy()
    labels[:5, :5] = 7  # another class: not a crack
    Image.fromarray(labels).save(m)
    out = tmp_path / "c.json"
    assert main(["measure", str(photo), "--mask", str(m), "--class-value", "3", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    rows = doc["photos"][0]["cracks"]
    assert len(rows) == 2 and all(r["mean_width_mm"] is None for r in rows)
    assert main(["measure", str(photo), "--mask", str(m), "--class-value", "5"]) == 1


def test_size_mismatch_and_empty_mask_are_clear_errors(tmp_path, capsys):
    image, mask = _two_cracks()
    photo, m = _write(tmp_path, "a", image, mask[:, :-3])
    assert main(["measure", str(photo), "--mask", str(m)]) == 1
    err = capsys.readouterr().err
    assert "253x128" in err and "256x128" in err
    photo, m = _write(tmp_path, "b", image, np.zeros_like(mask))
    assert main(["measure", str(photo), "--mask", str(m)]) == 1
    assert "marks no crack" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # refused by the parser, with the option's range
        main(["measure", str(photo), "--mask", str(m), "--mm-per-px", "-1"])
    assert e.value.code == 2 and "must be a finite number > 0, got -1" in capsys.readouterr().err


def test_folder_pairs_by_name_and_reports_problems(tmp_path):
    photos, masks = tmp_path / "photos", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    for i in range(2):
        image, mask = _two_cracks(seed=10 + i)
        _write(photos, f"p{i}", image, mask, mask_name=f"../masks/p{i}.png")
    image, mask = _two_cracks(seed=20)
    _write(photos, "empty", image, np.zeros_like(mask), mask_name="../masks/empty_mask.png")
    Image.fromarray(np.repeat(image[..., None], 3, 2)).save(photos / "lonely.png")
    out = tmp_path / "all.json"
    assert main(["measure", str(photos), "--mask", str(masks), "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [p["photo"].rsplit("/", 1)[-1] for p in doc["photos"]] == ["p0.png", "p1.png"]
    reasons = {p["path"].rsplit("/", 1)[-1]: p["reason"] for p in doc["problems"]}
    assert "no mask" in reasons["lonely.png"] and "marks no crack" in reasons["empty_mask.png"]
