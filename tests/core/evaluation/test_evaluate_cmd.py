"""``python main.py evaluate``: tables, JSON, exit codes, and the panopticapi backend."""
import json
import math

import pytest

from core.cli import main
from core.evaluation import evaluate_pq_files, format_pq_table
from core.evaluation.reference import evaluate_with_panopticapi
from tests.core.evaluation.cases import SCENARIOS, random_pairs, write_pairs


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    pairs = random_pairs(5) + SCENARIOS["crowd_regions"]() + SCENARIOS["void_regions"]()
    return write_pairs(tmp_path_factory.mktemp("cmd"), pairs)


def test_evaluate_prints_the_table_and_writes_json(files, tmp_path, capsys):
    gt_json, pred_json = files
    out_json = tmp_path / "metrics.json"
    code = main(["evaluate", "--gt", str(gt_json), "--pred", str(pred_json), "--per-class", "--worst", "2",
                 "--coco-ap", "--json", str(out_json)])
    captured = capsys.readouterr()
    assert code == 0
    expected = evaluate_pq_files(gt_json, pred_json)
    assert format_pq_table(expected, per_class=True) in captured.out
    assert "lowest PQ" in captured.out and "Average Precision  (AP) @[ IoU=0.50:0.95" in captured.out
    assert "evaluate [" in captured.err  # the progress bar
    data = json.loads(out_json.read_text())
    assert data["pq"]["All"]["pq"] == pytest.approx(expected.all.pq)
    assert set(data["coco"]) == {"bbox", "segm", "num_images"}


def test_bad_input_is_one_line_and_exit_1(files, tmp_path, capsys):
    gt_json, _ = files
    code = main(["evaluate", "--gt", str(gt_json), "--pred", str(tmp_path / "missing.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err[-1].startswith("error:") and "missing.json" in err[-1]


def test_panopticapi_backend_gives_the_same_numbers(files, capsys):
    gt_json, pred_json = files
    reference = evaluate_with_panopticapi(gt_json, pred_json)
    ours = evaluate_pq_files(gt_json, pred_json)
    for a, b in zip(reference.groups + reference.per_class, ours.groups + ours.per_class):
        assert (a.name, a.n, a.tp, a.fp, a.fn) == (b.name, b.n, b.tp, b.fp, b.fn)
        for key in ("pq", "sq", "rq", "iou"):
            assert getattr(a, key) == pytest.approx(getattr(b, key), abs=1e-9) or (
                math.isnan(getattr(a, key)) and math.isnan(getattr(b, key)))
    assert main(["evaluate", "--gt", str(gt_json), "--pred", str(pred_json), "--backend", "panopticapi"]) == 0
    assert format_pq_table(ours) in capsys.readouterr().out


def test_panopticapi_backend_errors_are_typed(files, tmp_path, monkeypatch):
    from core.errors import AnnotationError, InspectorError

    gt_json, pred_json = files
    broken = tmp_path / "pred.json"
    data = json.loads(pred_json.read_text())
    data["annotations"][0]["segments_info"][0]["category_id"] = 77
    broken.write_text(json.dumps(data))
    with pytest.raises(AnnotationError, match="has unknown category_id 77"):
        evaluate_with_panopticapi(gt_json, broken, pred_folder=pred_json.with_suffix(""))
    monkeypatch.setitem(__import__("sys").modules, "panopticapi.evaluation", None)  # as if not installed
    with pytest.raises(InspectorError, match="not installed") as info:
        evaluate_with_panopticapi(gt_json, pred_json)
    assert "pip install" in info.value.hint


def test_file_evaluation_process_loads_only_what_it_needs(files):
    """The whole ``main.py evaluate`` process, as a user runs it: no torch, Qt, scipy or
    scikit-image (thin metrics and models load them when asked for), no other command module."""
    import subprocess
    import sys
    from pathlib import Path

    gt_json, pred_json = files
    code = ("import sys, main\n"
            f"code = main.main(['evaluate', '--gt', {str(gt_json)!r}, '--pred', {str(pred_json)!r}])\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'scipy', 'skimage'))\n"
            "cmds = sorted(m for m in sys.modules if m.startswith('core.commands.') and m.endswith('_cmd'))\n"
            "print(code, heavy, cmds, file=sys.stderr)\n")
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "0 [] ['core.commands.evaluate_cmd']"
