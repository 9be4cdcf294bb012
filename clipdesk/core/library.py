"""The facade over the engine: the one object qt/ and cli/ talk to. Each feature lives
in its own service (store.vectors, photos, search.queries, organize.tags,
organize.captioning, organize.grouping, organize.reading, organize.people, indexing.run,
sidecars.sync, store.settings); Library builds them over one catalog. The front ends call
six of them directly, as attributes that read at the call site (library.photos,
library.tags, library.captions, library.groups, library.text, library.people: read-only
by convention), and Library itself for what crosses concerns (indexing, search, status,
settings, sidecars), so they never reach the catalog, the pipeline or the vector index.
A person's edits through any service are bookkept once, by self.edits (store.edits.Edits):
counted, then their sidecars and a backup follow.

Long jobs are generators that yield Progress; closing the generator cancels the job and
runs its clean-up. A Library may be shared between threads (the catalog gives each thread
its own connection and the vector index is locked), with one writer at a time.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

from clipdesk.core.indexing.run import Indexer
from clipdesk.core.media import formats
from clipdesk.core.media.imaging import show_native_messages
from clipdesk.core.media.quality import BLURRY
from clipdesk.core.media.quality import describe as describe_sharpness
from clipdesk.core.models.captions import DEFAULT_CAPTIONER
from clipdesk.core.models.device import has_gpu
from clipdesk.core.models.loading import forget_failures as forget_model_failures
from clipdesk.core.models.loading import list_builtin
from clipdesk.core.models.nsfw import DEFAULT_THRESHOLD as NSFW_THRESHOLD
from clipdesk.core.models.spec import DEFAULT_MODEL
from clipdesk.core.organize.captioning import Captioning
from clipdesk.core.organize.grouping import Grouping
from clipdesk.core.organize.people import People
from clipdesk.core.organize.reading import Reading
from clipdesk.core.organize.tagging import SENSITIVE
from clipdesk.core.organize.tags import Tags, tag_name
from clipdesk.core.paths import catalog_path, home_dir
from clipdesk.core.photos import PathArg, Photos
from clipdesk.core.search.queries import Search
from clipdesk.core.search.query_language import Query
from clipdesk.core.sidecars.sync import Sidecars
from clipdesk.core.store import backup, edits
from clipdesk.core.store.catalog import Catalog, writer_thread
from clipdesk.core.store.changes import Watch
from clipdesk.core.store.settings import CaptionsMode, Settings
from clipdesk.core.store.vectors import VectorStore
from clipdesk.core.store.vindex import VectorIndex
from clipdesk.core.types import (
    Hit,
    Problem,
    ProgressJob,
    SidecarSummary,
    Sort,
    Status,
)

log = logging.getLogger(__name__)

__all__ = ["Library", "tag_name", "writer_thread"]  # writer_thread: the app's writer thread
# What the app and the CLI show or offer besides the facade's methods, re-exported so that
# neither reaches into the engine's modules (tests/test_layering.py): a move inside core
# changes these lines, not theirs.
__all__ += ["BLURRY", "DEFAULT_CAPTIONER", "DEFAULT_MODEL", "NSFW_THRESHOLD", "SENSITIVE",
            "Query", "describe_sharpness", "forget_model_failures", "has_gpu", "list_builtin",
            "show_native_messages"]


class Library:
    def __init__(self, home: str | os.PathLike[str] | None = None,
                 new_library: bool = False) -> None:
        """The library in `home`. A catalog that is missing or empty beside backups of it
        is refused (LostCatalogError: restore it) unless `new_library` says to start anew."""
        self.home = home_dir(home)
        lost = None if new_library else backup.lost_catalog(self.home)
        if lost is not None:
            raise lost
        self.catalog = Catalog(catalog_path(self.home))
        self.settings = Settings(self.catalog)
        self.store = VectorStore(self.home, self.catalog, self.settings)
        self.photos = Photos(self.home, self.catalog)
        self.searching = Search(self.catalog, self.store, self.photos)
        # a person's edits, made through the services below, each bookkept once here
        self.edits = edits.Edits(self.catalog, self._edited)
        self.tags = Tags(self.home, self.catalog, self.settings, self.store, self.photos,
                         self.edits)
        self.captions = Captioning(self.catalog, self.settings, self.photos, self.edits)
        self.groups = Grouping(self.catalog, self.settings, self.store, self.photos,
                               self.searching, self.edits)
        self.text = Reading(self.catalog, self.store, self.photos)  # text in photos (OCR)
        self.people = People(self.home, self.catalog, self.settings, self.photos, self.edits,
                             self.searching.forget_names)  # faces, grouped and named
        self.sidecars = Sidecars(self.catalog, self.home)
        self.indexer = Indexer(self.home, self.catalog, self.settings, self.store,
                               self.tags, self.groups, self.sidecars, self.people)
        self._changes = Watch(self.catalog)  # for refresh_if_changed
        # where a warning about work that was done goes (an edit's XMP sidecar not
        # written): the log; the command line prints it, the app shows it in its status bar
        self.warn: Callable[[str], None] = log.warning
        # called after each of a person's edits (on the thread that made it): the app
        # schedules a backup (qt/backups.py)
        self.edited: Callable[[], None] = lambda: None

    def close(self) -> None:
        self.catalog.close()

    def backup_if_due(self) -> Path | None:
        """Back the catalog up when it holds changes (a person's edits, an index run's,
        one a kill stopped before its backup) that its newest backup lacks; the backup,
        or None (none due, or it could not be written: logged)."""
        if backup.backup_due(self.home, edits.of_catalog(self.catalog)):
            return backup.make_backup(self.home)
        return None

    # -- the library as a whole -----------------------------------------------------------

    def roots(self) -> list[bytes]:
        """The photo folders the library indexes."""
        return self.catalog.files.roots()

    def status(self) -> Status:
        counts = self.catalog.files.counts()
        problems = self.problems() if counts["problems"] else []
        return Status(photos=counts["photos"], files=counts["files"],
                      problems=counts["problems"], model=self.model_id,
                      pending_model=self.settings.target_model,
                      roots=[os.fsdecode(r) for r in self.catalog.files.roots()],
                      index_state=self.index_state(), home=str(self.home),
                      ignored=counts["ignored"], videos=counts["videos"],
                      video_problems=sum(p.video for p in problems),
                      raw=self.catalog.photos.count_format(formats.RAW),
                      raw_problems=sum(formats.raw_name(p.path) is not None
                                       for p in problems),
                      encoding=self.store.encoding() or self.settings.encoded_on)

    def refresh_if_changed(self) -> bool:
        """Whether another process (`clipdesk index` in a terminal, say) changed the
        library since the last call, or since it was opened; its photos are then taken in
        at once (each query would anyway). The app calls this to know when to reload its
        views. One row read when nothing changed; after a change it may load the index file
        that process saved (a second or so at 100k photos): call it off the GUI thread."""
        if not self._changes.changed():
            return False
        self.store.refresh()
        return True

    def problems(self) -> list[Problem]:
        """Photos (and videos: Problem.video) that cannot be read, with the reason; not
        the files that are not photos (those are only counted: Status.ignored)."""
        return [replace(p, video=formats.is_video(formats.photo_name(p.path) or ""))
                for p in self.catalog.files.problems()]

    def check_one_writer(self, on: bool) -> None:
        """Make a catalog write from a thread not in writer_thread() raise (app test mode)."""
        self.catalog.check_writer = on

    def in_write(self) -> bool:
        """Whether this thread is inside a write transaction."""
        return self.catalog.in_transaction

    # -- models, the vector index and indexing -------------------------------------------

    @property
    def model_id(self) -> str | None:
        """The model whose vectors answer queries."""
        return self.settings.model

    def warm_up(self) -> None:
        """Load the query model and the index ahead of the first search."""
        if self.model_id is not None:
            self.store.query_embedder()

    def vector_index(self) -> VectorIndex:
        return self.store.vector_index()

    def index_state(self) -> str:
        return self.store.state()

    def index(self, roots: list[str | bytes] | None = None, model: str | None = None,
              wait: bool = False) -> ProgressJob:
        return self.indexer.index(roots, model, wait)

    def choose_model(self, spec: str) -> None:
        self.indexer.choose_model(spec)

    # -- queries (photos: self.photos) -----------------------------------------------------

    def search(self, text: str, k: int = 20, tags: list[str] | None = None,
               sort: str = Sort.DATE, today: date | None = None) -> list[Hit]:
        """Photos for a query in the search language (core/search/query_language.py):
        words ranked by match within its dates, places, #tags and quality, less its
        exclusions; `sort` Sort.NEWEST orders them by date taken."""
        return self.searching.search(text, k, tags, sort, today)

    def understand(self, text: str, today: date | None = None) -> Query:
        """How a search text reads: its describe() is the "understood as" line."""
        return self.searching.understand(text, today)

    def similar(self, path: PathArg, k: int = 20) -> list[Hit]:
        return self.searching.similar(path, k)

    # -- tags (the rest: self.tags) -------------------------------------------------------

    def nsfw_threshold(self) -> float | None:
        """The library setting "nsfw_threshold": the open_nsfw score (0..1) that flags a
        photo sensitive, None when that signal is off."""
        return self.settings.nsfw_threshold

    def set_nsfw_threshold(self, value: float | None) -> None:
        """Change the threshold (None: off); the flags follow at once from the stored
        scores, no re-index."""
        self.settings.nsfw_threshold = value
        self.tags.retag()

    def teach(self, tag: str, yes: Sequence[PathArg], no: Sequence[PathArg] = ()) -> int:
        """Record a person's examples for `tag` (yes: they get it; no: they never do).
        Returns how many other photos the taught tag now suggests."""
        self.tags.teach(tag, [self.photos.id_of(p) for p in yes],
                        [self.photos.id_of(p) for p in no])
        return sum(h.relevant for h in self.tags.suggest(tag, k=1_000_000))

    # -- captions (the rest: self.captions) -----------------------------------------------

    def captions_mode(self) -> CaptionsMode:
        """The library setting "captions": "selected" | "all" | "off" | "auto"."""
        return self.settings.captions

    def set_captions_mode(self, mode: str) -> None:
        self.settings.captions = mode

    # -- XMP sidecars ---------------------------------------------------------------------

    def write_sidecars(self, paths: Sequence[PathArg] | None = None,
                       include_auto: bool = False, include_text: bool = False
                       ) -> SidecarSummary:
        """Write (merge) the XMP sidecars of the photos at `paths` (files, or folders:
        every photo below them), or of every photo when None. Automatic tags and model
        captions only with `include_auto`; the text read in photos (in the description,
        after the caption) only with `include_text`."""
        ids = None if paths is None else self.photos.ids_at(paths)
        return self.sidecars.write(ids, include_auto, include_text)

    def keeps_sidecars(self) -> bool:
        """Whether a person's edits (tags, caption, reject) go to XMP sidecars at once."""
        return self.settings.keep_sidecars

    def keep_sidecars(self, on: bool) -> SidecarSummary:
        """Keep the sidecars written from now on; turning it on writes them all now."""
        self.settings.keep_sidecars = on
        return self.sidecars.write() if on else SidecarSummary()

    def _edited(self, photo_ids: Sequence[int] | None) -> None:
        """After a person's edit (self.edits): a backup to come (self.edited) and the
        sidecars of the photos it touched, when the library keeps them written (a sidecar
        that cannot be written is said: self.warn; the edit is in the catalog)."""
        self.edited()
        if photo_ids is not None and self.settings.keep_sidecars:
            summary = self.sidecars.write(photo_ids)
            for problem in summary.failed + summary.left_alone:
                self.warn(f"saved, but the XMP sidecar was not written: {problem.reason}")

    def read_sidecars(self, paths: Iterable[PathArg]) -> SidecarSummary:
        """Take in the sidecars of these files (index() does this for new and changed
        files): keywords become a person's tags, a caption and a reject too."""
        return self.sidecars.read(os.path.abspath(os.fsencode(p)) for p in paths)
