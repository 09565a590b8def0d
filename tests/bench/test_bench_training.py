"""bench_training's precision comparison: a run spec may ask for float32, and runs of one
preset and size at both precisions get the ratio of their median step times."""
from __future__ import annotations

from bench.bench_training import _print_precision_ratios


def _run(precision: str, seconds: float, preset: str = "cpu_fast") -> dict:
    return {"preset": preset, "size": 320, "precision": precision, "seconds_per_step": seconds}


def test_runs_at_both_precisions_get_the_median_ratio(capsys):
    _print_precision_ratios([_run("float32", 1.0), _run("bfloat16", 0.5), _run("float32", 1.2),
                             _run("bfloat16", 0.6), _run("float32", 9.0), _run("bfloat16", 0.55)])
    out = capsys.readouterr().out
    assert "cpu_fast @ 320 px: mixed precision 0.55 s/step against float32 1.20 (x2.18 faster" in out


def test_a_run_at_one_precision_only_gets_no_ratio(capsys):
    _print_precision_ratios([_run("float32", 1.0), _run("bfloat16", 0.5, preset="cpu_small")])
    assert capsys.readouterr().out == ""
