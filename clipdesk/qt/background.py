"""The long jobs of the app, shown in the status bar: indexing (with progress, pause and
cancel), the low-priority captions pass that follows it, and watching the library's
folders (a change there starts an index run within seconds). When another process
(`clipdesk index` in a terminal) is indexing the library, a run waits for it quietly and
follows."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar, QToolButton

from clipdesk.core.errors import ClipdeskError, LibraryBusyError, ModelLoadError
from clipdesk.core.indexing.watch import Watcher
from clipdesk.core.library import Library, forget_model_failures, has_gpu
from clipdesk.core.types import Phase, Progress, ProgressJob
from clipdesk.qt.worker import Job, Jobs
from clipdesk.wording import plural

FOLLOWING = "Another clipdesk is updating this library; this window will follow."
# how often a waiting run tries the library's index lock again; also how soon, meanwhile,
# a cancel or a person's edit (both served between two steps) is answered
BUSY_POLL_S = 0.25
# how often the app looks for another process's commits (a terminal `clipdesk index`):
# one row read
OTHERS_POLL_MS = 3000


class StatusLabel(QLabel):
    """The status bar's text on one line, cut with an ellipsis to the room there is (a
    several-line error would otherwise widen the window); the full text is its tooltip."""

    def __init__(self) -> None:
        super().__init__()
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt naming)
        self._full = text
        self._fit()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        line = " ".join(self._full.split())
        shown = line if not self.isVisible() else self.fontMetrics().elidedText(
            line, Qt.TextElideMode.ElideRight, self.width())  # hidden: cut once laid out
        super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")


class BackgroundWork(QObject):
    """Runs indexing, captioning and reading text on the writer thread, one at a time;
    indexing always goes first (the other passes yield to it and resume after)."""

    photos_added = Signal()  # a batch of photos is in the library
    indexed = Signal()  # an indexing run finished
    failed = Signal(object)  # a ClipdeskError to show
    changes_seen = Signal()  # from the watcher's thread: files changed in a library folder
    watch_said = Signal(str)  # from the watcher's thread: how the folders are watched
    warned = Signal(str)  # from the writer thread: work done, with a warning (Library.warn)
    text_read = Signal()  # a text-reading job ended (the details panel may show more)
    others_changed = Signal()  # another process (a terminal `clipdesk index`) changed it

    def __init__(self, library: Library, jobs: Jobs, bar: QStatusBar, captions: str) -> None:
        super().__init__(bar)
        self.library, self.jobs = library, jobs
        self.index_job: Job | None = None
        self.caption_job: Job | None = None
        self.captions = captions  # "selected" | "all" | "off" | "auto" (all with a GPU)
        # why the caption model cannot load (one line), once it failed: no more tries this
        # session until the Captions setting changes
        self.caption_error: str | None = None
        self.text_job: Job | None = None  # reading the text in photos (OCR)
        self.text_error: str | None = None  # why the reader cannot load, once it failed
        self._text_steps: list[Progress] = []  # the text job's steps so far
        self.status_text = StatusLabel()
        self.progress = QProgressBar(textVisible=True)
        self.progress.setMaximumWidth(220)
        self.pause_button = QToolButton()
        self.pause_button.setText("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.clicked.connect(self.cancel_index)
        bar.addWidget(self.status_text, 1)
        for w in (self.progress, self.pause_button, self.cancel_button):
            bar.addPermanentWidget(w)
        self._show_indexing(False)
        self.watcher: Watcher | None = None
        self._watched: list[bytes] = []
        self._again = False  # changes were seen during a run: index once more after it
        self.changes_seen.connect(self.index_changes)
        self.watch_said.connect(self._watch_status)
        self._unavailable = False  # the last run met a folder that is not available
        self._news: str | None = None  # the last run's summary, when it changed anything
        self.warned.connect(lambda text: self.status_text.setText(text[:1].upper() + text[1:]))
        library.warn = self.warned.emit
        self._others = QTimer(self, interval=OTHERS_POLL_MS)
        self._others.timeout.connect(self._look_for_others)
        self._others.start()

    # -- watching the folders ---------------------------------------------------------

    def watch(self) -> None:
        """(Re)start watching the library's folders (the watcher only decides when; the
        index runs here, on the writer thread, like every other run)."""
        self.stop_watching(wait=False)
        self._watched = self.library.roots()
        if self._watched and not self.jobs.closed:
            self.watcher = Watcher(self.library, index=self._changed,
                                   on_status=self.watch_said.emit)
            self.watcher.start(catch_up=False)  # the app's own run at launch caught up

    def _watch_status(self, text: str) -> None:
        """The watcher's word ("Watching 3 folders for changes"), unless the last run
        said that a folder is not available: that stays in view. The watcher starts after
        the launch's own run: what that run changed stays in view before it."""
        if self._unavailable:
            return
        if self._news is not None and self.status_text.full_text() == self._news:
            text = f"{self._news} {text}"
        self.status_text.setText(text)

    def _changed(self) -> None:
        """On the watcher's thread: hand the run to the GUI thread."""
        self.changes_seen.emit()

    def index_changes(self) -> None:
        if self.index_job is not None:
            self._again = True  # the run under way may have listed the folder already
        else:
            self.start_index()

    def _look_for_others(self) -> None:
        """Another process's commits show without a run of our own (a run of our own
        takes them in, and reloads the views when it ends)."""
        if self.index_job is None and not self.jobs.closed:
            self.jobs.read(self.library.refresh_if_changed,
                           done=lambda changed: self.others_changed.emit() if changed else None)

    def stop_watching(self, wait: bool = True) -> None:
        watcher, self.watcher = self.watcher, None
        if watcher is not None:
            watcher.stop(wait)

    # -- indexing ---------------------------------------------------------------------

    def start_index(self, folders: Sequence[str | bytes] | None = None,
                    model: str | None = None) -> None:
        if self.jobs.closed:
            return  # the window closed before this queued start (the launch's catch-up)
        if self.index_job is not None:
            self.index_job.cancel()  # the new run covers the old one's work
        for other in (self.caption_job, self.text_job):
            if other is not None:
                other.cancel()  # indexing first; captions and text resume after it
        roots = None if folders is None else list(folders)
        job = self.jobs.create(lambda: when_free(lambda: self.library.index(roots, model)))
        # each handler answers its own job only: the signals of a job this one replaced
        # (its cancellation, arriving late) must not end this one's progress bar
        mine = _bound(lambda: self.index_job, job, self.jobs)
        job.progress.connect(mine(self._index_progress))
        job.finished.connect(mine(self._index_finished))
        job.failed.connect(mine(self._index_failed))
        job.cancelled.connect(mine(lambda: self._index_ended(
            "Indexing cancelled; it resumes next time.")))
        self.index_job = job
        self._show_indexing(True)
        self.status_text.setText("Starting…")
        self.jobs.start_writer(job)

    def _index_progress(self, step: Progress) -> None:
        if step.phase == Phase.WAIT:
            self.status_text.setText(step.message)
            self.progress.setRange(0, 0)
        elif step.phase == Phase.SCAN:
            self.status_text.setText(f"Looking for photos… {plural(step.done, 'file')}")
            self.progress.setRange(0, 0)
        elif step.phase in (Phase.INDEX, Phase.QUALITY):
            self.progress.setRange(0, step.total)
            self.progress.setValue(step.done)
            if step.phase == Phase.QUALITY:
                self.status_text.setText(f"Measuring sharpness… {step.done:,} of {step.total:,}")
                return
            eta = f" · {_duration(step.eta)} left" if step.eta else ""
            if step.message:  # preparing the model; older photos' whole frame (no new ones)
                self.status_text.setText(step.message + (
                    f" {step.done:,} of {step.total:,} · {step.rate:.1f} photos/s{eta}"
                    if step.done else ""))
                return
            self.status_text.setText(f"Indexing {step.done:,} of "
                                     f"{plural(step.total, 'photo')} · "
                                     f"{step.rate:.1f} photos/s{eta}")
            self.photos_added.emit()
        elif step.message:
            self.status_text.setText(step.message)

    def _index_finished(self, step: Progress | None) -> None:
        s = step.summary if step is not None else None
        text, self._news = "Library up to date.", None
        if s is not None and (s.embedded or s.removed or s.moved or s.copies or s.problems
                              or s.framed):
            changes = [f"{s.embedded:,} new" if s.embedded else "",
                       f"the whole frame of {plural(s.framed, 'older photo')}" if s.framed else "",
                       plural(s.copies, "copy") if s.copies else "",  # of a known photo
                       f"{s.moved:,} moved" if s.moved else "",
                       f"{s.removed:,} removed" if s.removed else "",
                       plural(s.problems, "problem") if s.problems else ""]
            text = self._news = (
                f"Library updated in {s.seconds:.0f} s: "
                f"{', '.join(c for c in changes if c)}; {plural(s.photos, 'photo')} in all.")
        self._unavailable = s is not None and bool(s.unavailable)
        if s is not None and s.unavailable:  # an unplugged drive outranks "up to date"
            more = len(s.unavailable) - 1
            text = s.unavailable[0][:1].upper() + s.unavailable[0][1:] + (
                f" (and {plural(more, 'other folder')}: see Problems)" if more else "")
        again = self._again
        self._index_ended(text)
        self.indexed.emit()
        if again:
            self.start_index()
            return
        if self.library.roots() != self._watched:  # a folder was added: watch it too
            self.watch()
        self.write_captions()
        # no text pass here: each photo's OCR (1-3 s) holds the writer, so a person's edits
        # would wait on it, and the text check is not calibrated on real photos yet; the
        # pass runs when asked (Library > Read text in photos, `clipdesk read-text`)

    def _index_failed(self, error: ClipdeskError) -> None:
        self._index_ended(f"Indexing stopped: {error}")
        self.failed.emit(error)

    def _index_ended(self, text: str) -> None:
        self.index_job = None
        self._again = False
        self._show_indexing(False)
        self.status_text.setText(text)

    def _show_indexing(self, on: bool) -> None:
        for w in (self.progress, self.pause_button, self.cancel_button):
            w.setVisible(on)
        self.pause_button.setText("Pause")

    def toggle_pause(self) -> None:
        if self.index_job is None:
            return
        if self.index_job.paused:
            self.index_job.resume()
            self.pause_button.setText("Pause")
        else:
            self.index_job.pause()
            self.pause_button.setText("Resume")
            self.status_text.setText("Paused")

    def cancel_index(self) -> None:
        if self.index_job is not None:
            self.index_job.cancel()

    # -- captions ---------------------------------------------------------------------

    def set_captions(self, mode: str) -> None:
        """selected (written when a photo is selected) / all (a background pass) / off."""
        self.captions = mode
        self.caption_error = None  # a new setting: the model may be tried again
        forget_model_failures()
        self.jobs.write(lambda: self.library.set_captions_mode(mode),
                        failed=self.failed.emit)
        if mode == "all":
            self.write_captions()
        elif self.caption_job is not None:
            self.caption_job.cancel()

    def write_captions(self) -> None:
        """The captions pass, when asked for and no indexing is under way."""
        wanted = self.captions == "all" or (self.captions == "auto" and has_gpu())
        if not wanted or self.caption_error is not None or self.caption_job is not None \
                or self.index_job is not None:
            return
        job = self.jobs.create(self.library.captions.write_all)
        mine = _bound(lambda: self.caption_job, job, self.jobs)
        job.progress.connect(mine(lambda step: self.status_text.setText(
            f"Writing captions… {step.done:,} of {step.total:,}")))
        job.finished.connect(mine(lambda _: self._captions_ended("Captions written.")))
        job.cancelled.connect(mine(lambda: self._captions_ended("")))
        job.failed.connect(mine(self._captions_failed))
        self.caption_job = job
        self.jobs.start_writer(job)

    def _captions_ended(self, text: str) -> None:
        self.caption_job = None
        if text:
            self.status_text.setText(text)

    def _captions_failed(self, error: ClipdeskError) -> None:
        if isinstance(error, ModelLoadError):
            self.caption_error = first_line(error)
        self._captions_ended(f"Captions stopped: {error}")
        self.failed.emit(error)

    # -- text in photos ---------------------------------------------------------------

    def read_text(self, photo_ids: list[int] | None = None) -> None:
        """Read the text in these photos (a person asked: read again), or the pass: the
        photos never read that the text check picks. Never during an index run."""
        if photo_ids is None and (self.text_error is not None or self.text_job is not None):
            return
        if self.index_job is not None:
            return  # the pass follows the run; a person's ask waits for no run: ask again
        if self.text_job is not None:
            self.text_job.cancel()  # a person's ask goes first; the pass comes back later
        again = photo_ids is not None
        job = self.jobs.create(lambda: self.library.text.read(photo_ids, again=again))
        mine = _bound(lambda: self.text_job, job, self.jobs)
        self._text_steps = []
        job.progress.connect(mine(self._text_progress))
        job.finished.connect(mine(lambda _: self._text_ended()))
        job.cancelled.connect(mine(lambda: self._text_ended(cancelled=True)))
        job.failed.connect(mine(self._text_failed))
        self.text_job = job
        self.jobs.start_writer(job)

    def _text_progress(self, step: Progress) -> None:
        self._text_steps.append(step)
        self.status_text.setText(f"Reading text in photos… {step.done:,} of {step.total:,}")

    def _text_ended(self, cancelled: bool = False) -> None:
        self.text_job, steps = None, self._text_steps
        self.text_read.emit()
        if not steps or cancelled:
            return  # nothing to read: the status bar keeps what it said
        problems = [s.problem for s in steps if s.problem is not None]
        said = f"Text read in {plural(len(steps) - len(problems), 'photo')}."
        if problems:
            said += f" {plural(len(problems), 'photo')} could not be read: {problems[0].reason}"
        self.status_text.setText(said)

    def _text_failed(self, error: ClipdeskError) -> None:
        if isinstance(error, ModelLoadError):
            self.text_error = first_line(error)
        self.text_job = None
        self.status_text.setText(f"Reading text stopped: {first_line(error)}")
        self.failed.emit(error)


