"""Help › About: versions, torch and GPU status found off the GUI thread, licences."""
from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication

from core import __version__
from gui.dialogs.about_dialog import AboutDialog, component_licences, licence_of, torch_status
from gui.workers.base import TaskRunner

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runner(qtbot):
    r = TaskRunner(max_threads=1)
    yield r
    r.wait(30_000)


def open_dialog(qtbot, runner) -> AboutDialog:
    dlg = AboutDialog(runner)
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def test_shows_versions_at_once_and_torch_when_it_has_loaded(qtbot, runner):
    import torch

    dlg = open_dialog(qtbot, runner)
    assert dlg.rows["Version"].text() == __version__
    assert dlg.rows["Python"].text().startswith(".".join(map(str, sys.version_info[:3])))
    assert "PySide6" in dlg.rows["Qt"].text()
    qtbot.waitUntil(lambda: dlg.torch is not None, timeout=60_000)
    assert dlg.rows["torch"].text() == torch.__version__
    if torch.cuda.is_available():
        assert dlg.rows["Runs on"].text().startswith(torch.cuda.get_device_properties(0).name)
    else:
        assert dlg.rows["Runs on"].text().startswith("CPU only")
    cuda = dlg.rows["CUDA"].text()
    assert cuda == (f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "CPU build of torch")


def test_a_torch_that_cannot_load_is_said_in_the_dialog(qtbot, runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ModuleNotFoundError
    assert "ModuleNotFoundError" in torch_status().error
    dlg = open_dialog(qtbot, runner)
    qtbot.waitUntil(lambda: dlg.torch is not None, timeout=30_000)
    assert dlg.rows["torch"].text().startswith("could not be loaded: ModuleNotFoundError")
    assert "not available" in dlg.rows["Runs on"].text()


def test_licence_table_names_the_main_components_with_their_licences(qtbot, runner):
    dlg = open_dialog(qtbot, runner)
    table = dlg.licence_table
    rows = {table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text())
            for r in range(table.rowCount())}
    assert rows["torch"] == (metadata.version("torch"), metadata.metadata("torch")["License-Expression"])
    assert "LGPL-3.0" in rows["PySide6_Essentials" if "PySide6_Essentials" in rows else "PySide6-Essentials"][1]
    assert rows["numpy"][0] == metadata.version("numpy")
    # every installed component has a licence name, not a pasted licence text
    for name, (version, licence) in rows.items():
        assert version != "—" and licence not in ("not stated", "not installed"), name
        assert "\n" not in licence and len(licence) <= 120, name


def _dist(tmp_path: Path, headers: str) -> metadata.Distribution:
    info = tmp_path / "pkg-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n" + headers, encoding="utf-8")
    return metadata.PathDistribution(info)


def test_licence_name_prefers_spdx_then_short_field_then_classifiers(tmp_path):
    assert licence_of(_dist(tmp_path, "License-Expression: MIT\nLicense: whatever\n")) == "MIT"
    assert licence_of(_dist(tmp_path, "License: BSD\n")) == "BSD"
    pasted = "License: Copyright (c) 2001 Someone\n        All rights reserved.\n" \
             "Classifier: License :: OSI Approved :: BSD License\n"
    assert licence_of(_dist(tmp_path, pasted)) == "BSD License"
    assert licence_of(_dist(tmp_path, "")) == "not stated"
    missing = component_licences(("surely-not-installed-pkg",))
    assert missing[0].licence == "not installed" and missing[0].version == ""


def test_copy_details_puts_the_versions_on_the_clipboard(qtbot, runner):
    dlg = open_dialog(qtbot, runner)
    qtbot.waitUntil(lambda: dlg.torch is not None, timeout=60_000)
    dlg.copy_button.click()
    text = QGuiApplication.clipboard().text()
    assert f"Version: {__version__}" in text and "torch: " in text and "numpy " in text


def test_readme_link_points_at_the_readme(qtbot, runner):
    dlg = open_dialog(qtbot, runner)
    assert (ROOT / "README.md").is_file()
    assert "README.md" in dlg.readme.text() and dlg.readme.openExternalLinks()


def test_closing_before_torch_answers_is_harmless(qtbot, runner):
    dlg = AboutDialog(runner)
    dlg.show()
    dlg.close()
    dlg.deleteLater()
    qtbot.wait(1)
    assert runner.wait(60_000)
    qtbot.wait(20)  # the queued result arrives after the dialog is gone; nothing may raise


def test_the_gui_start_up_modules_do_not_import_torch():
    code = ("import sys, gui.shell.app, gui.dialogs.about_dialog, gui.shell.single_instance, "
            "gui.shell.desktop_integration; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr or "torch was imported at start-up"
