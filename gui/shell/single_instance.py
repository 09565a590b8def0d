"""One window per project file: a second start on a project that is already open says so and
brings the other window to the front.

Who may change a project is decided by the project's lock (``core/project/lock.py``): a second
process always gets the project read-only, on any machine. This module adds the desktop manners
on top, between instances of the same user on the same machine:

- ``ProjectBeacon`` runs in the instance that holds a project for writing and listens on a local
  socket (``QLocalServer``: a Unix socket, a named pipe on Windows) named after the project's
  path and the user. Asked, it brings its window forward and answers with its process id.
- ``hand_over(argv)`` runs at start-up, before the main window exists: when the command line
  names a project that another instance answers for, the user is told and may stop here (the
  usual choice) or look at the project read-only in a new window.

When nobody answers (the other instance is on another machine, or is busy for over a second),
the start goes on as usual and the lock opens the project read-only with its own message.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QEventLoop, QObject, QTimer, Signal
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QWidget

from core.project import PROJECT_SUFFIX

log = logging.getLogger(__name__)

PROTOCOL = 1
ASK_TIMEOUT_MS = 1500
MAX_MESSAGE = 64 * 1024


@dataclass(frozen=True)
class OtherInstance:
    """The instance that has the project open for writing, as it answered."""

    pid: int
    project: Path


def _key(project_path: str | Path) -> str:
    """The project's identity: its absolute real path, case-folded where the file system is."""
    return os.path.normcase(str(Path(project_path).resolve()))


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or the password database
        return str(os.getuid()) if hasattr(os, "getuid") else "user"


def server_name(project_path: str | Path) -> str:
    """The local server's name for this project and user (short: Unix socket paths are limited
    to ~100 bytes, and the name lands in the temporary folder)."""
    digest = hashlib.sha256(f"{_user()}\0{_key(project_path)}".encode()).hexdigest()[:24]
    return f"panoptic-inspector-{digest}"


