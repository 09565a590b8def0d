"""The file front end: panopticapi's pq_compute numbers and error messages, threads, progress, cancel."""
import json
import logging
import threading

import numpy as np
import pytest

from core.errors import AnnotationError, CancelledError, DatasetError
from core.evaluation import PQAccumulator, evaluate_files, evaluate_pq_files, format_pq_table
from core.idpng import decode_png, encode_ids
from tests.core.evaluation.cases import (CATS, SCENARIOS, coco_style, random_pairs, reference_pq_compute,
                                         reference_stats, write_pairs)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Every scenario plus random pairs in one GT / prediction dataset pair."""
    pairs = [p for name in sorted(SCENARIOS) for p in SCENARIOS[name]()] + random_pairs(11) + random_pairs(12)
    folder = tmp_path_factory.mktemp("eval")
    return pairs, *write_pairs(folder, pairs)


def test_equals_pq_compute_end_to_end(dataset):
    pairs, gt_json, pred_json = dataset
    ref, printed = reference_pq_compute(gt_json, pred_json)
    ours = evaluate_pq_files(gt_json, pred_json)
    for name, row in zip(("All", "Things", "Stuff"), ours.groups):
        assert row.n == ref[name]["n"]
        for key in ("pq", "sq", "rq"):
            assert getattr(row, key) == pytest.approx(ref[name][key], abs=1e-9)
    for cat_id, ref_row in ref["per_class"].items():
        for key in ("pq", "sq", "rq"):
            assert getattr(ours.class_row(cat_id), key) == pytest.approx(ref_row[key], abs=1e-9)
    # the table is panopticapi's, line for line
    table = format_pq_table(ours).splitlines()
    assert all(line in printed.splitlines() for line in table)
    assert ours.num_images == len(pairs) and [r.image_id for r in ours.per_image] == list(range(1, len(pairs) + 1))


def test_files_and_memory_give_identical_results(dataset):
    pairs, gt_json, pred_json = dataset
    acc = PQAccumulator(CATS)
    for k, (gt, pred) in enumerate(pairs):
        acc.process(gt, pred, image_id=k + 1)
    in_memory = acc.evaluate()
    one_thread = evaluate_pq_files(gt_json, pred_json, workers=1)
    many = evaluate_pq_files(gt_json, pred_json, workers=5)
    # to_json: NaN (images without segments) compares equal there, as null
    assert one_thread.to_json() == many.to_json() == in_memory.to_json()


def test_progress_and_cancel(dataset):
    _, gt_json, pred_json = dataset
    calls = []
    evaluate_files(gt_json, pred_json, workers=2, progress=lambda done, total, msg="": calls.append((done, total)))
    total = calls[-1][1]
    assert calls == [(k, total) for k in range(1, total + 1)]
    stop = threading.Event()
    seen = []

    def progress(done, total, msg=""):
        seen.append(done)
        if done == 3:
            stop.set()

    with pytest.raises(CancelledError):
        evaluate_files(gt_json, pred_json, workers=2, progress=progress, cancel=stop)
    assert seen == [1, 2, 3]


def _all_pairs():
    return [p for name in sorted(SCENARIOS) for p in SCENARIOS[name]()] + random_pairs(11) + random_pairs(12)


def _assert_equals_panopticapi(gt_json, pred_json, ours):
    ref, _ = reference_pq_compute(gt_json, pred_json)
    for name, row in zip(("All", "Things", "Stuff"), ours.groups):
        assert row.n == ref[name]["n"]
        for key in ("pq", "sq", "rq"):
            assert getattr(row, key) == pytest.approx(ref[name][key], abs=1e-12), (name, key)
    for cat_id, ref_row in ref["per_class"].items():
        for key in ("pq", "sq", "rq"):
            assert getattr(ours.class_row(int(cat_id)), key) == pytest.approx(ref_row[key], abs=1e-12)


def test_coco_style_ids_equal_panopticapi_without_the_general_path(tmp_path, monkeypatch):
    """Every scenario with random 24-bit ids: counted through the segment tables' lookup, never
    through the id maps (the general path is only for inconsistent files)."""
    pairs = coco_style(_all_pairs(), seed=5)
    gt_json, pred_json = write_pairs(tmp_path, pairs)

    def general_path(*args, **kwargs):
        raise AssertionError("the general path ran on consistent files")

    monkeypatch.setattr("core.evaluation.files.image_stats", general_path)
    ours = evaluate_pq_files(gt_json, pred_json, workers=2)
    _assert_equals_panopticapi(gt_json, pred_json, ours)
    # The same numbers as the same pairs numbered 1..N (ids never change PQ), in memory too.
    small = evaluate_pq_files(*write_pairs(tmp_path / "small", _all_pairs()))
    assert ours.to_json()["All"] == small.to_json()["All"]
    acc = PQAccumulator(CATS)
    for k, (gt, pred) in enumerate(pairs):
        acc.process(gt, pred, image_id=k + 1)
    assert acc.evaluate().to_json() == ours.to_json()


def test_mixed_conventions_and_many_segments(tmp_path):
    """1..N ground truth against colour-id predictions, and a 300-segment image (beyond the
    254 labels of the lookup path), still give panopticapi's numbers."""
    from tests.core.evaluation.cases import Painter

    pairs = [(g, p) for (g, _), (_, p) in zip(_all_pairs(), coco_style(_all_pairs(), seed=9))]
    g = Painter(60, 100)
    for k in range(300):
        y, x = divmod(k, 20)
        g.rect(y * 4, y * 4 + 3, x * 5, x * 5 + 4, 1 + k % 3)
    gt = g.build()
    pred = Painter.of(gt)
    pred.id_map = np.roll(pred.id_map, 1, axis=1)
    pairs += coco_style([(gt, pred.build())], seed=3)
    gt_json, pred_json = write_pairs(tmp_path, pairs)
    _assert_equals_panopticapi(gt_json, pred_json, evaluate_pq_files(gt_json, pred_json))


