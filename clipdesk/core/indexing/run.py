"""The index run: scan the roots, decode and embed what is new or changed (pipeline.py
does one file; this overlaps decoding with embedding), record problems, drop what is
gone, switch models, then re-tag, back-fill quality, regroup and back up the catalog.
One run at a time per library (lock.py)."""
from __future__ import annotations

import bisect
import dataclasses
import itertools
import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from clipdesk.core.errors import ModelLoadError, RootError
from clipdesk.core.indexing import backfill, cpu, locate, pipeline, scanner
from clipdesk.core.media import formats, imaging
from clipdesk.core.models.download import load_with_progress
from clipdesk.core.models.spec import DEFAULT_MODEL, parse_spec
from clipdesk.core.organize.grouping import Grouping
from clipdesk.core.organize.people import People
from clipdesk.core.organize.tags import Tags
from clipdesk.core.sidecars.sync import Sidecars
from clipdesk.core.store import backup, edits
from clipdesk.core.store.catalog import Catalog, FileRecord
from clipdesk.core.store.lock import index_lock
from clipdesk.core.store.settings import Settings
from clipdesk.core.store.vectors import VectorStore
from clipdesk.core.types import FileStatus, IndexSummary, Phase, Progress, ProgressJob

if TYPE_CHECKING:
    from clipdesk.core.models.embedder import Embedder

log = logging.getLogger(__name__)

Queued = tuple[pipeline.Job, bool]  # a file to process, and whether it is new
STATS = ("new", "changed", "moved", "copies", "problems", "ignored", "embedded", "unchanged",
         "framed")


