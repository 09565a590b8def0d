"""``python main.py train``: progress, metrics file, summary, resume, clear errors."""
from __future__ import annotations

import json

import pytest

from core.cli import main
from tests.core.data.synth import make_coco_dataset


@pytest.mark.slow
def test_train_command_trains_resumes_and_summarises(tmp_path, capsys):
    data = make_coco_dataset(tmp_path / "data", n=5, sizes=((64, 64),))
    out = tmp_path / "run"
    args = ["train", str(data), "--preset", "tiny", "--epochs", "1", "--max-size", "64", "--min-size", "64",
            "--init-kind", "none", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr()
    assert "finished: 1 epochs, 2 steps" in printed.out and "best model:" in printed.out
    assert "epoch 1/1" in printed.err and "PQ" in printed.err
    kinds = [json.loads(line)["kind"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert kinds.count("step") == 2 and kinds.count("eval") == 1 and kinds[-1] == "summary"

    assert main(["train", str(data), "--resume", str(out), "--epochs", "2"]) == 0
    printed = capsys.readouterr()
    assert "finished: 2 epochs, 4 steps" in printed.out
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()
             if json.loads(line)["kind"] == "step"]
    assert steps == [1, 2, 3, 4]
    run = json.loads((out / "run.json").read_text())
    assert run["train_config"]["max_size"] == 64  # the resumed run kept its own settings


def test_train_command_errors_are_one_line(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nowhere.json")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "nowhere" in err[0]
    data = make_coco_dataset(tmp_path / "data", n=2, sizes=((64, 64),))
    with pytest.raises(SystemExit) as e:  # the parser knows the range: a usage error before anything starts
        main(["train", str(data), "--preset", "tiny", "--batch-size", "0", "--out", str(tmp_path / "r")])
    assert e.value.code == 2 and "--batch-size" in capsys.readouterr().err
