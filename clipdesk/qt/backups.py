"""A person's edits in the app reach a backup of the catalog: one after the edits, at most
one every BACKUP_EVERY_S (not one a click: a backup of a large catalog takes seconds),
made on the writer thread; and the last edits' when the window closes."""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from clipdesk.core.library import Library
from clipdesk.qt.worker import Jobs

BACKUP_EVERY_S = 60


class EditBackups(QObject):
    _edited = Signal()  # emitted on the writer thread, delivered on the GUI thread

    def __init__(self, library: Library, jobs: Jobs, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library, self.jobs = library, jobs
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(BACKUP_EVERY_S * 1000)
        self.timer.timeout.connect(self._backup)
        self._edited.connect(self._schedule)
        library.edited = self._edited.emit

    def _schedule(self) -> None:
        if not self.timer.isActive():  # not restarted: steady editing still gets backups
            self.timer.start()

    def _backup(self) -> None:
        self.jobs.write(self.library.backup_if_due)

    def close(self) -> None:
        """The window closes, its jobs ended: back up what is not yet."""
        self.timer.stop()
        self.library.edited = lambda: None
        self.library.backup_if_due()
