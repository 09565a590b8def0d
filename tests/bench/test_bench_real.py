"""``bench/bench_real.py``'s import of UAV75 with our own mask-folder importer (read from
``../shared/datasets/uav75``; skipped where it is absent) and its table."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bench import bench_real
from core.data import coco_panoptic_source

UAV75 = bench_real.DEFAULT_DATA


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    if not (UAV75 / "test_img").is_dir():
        pytest.skip("UAV75 not found beside the repository (../shared/datasets/uav75)")
    return bench_real.import_uav75(UAV75, tmp_path_factory.mktemp("uav75"))


@pytest.mark.slow
def test_uav75_imports_as_crack_things_on_concrete(folders):
    sizes = {}
    for split, n in (("train", 50), ("val", 10), ("test", 15)):
        source = coco_panoptic_source(folders[split])
        assert len(source) == n and not source.skipped
        sizes[split] = source
    test = sizes["test"]
    assert [c.name for c in test.categories][:5] == ["crack", "spalling", "exposed_rebar", "concrete", "background"]
    crack_px = planking_px = 0
    for sample in test.samples:
        ann = sample.load_annotation()
        label = np.asarray(Image.open(UAV75 / "test_lab" / (sample.image_path.stem + ".png")))[..., 0]
        names = {sid: test.categories.by_id(seg.category_id).name for sid, seg in ann.segments.items()}
        assert set(names.values()) <= {"crack", "concrete"}
        cls = np.vectorize(lambda i, names=names: names.get(int(i), "void"))(ann.id_map)
        assert (cls[label == 255] == "crack").all()          # every crack pixel is a crack segment
        assert (cls[label == 204] == "concrete").all()       # planking is sound concrete
        assert (cls[label == 0] == "concrete").all() and not (cls == "void").any()
        assert sum(n == "concrete" for n in names.values()) == 1  # stuff: one segment per photo
        crack_px += int((label == 255).sum())
        planking_px += int((label == 204).sum())
    assert crack_px > 0 and planking_px > 0


def test_the_table_has_one_line_per_row_and_threshold():
    row = {"start": "random", "photos": 25, "steps": 53, "images_per_s": 1.1,
           "test": {"0.5": {"pq": 49.9, "things": 0.0, "stuff": 99.7,
                            "classes": {"crack": {"pq": 0.0, "tp": 0, "fp": 2, "fn": 26, "cl_p": float("nan"),
                                                  "cl_r": 0.0, "cl_f1": 0.0},
                                        "concrete": {"pq": 99.7}}},
                    "0.7": {"pq": 50.0, "things": 0.0, "stuff": 100.0, "classes": {}}}}
    lines = bench_real.table([row]).splitlines()
    assert len(lines) == 4
    assert "| random | 25 | 53 | 1.1 | 0.5 | 49.9 | 0.0 | 99.7 | 0.0 (0/2/26) | - / 0.0 / 0.0 | 99.7 |" == lines[2]
    assert lines[3].startswith("| random | 25 | 53 | 1.1 | 0.7 | 50.0 |")


def test_runs_are_refused_inside_the_repository(capsys):
    with pytest.raises(SystemExit):
        bench_real.main(["--work", str(bench_real.ROOT / "tmp_uav75"), "--starts", "random"])
    assert "outside the repository" in capsys.readouterr().err
    assert not (bench_real.ROOT / "tmp_uav75").exists()
