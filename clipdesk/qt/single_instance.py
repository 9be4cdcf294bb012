"""One app per library. The first app over a library listens on a local socket named after
the library's folder; launching the app again over the same library hands the request
(come forward, open these files) to that window and exits, instead of opening a second
window whose writes would race the first one's. Another library gets another name, so two
libraries can be open at once."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

CONNECT_MS = 1_000  # a listening app accepts at once, even before its event loop runs
ANSWER_MS = 10_000  # the first app answers from its event loop: it may still be starting


def server_name(home: Path) -> str:
    """The socket's name for the library in `home` (a hash: the path may be long or odd)."""
    digest = hashlib.sha256(os.fsencode(home.resolve())).hexdigest()[:24]
    return f"clipdesk-{digest}"


class Instance(QObject):
    """The first app's end: `requested(paths)` when a later launch asks it to come forward."""

    requested = Signal(list)  # the paths (str) the later launch was given, maybe none

    def __init__(self, name: str) -> None:
        super().__init__()
        self.server = QLocalServer(self)
        self.server.newConnection.connect(self._accept)
        self.name = name

    def listen(self) -> bool:
        # no app answered on this name: a socket file left there is a killed app's
        QLocalServer.removeServer(self.name)
        return self.server.listen(self.name)

    def serve(self, window: QWidget) -> None:
        """Bring `window` forward on each request; stop listening when it closes (a launch
        then opens a new window instead of asking one that is going)."""
        self.setParent(window)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Close:
            self.server.close()
        return False

    def _accept(self) -> None:
        while (socket := self.server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)
            self._read(socket)  # what arrived before the connection was taken

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        try:
            paths = [str(p) for p in json.loads(bytes(socket.readLine().data()))["paths"]]
        except (ValueError, KeyError, TypeError):
            paths = []  # not a clipdesk asking: still come forward
        socket.write(b"ok\n")  # before: opening a folder asks a question, and waits
        socket.flush()
        self.requested.emit(paths)


def claim(home: Path, paths: Sequence[str]) -> Instance | None:
    """The listening end for this launch, or None when an app already open over `home`
    took the request (it came forward, and opens `paths`). Two launches at the same moment
    take turns (a lock file in the library's folder), so exactly one of them listens."""
    name = server_name(home)
    turn = QLockFile(str(home / "app.lock"))  # a dead holder's lock is taken over
    turn.tryLock(2 * ANSWER_MS)  # held for one hand-over at most; then go on regardless
    try:
        if hand_over(name, paths):
            return None
        instance = Instance(name)
        if not instance.listen():  # the app still opens, unguarded
            log.warning("cannot listen on %s: %s", name, instance.server.errorString())
        return instance
    finally:
        turn.unlock()


def hand_over(name: str, paths: Sequence[str]) -> bool:
    """Ask the app listening on `name` to come forward and open `paths`; whether one is
    there. Blocking: called before this launch has a window or an event loop."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(CONNECT_MS):
        return False
    # JSON's \\u escapes keep names that are not UTF-8 (surrogateescape) intact
    socket.write(json.dumps({"paths": [os.fsdecode(p) for p in paths]}).encode() + b"\n")
    socket.waitForBytesWritten(CONNECT_MS)
    socket.waitForReadyRead(ANSWER_MS)  # its "ok": the request is handled
    socket.disconnectFromServer()
    return True
