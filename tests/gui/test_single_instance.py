"""One window per project: a second start on an open project is told so, and the first window
comes forward; the project's lock stays what decides who may write."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget

from core.project import Project
from gui.session.project_session import ProjectSession
from gui.shell.single_instance import (OtherInstance, ProjectBeacon, already_open_message, ask_running_instance,
                                       hand_over, server_name)
from gui.workers.base import TaskRunner

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def beacon(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    b = ProjectBeacon(window)
    yield b
    b.stop()


def test_server_name_is_the_same_for_any_spelling_of_a_path_and_differs_between_projects(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    a = tmp_path / "bridge.pinspect"
    assert server_name(a) == server_name("../bridge.pinspect")
    assert server_name(a) == server_name(tmp_path / "sub" / ".." / "bridge.pinspect")
    assert server_name(a) != server_name(tmp_path / "Brücke Nord.pinspect")
    assert len(server_name(a)) < 60  # Unix socket paths are limited to ~100 bytes


def test_second_open_gets_the_answer_and_the_first_window_is_raised(qtbot, beacon, tmp_path):
    project = tmp_path / "Brücke Nord.pinspect"
    project.touch()
    assert beacon.listen(project)
    with qtbot.waitSignal(beacon.raiseRequested, timeout=5000):
        other = ask_running_instance(project)
    assert other == OtherInstance(os.getpid(), project)


def test_nobody_listening_answers_none_quickly(qtbot, beacon, tmp_path):
    project = tmp_path / "a.pinspect"
    project.touch()
    start = time.perf_counter()
    assert ask_running_instance(project) is None
    assert time.perf_counter() - start < 1.0
    # a beacon for another project does not answer for this one
    beacon.listen(tmp_path / "b.pinspect")
    assert ask_running_instance(project) is None
    beacon.stop()
    assert ask_running_instance(tmp_path / "b.pinspect") is None


def test_hand_over_only_for_a_project_on_the_command_line_that_is_open_elsewhere(qtbot, beacon, tmp_path):
    project = tmp_path / "p.pinspect"
    project.touch()
    asked = []

    def confirm(path, other):
        asked.append((path, other.pid))
        return True

    assert not hand_over([], confirm)
    assert not hand_over([str(project)], confirm)       # nobody has it open
    beacon.listen(project)
    assert not hand_over(["photo.jpg"], confirm)
    assert hand_over([str(project)], confirm)
    assert asked == [(project, os.getpid())]
    assert not hand_over([str(project)], lambda path, other: False)  # "open read-only here"


def test_the_message_names_the_project_and_the_other_process(qtbot):
    box = already_open_message(Path("/x/Brücke Nord.pinspect"), OtherInstance(4321, Path("/x/Brücke Nord.pinspect")))
    qtbot.addWidget(box)
    assert "“Brücke Nord.pinspect” is already open" in box.text() and "4321" in box.text()
    assert "read-only" in box.informativeText()
    assert box.readOnlyButton.text() == "Open read-only here"
    assert box.defaultButton() is box.okButton and box.escapeButton() is box.okButton


def test_beacon_follows_the_session_only_while_the_project_is_writable(qtbot, beacon, make_project):
    path = make_project(1, 0)
    runner = TaskRunner(max_threads=1)
    session = ProjectSession(runner)
    beacon.follow(session)
    with qtbot.waitSignal(session.opened, timeout=10_000):
        session.open(path)
    assert beacon.listening and ask_running_instance(path) is not None
    session.close()
    assert not beacon.listening and ask_running_instance(path) is None
    with Project.open(path):  # someone else holds the lock: this session gets it read-only
        with qtbot.waitSignal(session.opened, timeout=10_000):
            session.open(path)
        assert session.read_only and not beacon.listening
        session.close()
    runner.wait(10_000)


HOLDER = textwrap.dedent("""
    import sys
    from PySide6.QtWidgets import QApplication, QWidget
    from core.project import Project
    from gui.shell.single_instance import ProjectBeacon

    app = QApplication([])
    project = Project.open(sys.argv[1])
    window = QWidget()
    beacon = ProjectBeacon(window)
    assert beacon.listen(project.path)
    print("ready", flush=True)
    app.exec()
""")


def _start_holder(path: Path) -> subprocess.Popen:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        pytest.fail(f"the holder did not start: {line!r} {proc.stderr.read()}")
    return proc


def test_another_process_holding_the_project_is_found_and_after_a_kill_the_name_is_taken_over(
        qtbot, beacon, make_project):
    path = make_project(1, 0)
    holder = _start_holder(path)
    try:
        seen = []
        assert hand_over([str(path)], lambda p, other: seen.append(other.pid) or True)
        assert seen == [holder.pid]
        with Project.open(path) as second:  # the lock agrees
            assert second.read_only and str(holder.pid) in second.read_only_reason
    finally:
        holder.kill()   # SIGKILL: the socket file stays behind
        holder.wait(10)
    with Project.open(path) as project:
        assert not project.read_only
        assert beacon.listen(path), "a killed instance's socket must not block the next one"
        assert ask_running_instance(path) == OtherInstance(os.getpid(), path)


def test_ok_ends_the_start_and_read_only_goes_on(qtbot, monkeypatch, beacon, tmp_path):
    project = tmp_path / "p.pinspect"
    project.touch()
    beacon.listen(project)
    for button, expected in (("okButton", True), ("readOnlyButton", False)):
        def exec_(box, button=button):  # the user clicks instead of a modal loop
            getattr(box, button).click()
            return 0
        monkeypatch.setattr(QMessageBox, "exec", exec_)
        assert hand_over([str(project)]) is expected
