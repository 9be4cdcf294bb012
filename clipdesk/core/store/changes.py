"""Telling another process's commits from this one's. Two processes may share a library
(the app open while `clipdesk index` runs in a terminal); each keeps its own vector index
in memory, which must take in what the other committed.

Every write transaction bumps a counter in the catalog's meta table ("generation"), and
the Catalog remembers the values its own commits made. A generation past the one a reader
last saw that is not one of ours is another process's commit. PRAGMA data_version would
also change at every commit of this process's other threads (the app's writer), which
need no reload; the counter tells them apart, for one small row update a transaction.
"""
from __future__ import annotations

import sqlite3
import threading
from typing import Protocol

from clipdesk.core.store.edits import Meta

GENERATION = "generation"  # the meta key


class Commits:
    """The generations this process's commits made (a few bytes a commit)."""

    def __init__(self) -> None:
        self._own: set[int] = set()
        self._lock = threading.Lock()

    def bump(self, db: sqlite3.Connection) -> int:
        """Inside a write transaction: the next generation, counted as ours (the write
        lock is held, so no other process can make the same number)."""
        row = db.execute("INSERT INTO meta VALUES(?, 1) ON CONFLICT(key) DO UPDATE SET "
                         "value=value+1 RETURNING value", (GENERATION,)).fetchone()
        generation = int(row[0])
        with self._lock:
            self._own.add(generation)
        return generation

    def forget(self, generation: int) -> None:
        """A commit that failed: its number is free for another process's next commit."""
        with self._lock:
            self._own.discard(generation)

    def foreign(self, since: int, now: int) -> bool:
        """Whether a commit after generation `since`, up to `now`, was another process's
        (or the catalog went back: a backup was restored)."""
        if now < since:
            return True
        with self._lock:
            return any(g not in self._own for g in range(since + 1, now + 1))


class Catalog(Protocol):
    """What of the catalog a watch reads. A protocol, not the class: the catalog holds
    the Commits, so naming the class would be an import cycle."""

    commits: Commits

    @property
    def meta(self) -> Meta: ...


class Watch:
    """What one reader has seen of the catalog (usable from any thread)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.seen = self._now()
        self._lock = threading.Lock()

    def _now(self) -> int:
        return int(self.catalog.meta.get(GENERATION) or 0)

    def changed(self) -> bool:
        """Whether another process committed since the last call (or since this watch was
        made). A cheap read of one row: fine before every query."""
        with self._lock:
            now = self._now()
            foreign = self.catalog.commits.foreign(self.seen, now)
            self.seen = now
        return foreign
