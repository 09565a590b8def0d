"""Centreline measures of thin classes on hand-made cases."""
from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from core.categories import Category, CategorySet
from core.evaluation.thin import (ThinAccumulator, centreline, format_thin_table, is_thin, match_centrelines,
                                  thin_categories)
from core.panoptic import PanopticAnnotation, Segment

CATS = CategorySet((Category(1, "concrete", False, (128, 128, 128)),
                    Category(2, "crack", True, (255, 0, 0)),
                    Category(3, "spalling", True, (0, 0, 255)),
                    Category(4, "exposed rebar", True, (0, 255, 0))))


def _ann(*layers: tuple[np.ndarray, int], shape=(200, 300)) -> PanopticAnnotation:
    """Segments from ``(mask, category id)``; later layers paint over earlier ones."""
    ids = np.zeros(shape, np.int32)
    segs = {}
    for k, (mask, cat) in enumerate(layers, 1):
        ids[mask] = k
        segs[k] = Segment(k, cat)
    present = set(np.unique(ids).tolist())
    return PanopticAnnotation(ids, {k: s for k, s in segs.items() if k in present})


def _line(p0, p1, width=2, shape=(200, 300)) -> np.ndarray:
    img = np.zeros(shape, np.uint8)
    cv2.line(img, p0, p1, 1, width)
    return img.astype(bool)


def test_thin_classes_follow_role_and_flag():
    assert [c.name for c in thin_categories(CATS)] == ["crack", "exposed rebar"]
    custom = Category(7, "joint sealant", True, (1, 2, 3), thin=True)
    assert is_thin(custom) and not is_thin(Category(8, "joint sealant", True, (1, 2, 3)))
    # An explicit False wins over the name.
    assert not is_thin(Category(9, "hairline crack", True, (1, 2, 3), thin=False))


def test_shifted_by_one_pixel_is_perfect_at_two_px():
    gt = _ann((_line((20, 40), (280, 160)), 2))
    pred = _ann((_line((20, 41), (280, 161)), 2))
    acc = ThinAccumulator(CATS, tolerance=2.0)
    acc.process(gt, pred, image_id="a")
    row = acc.evaluate().per_class[0]
    assert row.name == "crack"
    assert row.f1 == pytest.approx(1.0) and row.cliou == pytest.approx(1.0)
    # At tolerance 0 the same shift is mostly a miss.
    strict = ThinAccumulator(CATS, tolerance=0.0)
    strict.process(gt, pred)
    assert strict.evaluate().per_class[0].f1 < 0.5


def test_missed_branch_costs_recall_by_its_length():
    trunk = _line((20, 100), (280, 100))
    branch = _line((150, 100), (150, 190))  # 90 px side branch
    gt = _ann((trunk | branch, 2))
    pred = _ann((trunk, 2))
    acc = ThinAccumulator(CATS)
    acc.process(gt, pred)
    row = acc.evaluate().per_class[0]
    assert row.precision == pytest.approx(1.0)
    # Recall = trunk / (trunk + branch), up to the few pixels at the junction and ends.
    assert row.recall == pytest.approx(260 / 350, abs=0.03)
    assert row.gt_length - row.pred_length == pytest.approx(90, abs=5)


def test_empty_truth_and_empty_prediction():
    crack = _line((20, 100), (280, 100))
    nothing = _ann(shape=(200, 300))
    acc = ThinAccumulator(CATS)
    acc.process(_ann((crack, 2)), nothing, image_id="missed")
    acc.process(nothing, _ann((crack, 2)), image_id="invented")
    acc.process(nothing, nothing, image_id="none")
    res = acc.evaluate()
    missed, invented, none = res.per_image
    assert missed.overall.recall == 0 and math.isnan(missed.overall.precision) and missed.overall.f1 == 0
    assert invented.overall.precision == 0 and math.isnan(invented.overall.recall) and invented.overall.f1 == 0
    assert math.isnan(none.overall.f1) and none.per_class == ()
    assert res.overall.precision == 0 and res.overall.recall == 0 and res.overall.f1 == 0
    assert [r.image_id for r in res.worst_images(5)] == ["missed", "invented"]
    json.dumps(res.to_json(), allow_nan=False)  # NaN is written as null


def test_other_classes_and_wide_regions_do_not_count():
    crack = _line((20, 100), (280, 100))
    spall = np.zeros((200, 300), bool)
    spall[10:60, 10:60] = True
    acc = ThinAccumulator(CATS)
    acc.process(_ann((crack, 2), (spall, 3)), _ann((crack, 2)))
    res = acc.evaluate()
    assert res.overall.f1 == pytest.approx(1.0)
    assert [r.name for r in res.per_class] == ["crack", "exposed rebar"]
    assert math.isnan(res.per_class[1].f1)  # no rebar anywhere
    assert "crack" in format_thin_table(res)


def test_ribbon_prediction_keeps_its_centreline():
    """A 40-px ribbon around the crack scores by its centreline, which lies on the crack."""
    gt = _ann((_line((20, 100), (280, 100)), 2))
    pred = _ann((_line((20, 100), (280, 100), width=40), 2))
    acc = ThinAccumulator(CATS)
    acc.process(gt, pred)
    assert acc.evaluate().overall.f1 > 0.9


