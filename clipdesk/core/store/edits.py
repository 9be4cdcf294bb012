"""The catalog's edit generation: which library a catalog (or a backup of it) is, how many
of a person's edits and how many changes in all it has seen.

Kept in the meta table, so every backup carries the stamp of the catalog it copied. Two
counters, each bumped *before* the write it counts (a kill in between costs at most one
backup too many, never one too few):
- changes: any change worth a backup (an index run that changed something, an edit).
  A catalog whose changes differ from its newest backup's is due a backup, even when a
  kill stopped the run (or the backup) that would have made it.
- edits: a person's edits only (tags set or taken off, rejects, captions, taught tags,
  renamed tags). A backup of the same library with more edits than the live catalog (one
  restored from an older backup), or of another library with any edits, holds edits the
  live catalog lacks: its rotation never drops the newest such backup.

Edits is the one place a person's edit is bookkept: the services that make edits (tags,
captions, rejects) each write theirs inside `with edits.editing(photo_ids):`.
"""
from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

LIBRARY = "library_id"  # a random id given at the first change; restored with the catalog
EDITS = "edits"
CHANGES = "changes"


class Meta(Protocol):
    def get(self, key: str) -> str | None: ...


class Catalog(Protocol):
    """What of the catalog the stamp reads and writes. A protocol, not the class: the
    catalog bumps the stamp (through backup), so naming the class would be an import
    cycle."""

    @property
    def meta(self) -> Meta: ...

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...


@dataclass(frozen=True)
class Stamp:
    library: str | None  # None: no change recorded yet (or written before stamps existed)
    edits: int
    changes: int


def read(db: sqlite3.Connection) -> Stamp:
    rows = dict(db.execute("SELECT key, value FROM meta WHERE key IN (?, ?, ?)",
                           (LIBRARY, EDITS, CHANGES)).fetchall())
    return Stamp(rows.get(LIBRARY), int(rows.get(EDITS, 0)), int(rows.get(CHANGES, 0)))


def of_file(path: Path) -> Stamp | None:
    """The stamp of the SQLite file at `path` (a backup), None when it cannot be read."""
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            return read(db)
        finally:
            db.close()
    except (sqlite3.Error, ValueError):
        return None


def of_catalog(catalog: Catalog) -> Stamp:
    return Stamp(catalog.meta.get(LIBRARY), int(catalog.meta.get(EDITS) or 0),
                 int(catalog.meta.get(CHANGES) or 0))


def mark(catalog: Catalog, edit: bool) -> None:
    """Count a change (and a person's edit, with `edit`) about to be written."""
    with catalog.transaction() as db:
        db.execute("INSERT OR IGNORE INTO meta VALUES(?, ?)", (LIBRARY, uuid.uuid4().hex))
        for key in (CHANGES, EDITS) if edit else (CHANGES,):
            db.execute("INSERT INTO meta VALUES(?, '1') ON CONFLICT(key) DO UPDATE SET "
                       "value=CAST(value AS INTEGER) + 1", (key,))


def holds_lost_edits(kept: Stamp | None, live: Stamp) -> bool:
    """Whether a backup stamped `kept` holds a person's edits that the live catalog lacks
    (an unreadable or pre-stamp backup: not known to)."""
    if kept is None or kept.library is None or kept.edits == 0:
        return False
    return kept.library != live.library or kept.edits > live.edits


class Edits:
    """A person's edits through one Library: each is counted before it is written (mark:
    even a kill right after it leaves the catalog due a backup), then `done` runs with the
    photos it touched (Library: their sidecars, a backup to come). A callback, not the
    sidecars themselves: those import the tag services that edit through this."""

    def __init__(self, catalog: Catalog, done: Callable[[Sequence[int] | None], None]) -> None:
        self.catalog, self.done = catalog, done
        self.made = False  # whether a person edited through this library (the CLI backs up)

    @contextmanager
    def editing(self, photo_ids: Sequence[int] | None = None) -> Iterator[None]:
        """Around one edit of `photo_ids` (None: of the vocabulary, a tag renamed or removed
        on every photo: no sidecar is written for it). An edit that raises is counted
        (already marked) but not followed up."""
        mark(self.catalog, edit=True)
        self.made = True
        yield
        self.done(photo_ids)
