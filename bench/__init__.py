"""Benchmarks: each bench_<area>.py runs on its own (python -m bench.bench_<area>)."""