def test_tolerance_is_defined_at_full_size():
    """Maps at a quarter of the photo's size: the 2-px tolerance is half a pixel there."""
    shape = (50, 75)
    gt = _ann((_line((5, 10), (70, 10), width=1, shape=shape), 2), shape=shape)
    pred = _ann((_line((5, 11), (70, 11), width=1, shape=shape), 2), shape=shape)  # 4 px off at full size
    at_full = ThinAccumulator(CATS, tolerance=2.0)
    at_full.process(gt, pred, full_size=(200, 300))
    res = at_full.evaluate()
    assert res.overall.f1 == 0.0
    assert res.overall.gt_length == pytest.approx(4 * 66, abs=4)  # lengths in full-size pixels
    loose = ThinAccumulator(CATS, tolerance=4.0)
    loose.process(gt, pred, full_size=(200, 300))
    assert loose.evaluate().overall.f1 == pytest.approx(1.0)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="tolerance"):
        ThinAccumulator(CATS, tolerance=-1)
    acc = ThinAccumulator(CATS)
    from core.errors import AnnotationError

    with pytest.raises(AnnotationError, match="ground truth"):
        acc.process(_ann((_line((1, 1), (50, 50)), 2)), _ann(shape=(100, 100)))


def test_centreline_and_match_primitives():
    mask = _line((20, 100), (280, 100), width=5)
    line = centreline(mask)
    assert line.sum() == pytest.approx(260, abs=6) and (line & ~mask).sum() == 0
    counts = match_centrelines(line, np.zeros_like(line), 2.0)
    assert counts.tolist() == [0, 0, int(line.sum()), 0]


def test_category_thin_flag_round_trips_through_json():
    cats = CategorySet((Category(1, "sealant", True, (1, 2, 3), thin=True), Category(2, "crack", True, (4, 5, 6))))
    data = cats.to_json()
    assert data[0]["thin"] is True and "thin" not in data[1]  # unset flags leave old files as they were
    assert CategorySet.from_json(data) == cats
    from core.errors import CategoryError

    with pytest.raises(CategoryError):
        CategorySet.from_json([{"id": 1, "name": "x", "thin": "maybe"}])


def _write(folder, pairs, cats=CATS):
    from core.formats.coco_panoptic_io import PanopticRecord, write_coco_panoptic

    paths = []
    for name, k in (("gt.json", 0), ("pred.json", 1)):
        records = [PanopticRecord(i + 1, f"img_{i}.jpg", p[k].shape[1], p[k].shape[0], p[k])
                   for i, p in enumerate(pairs)]
        write_coco_panoptic(folder / name, folder / name.replace(".json", ""), records, cats)
        paths.append(folder / name)
    return paths


def test_evaluate_command_thin_metrics(tmp_path, capsys):
    from core.cli import main

    trunk, branch = _line((20, 100), (280, 100)), _line((150, 100), (150, 190))
    pairs = [(_ann((trunk, 2)), _ann((_line((20, 101), (280, 101)), 2))),  # shifted 1 px: perfect
             (_ann((trunk | branch, 2)), _ann((trunk, 2)))]                 # branch missed
    gt_json, pred_json = _write(tmp_path, pairs)
    out = tmp_path / "m.json"
    assert main(["evaluate", "--gt", str(gt_json), "--pred", str(pred_json), "--thin-metrics",
                 "--worst", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "centreline measures at 2 px" in printed and "image 2: F1" in printed
    data = json.loads(out.read_text())["thin"]
    assert data["tolerance"] == 2.0 and data["num_images"] == 2
    crack = data["per_class"][0]
    assert crack["name"] == "crack" and crack["precision"] == pytest.approx(1.0)
    assert crack["recall"] == pytest.approx(520 / 610, abs=0.03)
    assert data["per_image"][0]["overall"]["f1"] == pytest.approx(1.0)
    # Without the flag nothing thin is computed or written.
    assert main(["evaluate", "--gt", str(gt_json), "--pred", str(pred_json), "--json", str(out)]) == 0
    assert "thin" not in json.loads(out.read_text()) and "centreline" not in capsys.readouterr().out
    # A tolerance alone asks for the measures; a negative one is refused by the parser.
    assert main(["evaluate", "--gt", str(gt_json), "--pred", str(pred_json), "--thin-tolerance", "0"]) == 0
    assert "centreline measures at 0 px" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["evaluate", "--gt", str(gt_json), "--pred", str(pred_json), "--thin-tolerance", "-1"])


def test_thin_flag_of_the_ground_truth_json_is_honoured(tmp_path):
    from core.evaluation.thin_files import evaluate_thin_files

    cats = CategorySet((Category(1, "sealant joint", True, (1, 2, 3), thin=True),))
    joint = _line((20, 100), (280, 100))
    gt_json, pred_json = _write(tmp_path, [(_ann((joint, 1)), _ann((joint, 1)))], cats)
    res = evaluate_thin_files(gt_json, pred_json)
    assert [r.name for r in res.per_class] == ["sealant joint"] and res.overall.f1 == pytest.approx(1.0)