class Indexer:
    def __init__(self, home: Path, catalog: Catalog, settings: Settings, store: VectorStore,
                 tags: Tags, grouping: Grouping, sidecars: Sidecars | None = None,
                 people: People | None = None) -> None:
        self.home, self.catalog, self.settings, self.store = home, catalog, settings, store
        self.tags, self.grouping, self.people = tags, grouping, people
        self.sidecars = sidecars or Sidecars(catalog, home)

    def index(self, roots: list[str | bytes] | None = None, model: str | None = None,
              wait: bool = False) -> ProgressJob:
        """Scan the roots, then decode and embed what is new or changed. One run at a time
        per library (LibraryBusyError, or with `wait` block until the other run ends)."""
        with index_lock(self.home, wait):
            yield from self._run(roots, model)

    def choose_model(self, spec: str) -> None:
        """Use `spec` from the next index() on (the library is re-embedded with it)."""
        target = parse_spec(spec).id
        self.settings.target_model = None if target == self.settings.model else target

    def _run(self, roots: list[str | bytes] | None, model: str | None) -> Iterator[Progress]:
        started = time.monotonic()
        target = self._target(model)
        root_list = self._resolve_roots(roots)
        fence = scanner.Fence.around(self.catalog.files.roots(), os.fsencode(str(self.home)),
                                     self.settings.mounts)

        yield Progress(Phase.SCAN, message="Looking for photos…")
        jobs: list[Queued] = []
        removed: list[bytes] = []
        problems: list[scanner.Entry] = []
        stats = dict.fromkeys(STATS, 0)
        unavailable: list[str] = []  # one line per folder not there: its photos are kept
        reached = scanner.Reached()
        for root in root_list:
            yield from self._scan_root(root, (fence, reached), target, jobs, removed,
                                       problems, stats, unavailable)
        mounts = (fence.mounts - set(reached.unmounts)) | set(reached.mounts)
        if mounts != fence.mounts:
            self.settings.mounts = mounts
        jobs.extend(self._needs_embedding(target, jobs))
        # photos indexed before the whole frame was (backfill.py)
        frames = target == self.settings.model and bool(backfill.missing(self.catalog, target))
        # loaded only when there is work (a re-run over an unchanged library is instant),
        # and before a new model is recorded: a model that cannot load is never saved
        # (on a helper thread: a download yields Progress("download") as it goes)
        embedder = ((yield from load_with_progress(lambda: self.store.embedder(target), target))
                    if jobs or frames or target != self.settings.model else None)
        if self.settings.model is None:
            self.settings.model = target
        switching = target != self.settings.model
        self.settings.target_model = target if switching else None
        if jobs or removed or switching or problems or frames:
            # counted before it is written: a kill from here on (in the save, in the
            # backup) leaves the catalog due a backup, which the next run makes
            edits.mark(self.catalog, edit=False)
        self._record_scan_problems(problems, stats)
        if not switching:
            self.store.vector_index()

        if embedder is not None and (jobs or frames) and not embedder.ready_for_photos():
            yield Progress(Phase.INDEX, total=len(jobs),
                           message="Preparing the model for this computer's CPU…")
            embedder.prepare_for_photos()
        if embedder is not None:
            add = None if switching else self.store.add
            writer = pipeline.BatchWriter(self.catalog, add, embedder, stats,
                                          frozenset(removed))
            yield from self._process(jobs, embedder, writer)
            self.settings.encoded_on = embedder.precision
            if frames and not switching:
                stats["framed"] = yield from backfill.backfill(
                    self.catalog, self.store, embedder, backfill.missing(self.catalog, target))
        removed_ids, mates = self._remove(removed)
        if jobs:  # tags set in digiKam & co: new photos' sidecars, changed sidecars
            yield Progress(Phase.SIDECARS, message="Reading XMP sidecars…")
            read = self.sidecars.read(job.path for job, _ in jobs)
            stats["problems"] += len(read.left_alone)  # listed by `clipdesk problems` too
        self.sidecars.clean_after_killed_runs()  # temp files of a killed `xmp` run
        if not switching:
            self.store.delete(removed_ids)
        if switching and not self.catalog.embeddings.files_missing(target):
            self.store.switch_model(target)
        yield Progress(Phase.SAVE, message="Saving the index…")
        self.store.save()
        yield from self._follow_up(bool(jobs) or bool(removed) or switching, mates)
        if backup.backup_due(self.home, edits.of_catalog(self.catalog)):  # keep a good copy
            yield Progress(Phase.BACKUP, message="Backing up the catalog…")
            backup.make_backup(self.home)
        summary = IndexSummary(removed=len(removed), seconds=time.monotonic() - started,
                               photos=self.catalog.files.counts()["photos"],
                               unavailable=tuple(unavailable), **stats)
        yield Progress(Phase.DONE, done=len(jobs), total=len(jobs), summary=summary)

    def _follow_up(self, changed: bool, mates: list[int]) -> Iterator[Progress]:
        """When and where (older photos' headers, places to name), then what the stored
        vectors feed: tags, quality back-fill, groups; then faces, when on."""
        yield from locate.locating(self.catalog)
        # after the photos are committed, in the index and saved: searchable while the
        # tag prompts are encoded (the first tagging with a model) and tags assigned
        if changed or self.tags.stale():
            yield from self.tags.retagging()
        yield from self.grouping.measure_missing()
        ungrouped = self.grouping.ungrouped()
        if ungrouped is None or ungrouped or mates:
            yield Progress(Phase.GROUP, message="Finding bursts and duplicates…")
            self.grouping.regroup(None if ungrouped is None else ungrouped + mates)
        if self.people is not None and self.settings.faces:  # last: the slowest, resumable
            try:
                yield from self.people.find()
            except ModelLoadError as exc:  # the run's work is saved; people wait for a fix
                log.warning("%s", exc)
                yield Progress(Phase.FACES, message=f"People not looked for: {exc}")

    def _target(self, model: str | None) -> str:
        if model:
            return parse_spec(model).id
        return self.settings.target_model or self.settings.model or DEFAULT_MODEL

    def _resolve_roots(self, roots: list[str | bytes] | None) -> list[bytes]:
        fence = scanner.Fence.around((), os.fsencode(str(self.home)))
        if roots:
            given = [os.path.abspath(os.fsencode(r)) for r in roots]
            for root in given:
                if not os.path.isdir(root):
                    raise RootError(f"{os.fsdecode(root)} is not a folder")
                if not os.access(root, os.R_OK | os.X_OK):
                    raise RootError(f"cannot read folder {os.fsdecode(root)}: permission denied")
                if why := fence.refuses_root(root):
                    raise RootError(f"{os.fsdecode(root)} cannot be a photo folder: {why}")
            self.catalog.files.add_roots(given)
        stored = self.catalog.files.roots()
        if not stored:
            raise RootError("no photo folders yet: run `clipdesk index FOLDER`")
        # a root inside another root is scanned with its parent; one recorded before
        # roots were checked is left alone (its photos kept, nothing more indexed there)
        return [r for r in stored if not any(r != o and scanner.is_under(r, o) for o in stored)
                and not fence.refuses_root(r)]

    def _scan_root(self, root: bytes, bounds: tuple[scanner.Fence, scanner.Reached],
                   target: str, jobs: list[Queued], removed: list[bytes],
                   problems: list[scanner.Entry], stats: dict[str, int],
                   unavailable: list[str]) -> Iterator[Progress]:
        """Sorts every file below `root` into jobs, removed paths and problems. A folder
        that cannot be listed (an unplugged drive, a mount, a permission, a link to a
        folder no longer there) keeps the photos recorded below it, and says so."""
        recorded = self.catalog.files.under(root)
        has_vector = self.catalog.embeddings.ids(target)
        seen: set[bytes] = set()
        unlisted: list[bytes] = []  # folders that could not be opened: their photos stay
        names = sorted(recorded)
        for entry in scanner.walk(root, *bounds):
            seen.add(entry.path)
            if len(seen) % 1000 == 0:
                yield Progress(Phase.SCAN, done=len(seen), message="Looking for photos…")
            rec = recorded.get(entry.path)
            if entry.problem and (entry.folder or entry.transient
                                  or entry.problem == scanner.BROKEN_LINK):
                entry = _kept(entry, recorded, names, unavailable)
                if entry.folder:
                    unlisted.append(entry.path)
            if entry.problem:
                if (rec is None or rec.status == FileStatus.INDEXED or entry.transient
                        or rec.retry):
                    problems.append(entry)
                else:  # a pipe or broken link already on the problems list
                    stats["unchanged"] += 1
            elif _unchanged(rec, entry, has_vector):
                stats["unchanged"] += 1
            else:
                jobs.append((pipeline.Job(entry.path, entry.size, entry.mtime_ns), rec is None))
        gone = [p for p in recorded if p not in seen
                and not any(scanner.is_under(p, folder) for folder in unlisted)]
        # a problem that went away with no photo behind it (a folder back, a drive
        # plugged in again): its row goes, but no photo was removed
        cleared = {p for p in gone if recorded[p].retry and recorded[p].size < 0}
        if cleared:
            self.catalog.files.remove(cleared)
        removed.extend(p for p in gone if p not in cleared)

    def _needs_embedding(self, target: str, jobs: list[Queued]) -> list[Queued]:
        """Unchanged photos still lacking a vector from the target model (a model switch)."""
        queued = {job.path for job, _ in jobs}
        return [(pipeline.Job(f.path, f.size, f.mtime_ns), False)
                for f in self.catalog.embeddings.files_missing(target) if f.path not in queued]

    def _record_scan_problems(self, problems: list[scanner.Entry],
                              stats: dict[str, int]) -> None:
        """Folders that cannot be opened, broken links, pipes: a problem when the name
        promises a photo (or the environment failed), else a file ignored quietly."""
        with self.catalog.transaction() as db:
            for entry in problems:
                photo = entry.transient or formats.photo_name(entry.path) is not None
                status = FileStatus.ERROR if photo else FileStatus.SKIPPED
                self.catalog.files.put(db, entry.path, entry.size, entry.mtime_ns, status,
                                      reason=entry.problem, retry=entry.transient)
                stats["problems" if photo else "ignored"] += 1

    def _process(self, jobs: list[Queued], embedder: Embedder, writer: pipeline.BatchWriter
                 ) -> Iterator[Progress]:
        """Decode on a thread pool, overlapped with embedding on this thread."""
        total = len(jobs)
        if not total:
            return
        known = writer.known_hashes()
        side = max(embedder.loaded.image_size, imaging.THUMBNAIL_SIZE)
        start = cpu.decode_workers(embedder.loaded.device == "cuda")
        decoders = cpu.Decoders(start, most=start + 1)  # how many at once: measured

        def decode(job: pipeline.Job) -> pipeline.Result:
            with decoders:
                return pipeline.process(job, known.get, embedder.prepare, side, self.home,
                                        embedder.prepare_parts)

        in_flight: deque[tuple[Future[pipeline.Result], bool]] = deque()
        pending = iter(jobs)
        started, done = time.monotonic(), 0
        with ThreadPoolExecutor(decoders.most, thread_name_prefix="clipdesk-decode") as pool:
            try:
                while True:
                    # two batches in flight: the decoders stay ahead of the embedder
                    while len(in_flight) < embedder.batch_size * 2:
                        nxt = next(pending, None)
                        if nxt is None:
                            break
                        job, is_new = nxt
                        future = pool.submit(decode, job)
                        in_flight.append((future, is_new))
                    if not in_flight:
                        break
                    future, is_new = in_flight.popleft()
                    done += 1
                    if writer.add(future.result(), is_new) or not in_flight:
                        writer.flush()
                        decoders.done(done, time.monotonic())
                        rate = done / max(time.monotonic() - started, 1e-6)
                        yield Progress(Phase.INDEX, done=done, total=total, rate=rate,
                                       eta=(total - done) / rate if rate else None)
                        self.store.maybe_save()
            finally:
                for future, _ in in_flight:
                    future.cancel()

    def _remove(self, removed: list[bytes]) -> tuple[list[int], list[int]]:
        """Forget vanished files; returns the photos gone with them and the group mates
        of those photos (their groups need another look)."""
        touched = self.catalog.files.photos_of(removed)
        if removed:
            self.catalog.files.remove(removed)
        gone, mates = self.catalog.photos.remove_orphans()
        with self.catalog.transaction() as db:  # a moved photo loses its old name
            self.catalog.words.put_names(db, touched - set(gone), self.catalog.files.roots())
        return gone, mates


