"""Fault tests: a dataset and a project on disk, the CLI run in-process."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.helpers import Dataset


@pytest.fixture
def dataset(tmp_path) -> Dataset:
    return Dataset(tmp_path / "ds")


@pytest.fixture
def project(dataset, capsys) -> Path:
    """A project beside its photos (``ds/proj.pinspect``) with three annotated photos."""
    from core.cli import main

    path = dataset.root / "proj.pinspect"
    assert main(dataset.import_args("--project", str(path))) == 0
    capsys.readouterr()
    return path


@pytest.fixture
def cli(capsys):
    """``cli(*args) -> (exit code, stdout, stderr)`` of ``main.py`` run in this process."""
    from core.cli import main

    def run(*args) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