def bring_forward(window: QWidget) -> None:
    """Un-minimise, raise and activate; where the window manager refuses focus to a window that
    did not ask for it, the task bar entry flashes instead."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
    QApplication.alert(window)


class ProjectBeacon(QObject):
    """Answers other instances for the project this window holds.

    ``follow(session)`` keeps it in step with a ``ProjectSession``: listening while a project is
    open for writing, silent otherwise. ``listen(path)`` / ``stop()`` do it by hand.
    """

    raiseRequested = Signal()

    def __init__(self, window: QWidget, parent: QObject | None = None):
        super().__init__(parent or window)
        self.window = window
        self.project: Path | None = None
        self.server = QLocalServer(self)
        # Unix: the socket file is made accessible to this user only.
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    @property
    def listening(self) -> bool:
        return self.server.isListening()

    def follow(self, session) -> None:
        session.opened.connect(lambda project: self.listen(project.path) if not project.read_only else self.stop())
        session.closing.connect(self.stop)

    def listen(self, project_path: str | Path) -> bool:
        """Start answering for ``project_path``; False (logged) when the socket cannot be made."""
        self.stop()
        name = server_name(project_path)
        ok = self.server.listen(name)
        if not ok and self.server.serverError() == QAbstractSocket.SocketError.AddressInUseError:
            # A socket file left by an instance that was killed. We hold the project's lock, so no
            # live instance on this machine can be answering for it: take the name over.
            QLocalServer.removeServer(name)
            ok = self.server.listen(name)
        if not ok:
            log.warning("cannot answer other instances for %s: %s", project_path, self.server.errorString())
            return False
        self.project = Path(project_path)
        log.debug("answering for %s on %s", project_path, self.server.fullServerName())
        return True

    def stop(self) -> None:
        if self.server.isListening():
            self.server.close()
        self.project = None

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            self._buffers[sock] = b""
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(lambda s=sock: self._forget(s))

    def _forget(self, sock: QLocalSocket) -> None:
        self._buffers.pop(sock, None)
        sock.deleteLater()

    def _read(self, sock: QLocalSocket) -> None:
        data = self._buffers.get(sock, b"") + bytes(sock.readAll().data())
        if b"\n" not in data:
            if len(data) > MAX_MESSAGE:
                sock.abort()
            else:
                self._buffers[sock] = data
            return
        line = data.split(b"\n", 1)[0]
        try:
            request = json.loads(line.decode("utf-8"))
            asked = request["project"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            log.info("ignored a malformed request from another instance: %r", line[:200])
            sock.disconnectFromServer()
            return
        here = self.project is not None and _key(asked) == _key(self.project)
        reply = {"protocol": PROTOCOL, "pid": os.getpid(), "project": str(self.project) if here else None}
        sock.write(QByteArray(json.dumps(reply).encode("utf-8") + b"\n"))
        sock.flush()
        sock.disconnectFromServer()
        if here:
            log.info("another start asked for %s: bringing this window forward", self.project)
            bring_forward(self.window)
            self.raiseRequested.emit()


def ask_running_instance(project_path: str | Path, timeout_ms: int = ASK_TIMEOUT_MS) -> OtherInstance | None:
    """Ask whether another instance has ``project_path`` open; it comes forward if so.

    Waits at most ``timeout_ms`` (a nested event loop, so a beacon in this same process answers
    too). None when nobody answers for that project.
    """
    name = server_name(project_path)
    sock = QLocalSocket()
    loop = QEventLoop()
    received = bytearray()
    state = {"done": False}

    def finish() -> None:
        state["done"] = True
        loop.quit()

    def on_connected() -> None:
        sock.write(QByteArray(json.dumps({"protocol": PROTOCOL, "action": "raise",
                                          "project": str(Path(project_path).resolve())}).encode("utf-8") + b"\n"))
        sock.flush()

    def on_ready() -> None:
        received.extend(bytes(sock.readAll().data()))
        if b"\n" in received or len(received) > MAX_MESSAGE:
            finish()

    sock.connected.connect(on_connected)
    sock.readyRead.connect(on_ready)
    sock.errorOccurred.connect(lambda _e: finish())   # nobody listening: answered at once
    sock.disconnected.connect(finish)
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(finish)
    timer.start(timeout_ms)
    sock.connectToServer(name)
    if not state["done"]:
        loop.exec()
    timer.stop()
    if sock.isOpen():
        received.extend(bytes(sock.readAll().data()))  # what came with the server's disconnect
    sock.abort()
    line = bytes(received).split(b"\n", 1)[0]
    if not line:
        return None
    try:
        reply = json.loads(line.decode("utf-8"))
        pid, project = int(reply["pid"]), reply["project"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        log.info("another instance gave a reply we do not understand: %r", line[:200])
        return None
    if not project or _key(project) != _key(project_path):
        return None
    return OtherInstance(pid, Path(project))


class AlreadyOpenMessage(QMessageBox):
    """A message box with its two buttons by name."""

    readOnlyButton: QPushButton
    okButton: QPushButton


def already_open_message(project_path: Path, other: OtherInstance,
                         parent: QWidget | None = None) -> AlreadyOpenMessage:
    """The message a second start shows; its ``readOnlyButton`` opens the project here anyway."""
    box = AlreadyOpenMessage(QMessageBox.Icon.Information, "Project already open",
                      f"“{project_path.name}” is already open in another Panoptic Inspector window "
                      f"(process {other.pid}). That window has been brought to the front.",
                      QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("alreadyOpenMessage")
    box.setInformativeText("Only one window can change a project at a time. "
                           "You can also open it here to look at it, read-only.")
    box.readOnlyButton = box.addButton("Open read-only here", QMessageBox.ButtonRole.ActionRole)
    box.okButton = box.addButton(QMessageBox.StandardButton.Ok)
    box.setDefaultButton(box.okButton)
    box.setEscapeButton(box.okButton)
    return box


def confirm_already_open(project_path: Path, other: OtherInstance) -> bool:
    """Show the message; True when the user is done here (OK), False to open read-only."""
    box = already_open_message(project_path, other)
    box.exec()
    return box.clickedButton() is not box.readOnlyButton


def project_argument(argv: list[str]) -> Path | None:
    """The project file named on the command line (the same rule as ``gui.shell.startup``)."""
    return next((Path(a) for a in argv if a.endswith(PROJECT_SUFFIX)), None)


def hand_over(argv: list[str], confirm: Callable[[Path, OtherInstance], bool] = confirm_already_open,
              timeout_ms: int = ASK_TIMEOUT_MS) -> bool:
    """At start-up: True when another instance has the project named in ``argv`` open, was
    brought forward, and the user chose to stop here, so this process should exit."""
    path = project_argument(argv)
    if path is None or not path.is_file():
        return False
    other = ask_running_instance(path, timeout_ms)
    if other is None:
        return False
    log.info("%s is open in process %d", path, other.pid)
    return confirm(path, other)