def _kept(entry: scanner.Entry, recorded: dict[bytes, FileRecord], names: list[bytes],
          unavailable: list[str]) -> scanner.Entry:
    """A folder that cannot be listed, or a broken link (or a name that cannot be looked
    at) where a folder of photos was: the photos recorded below it are kept, it is
    retried next run and said once. `names`: the recorded paths, sorted."""
    prefix = entry.path + b"/"
    below = {recorded[p].photo_id for p in itertools.takewhile(
        lambda p: p.startswith(prefix), names[bisect.bisect_left(names, prefix):])
        if recorded[p].status == FileStatus.INDEXED}
    if not (entry.folder or below):
        return entry  # a broken link or a file that never held photos: its own problem
    why = (entry.problem or "").removeprefix("cannot open folder: ")
    n = len(below)
    kept = ("its photo is kept" if n == 1 else f"its {n:,} photos are kept" if n
            else "no photo of it was indexed yet")
    unavailable.append(f"folder {os.fsdecode(entry.path)} is not available ({why}): "
                       f"{kept}; it is looked at again on the next run")
    return dataclasses.replace(entry, problem=f"folder not available ({why}): {kept}",
                               transient=True, folder=True)


def _unchanged(rec: FileRecord | None, entry: scanner.Entry, has_vector: set[int]) -> bool:
    """A file to leave alone: same size and time as recorded, and either indexed with a
    vector from the target model or a problem of its own (environment failures retry)."""
    if rec is None or (rec.size, rec.mtime_ns) != (entry.size, entry.mtime_ns):
        return False
    if rec.status == FileStatus.INDEXED:
        return rec.photo_id in has_vector
    return not rec.retry
