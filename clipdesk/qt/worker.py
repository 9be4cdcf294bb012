"""The one background-job pattern.

A job wraps a core call (a function, or a generator of Progress). It runs on a thread
pool; its signals are emitted there and, because the Job object lives on the GUI thread,
Qt delivers them to slots on the GUI thread. Create the job, connect its signals, then
start it. Cancelling closes the generator at its next step, so its `finally` blocks run;
pausing holds it between steps.

Two pools, as Anki does: one writer thread for catalog/index/model work (jobs run one at a
time, in order), and a small pool for queries and thumbnails.
"""
from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from clipdesk.core.errors import ClipdeskError

log = logging.getLogger(__name__)


class Job(QObject):
    progress = Signal(object)  # each Progress a generator yields
    finished = Signal(object)  # the function's result, or a generator's last step
    failed = Signal(object)  # a ClipdeskError: str() of it is a message a person can act on
    cancelled = Signal()

    def __init__(self, fn: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        """Runs on a pool thread."""
        if self._cancel.is_set():
            self.cancelled.emit()
            return
        try:
            result = self._fn()
            if inspect.isgenerator(result):
                result = self._drive(result)
                if result is _CANCELLED:
                    self.cancelled.emit()
                    return
        except ClipdeskError as exc:
            self.failed.emit(exc)
            return
        except Exception as exc:  # a bug must surface as a message, not kill the thread
            log.exception("background job failed")
            self.failed.emit(ClipdeskError(f"unexpected error: {exc!r}"))
            return
        self.finished.emit(result)

    def _drive(self, gen) -> Any:
        last = None
        try:
            for step in gen:
                last = step
                self.progress.emit(step)
                self._running.wait()
                if self._cancel.is_set():
                    return _CANCELLED
        finally:
            gen.close()
        return last


_CANCELLED = object()


class Jobs(QObject):
    """The app's two pools. Keeps every job alive until it ends."""

    def __init__(self, parent: QObject | None = None, readers: int = 2) -> None:
        super().__init__(parent)
        self._writer = QThreadPool(self)
        self._writer.setMaxThreadCount(1)
        self._readers = QThreadPool(self)
        self._readers.setMaxThreadCount(readers)
        self._alive: set[Job] = set()

    def create(self, fn: Callable[[], Any]) -> Job:
        job = Job(fn)
        self._alive.add(job)
        for signal in (job.finished, job.failed, job.cancelled):
            signal.connect(lambda *_, j=job: self._alive.discard(j))
        return job

    def start_writer(self, job: Job) -> None:
        self._writer.start(job.run)

    def start_reader(self, job: Job) -> None:
        self._readers.start(job.run)

    def cancel_all(self) -> None:
        for job in list(self._alive):
            job.cancel()

    def wait(self, msecs: int = -1) -> bool:
        ok = self._writer.waitForDone(msecs)
        return self._readers.waitForDone(msecs) and ok