# --- inconsistent files: the messages panopticapi gives ------------------------------------------
def _panopticapi_error(gt_json, pred_json) -> str:
    with pytest.raises(Exception) as info:
        reference_pq_compute(gt_json, pred_json)
    err = info.value
    return str(err.args[0]) if isinstance(err, KeyError) else str(err)


def _break(pred_json, edit):
    data = json.loads(pred_json.read_text())
    edit(data)
    pred_json.write_text(json.dumps(data))


def _small_dataset(tmp_path, ids="small"):
    pairs = SCENARIOS["perfect"]() + SCENARIOS["shifted"]()
    return write_pairs(tmp_path, coco_style(pairs, seed=1) if ids == "coco" else pairs)


@pytest.mark.parametrize("ids", ["small", "coco"])
@pytest.mark.parametrize("defect", ["png_not_json", "json_not_png", "unknown_category", "no_prediction"])
def test_inconsistent_prediction_gives_panopticapi_message(defect, ids, tmp_path):
    gt_json, pred_json = _small_dataset(tmp_path, ids)

    def edit(data):
        infos = data["annotations"][2]["segments_info"]
        if defect == "png_not_json":
            del infos[1]
        elif defect == "json_not_png":
            infos.append(dict(infos[0], id=4242))
        elif defect == "unknown_category":
            infos[2]["category_id"] = 77
        else:
            del data["annotations"][3]

    _break(pred_json, edit)
    expected = _panopticapi_error(gt_json, pred_json)
    with pytest.raises((AnnotationError, DatasetError)) as info:
        evaluate_files(gt_json, pred_json)
    assert info.value.reason == expected


def test_missing_folder_gives_panopticapi_message(tmp_path):
    gt_json, pred_json = _small_dataset(tmp_path)
    (tmp_path / "pred").rename(tmp_path / "elsewhere")
    expected = _panopticapi_error(gt_json, pred_json)
    with pytest.raises(DatasetError) as info:
        evaluate_files(gt_json, pred_json)
    assert info.value.reason == expected
    assert evaluate_files(gt_json, pred_json, pred_folder=tmp_path / "elsewhere").pq.all.pq > 0


def test_unreadable_files_are_clear_errors(tmp_path):
    gt_json, pred_json = _small_dataset(tmp_path)
    (tmp_path / "pred" / "img_0001.png").write_bytes(b"not a png")
    with pytest.raises(AnnotationError, match="not a readable PNG") as info:
        evaluate_files(gt_json, pred_json)
    assert info.value.path.endswith("img_0001.png")
    (tmp_path / "pred" / "img_0001.png").unlink()
    with pytest.raises(AnnotationError, match="cannot read the PNG"):
        evaluate_files(gt_json, pred_json)
    pred_json.write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        evaluate_files(gt_json, pred_json)
    pred_json.write_text(json.dumps({"images": []}))
    with pytest.raises(DatasetError, match="missing the key 'annotations'"):
        evaluate_files(gt_json, pred_json)


def test_gt_json_area_is_used_like_panopticapi(tmp_path, caplog):
    """panopticapi takes GT areas from the JSON; a wrong one changes its numbers, and ours alike."""
    gt_json, pred_json = write_pairs(tmp_path, SCENARIOS["shifted"]())
    data = json.loads(gt_json.read_text())
    for info in data["annotations"][0]["segments_info"]:
        info["area"] = int(info["area"] * 1.5)
    gt_json.write_text(json.dumps(data))
    ref, _ = reference_pq_compute(gt_json, pred_json)
    with caplog.at_level(logging.WARNING, logger="core.evaluation"):
        ours = evaluate_pq_files(gt_json, pred_json)
    assert ours.all.pq == pytest.approx(ref["All"]["pq"], abs=1e-9)
    assert "differs from the pixel count" in caplog.text
    stat, _ = reference_stats(gt_json, pred_json)
    assert sum(s.tp for s in stat.pq_per_cat.values()) == ours.all.tp


def test_both_file_paths_agree(dataset):
    """Small ids are counted from the PNG bytes; COCO AP needs the id maps (the general path)."""
    _, gt_json, pred_json = dataset
    expected = evaluate_pq_files(gt_json, pred_json).to_json()
    assert evaluate_files(gt_json, pred_json, coco_ap=True).pq.to_json() == expected


def test_small_id_histogram_counts_red_bytes_only_when_green_and_blue_are_zero():
    from core.evaluation.files import _small_id_histogram

    rng = np.random.default_rng(3)
    g, p = rng.integers(0, 256, (2, 9, 11)).astype(np.int32)
    hist = _small_id_histogram(decode_png(encode_ids(g)), decode_png(encode_ids(p)))
    expected = np.zeros((256, 256), np.int64)
    np.add.at(expected, (g.ravel(), p.ravel()), 1)
    np.testing.assert_array_equal(hist, expected)
    g[4, 5] = 256  # one id in the green byte: no shortcut
    assert _small_id_histogram(decode_png(encode_ids(g)), decode_png(encode_ids(p))) is None