def when_free(run: Callable[[], ProgressJob]) -> ProgressJob:
    """The steps of `run()` (an index run) once no other process holds the library's index
    lock; until then a WAIT step every BUSY_POLL_S (not a blocking wait for the lock: the
    job stays cancellable, and edits run between its steps)."""
    while True:
        steps = run()
        try:
            first = next(steps)  # the run takes the lock before its first step
        except LibraryBusyError:
            first = None
        except StopIteration:
            return
        if first is None:
            yield Progress(Phase.WAIT, message=FOLLOWING)
            time.sleep(BUSY_POLL_S)
            continue
        try:
            yield first
            yield from steps
        finally:
            steps.close()  # cancelled at any step: the run's clean-up, on this thread
        return


def first_line(error: BaseException | str) -> str:
    """The first non-empty line of a message: what a person sees in a box or a panel."""
    return next((line.strip() for line in str(error).splitlines() if line.strip()), "")


def _bound(current: Callable[[], Job | None], job: Job,
           jobs: Jobs) -> Callable[[Callable[..., object]], Callable[..., object]]:
    """Wrap a slot so that it runs only while `job` is the current one (and the window is
    open)."""
    def wrap(slot: Callable[..., object]) -> Callable[..., object]:
        return lambda *args: slot(*args) if current() is job and not jobs.closed else None
    return wrap


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
