"""The one background-job pattern.

A job wraps a core call (a function, or a generator of Progress). It runs on a thread
pool; its signals are emitted there and, because the Job object lives on the GUI thread,
Qt delivers them to slots on the GUI thread. `Jobs.read(fn, done, failed)` and
`Jobs.write(fn, done, failed)` create, connect and start in one call; long jobs with
progress (indexing, the captions pass) are created, connected, then `start_writer`ed.
Cancelling closes the generator at its next step, so its `finally` blocks run; pausing
holds it between steps.

Two pools, as Anki does: one writer thread, the only thread that writes the catalog or the
vocabulary (it is marked with library.writer_thread(), and the app makes the catalog check
that in its test mode), and a small pool of readers for queries and thumbnails. A short
write (a tag, a caption, a setting) does not wait for a long writer job to end: it runs
between two of that job's steps, even while the job is paused.
"""
from __future__ import annotations

import inspect
import logging
import threading
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.library import writer_thread

log = logging.getLogger(__name__)

Done = Callable[[Any], object]  # called on the GUI thread with the job's result
Failed = Callable[[ClipdeskError], object]  # ... or with the error a person can act on


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
        self._poke = threading.Event()  # wakes a paused job: there is work between steps
        self.between_steps: Callable[[], None] | None = None
        self.cancellable = True  # a person's edit is never dropped by cancel_all

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()
        self._poke.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()
        self._poke.set()

    def poke(self) -> None:
        """Run `between_steps` soon, even while paused (thread-safe)."""
        self._poke.set()

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

    def _drive(self, gen: Generator[Any, None, Any]) -> Any:
        last = None
        try:
            for step in gen:
                last = step
                self.progress.emit(step)
                self._between()
                if self._cancel.is_set():
                    return _CANCELLED
        finally:
            gen.close()
        return last

    def _between(self) -> None:
        """Between two steps: do the work queued meanwhile, and hold here while paused."""
        while True:
            self._poke.clear()
            if self.between_steps is not None:
                self.between_steps()
            if self._running.is_set():
                return
            self._poke.wait()


_CANCELLED = object()


class Jobs(QObject):
    """The app's two pools. Keeps every job alive until it ends.

    `safe_point` says whether the writer thread may run a short write now, between two
    steps of a long job (the app: no catalog transaction is open on that thread)."""

    def __init__(self, parent: QObject | None = None, readers: int = 2,
                 safe_point: Callable[[], bool] = lambda: True) -> None:
        super().__init__(parent)
        self._writer = QThreadPool(self)
        self._writer.setMaxThreadCount(1)
        self._readers = QThreadPool(self)
        self._readers.setMaxThreadCount(readers)
        self._alive: set[Job] = set()
        self._writes: deque[Job] = deque()  # short writes not yet run
        self._long: Job | None = None  # the long job on the writer thread, if any
        self._safe_point = safe_point
        self.closed = False  # the window closed: results arriving now have no one to show them

    def create(self, fn: Callable[[], Any]) -> Job:
        job = Job(fn)
        self._alive.add(job)
        for signal in (job.finished, job.failed, job.cancelled):
            signal.connect(lambda *_, j=job: self._alive.discard(j))
        return job

    def read(self, fn: Callable[[], Any], done: Done | None = None,
             failed: Failed | None = None) -> Job:
        """Run `fn` on a reader thread: it must not write the catalog or the vocabulary."""
        job = self._connected(fn, done, failed)
        self.start_reader(job)
        return job

    def write(self, fn: Callable[[], Any], done: Done | None = None,
              failed: Failed | None = None) -> Job:
        """Run a short write on the writer thread: as soon as it is free, or between two
        steps of the long job running there. Writes run in the order asked."""
        job = self._connected(fn, done, failed)
        job.cancellable = False
        self._writes.append(job)
        self._writer.start(self._run_writes)  # when the writer is idle
        long = self._long
        if long is not None:
            long.poke()  # or sooner, at the long job's next step (or now, if paused)
        return job

    def _connected(self, fn: Callable[[], Any], done: Done | None,
                   failed: Failed | None) -> Job:
        job = self.create(fn)
        if done is not None:
            job.finished.connect(lambda result: None if self.closed else done(result))
        if failed is not None:
            job.failed.connect(lambda error: None if self.closed else failed(error))
        return job

    def start_writer(self, job: Job) -> None:
        """Start a long writer job (an index run, the captions pass): one at a time, in order."""
        self._writer.start(lambda: self._run_long(job))

    def start_reader(self, job: Job) -> None:
        self._readers.start(job.run)

    def _run_long(self, job: Job) -> None:
        """On the writer thread."""
        job.between_steps = lambda: self._run_writes() if self._safe_point() else None
        self._long = job
        try:
            with writer_thread():
                job.run()
        finally:
            self._long = None

    def _run_writes(self) -> None:
        """On the writer thread: every short write queued so far."""
        with writer_thread():
            while True:
                try:
                    job = self._writes.popleft()
                except IndexError:
                    return
                job.run()

    def cancel_all(self) -> None:
        """Cancel every job but the short writes: a person's edits still land."""
        for job in list(self._alive):
            if job.cancellable:
                job.cancel()

    def close(self, msecs: int = 30_000) -> None:
        """The window closes: cancel what can be, let the rest end (the batch in flight,
        the queued edits), then deliver no more results."""
        self.cancel_all()
        self.wait(msecs)
        self.closed = True

    def wait(self, msecs: int = -1) -> bool:
        ok = self._writer.waitForDone(msecs)
        return self._readers.waitForDone(msecs) and ok
