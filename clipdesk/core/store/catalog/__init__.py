"""The SQLite catalog: the source of truth for files, photos, embeddings, tags, captions,
groups and problems.

`Catalog` owns the connections and transactions (connection.py) and hangs one object a
concern off itself, each holding that concern's SQL: `catalog.tags.rename(...)`,
`catalog.files.problems()`. The schema and its migrations are in schema.py.

Paths are stored as raw bytes (os.fsencode) so that any name the OS allows round-trips,
non-UTF-8 names included. A photo is identified by the hash of its content, so its
embedding, tags and caption follow it across moves and renames; `files` maps each path on
disk to a photo, or records why the file is not one.
"""
from __future__ import annotations

from pathlib import Path

from clipdesk.core.store.catalog.captions import Captions
from clipdesk.core.store.catalog.connection import Connection, writer_thread
from clipdesk.core.store.catalog.crops import Crops
from clipdesk.core.store.catalog.embeddings import Embeddings, pack_vector, unpack_vectors
from clipdesk.core.store.catalog.examples import Examples
from clipdesk.core.store.catalog.faces import Faces
from clipdesk.core.store.catalog.files import FileRecord, Files
from clipdesk.core.store.catalog.filters import Filters
from clipdesk.core.store.catalog.groups import Groups
from clipdesk.core.store.catalog.meta import Meta
from clipdesk.core.store.catalog.photos import Photos
from clipdesk.core.store.catalog.places import Places
from clipdesk.core.store.catalog.quality import Quality
from clipdesk.core.store.catalog.schema import SCHEMA_VERSION, migrate
from clipdesk.core.store.catalog.tags import Tags
from clipdesk.core.store.catalog.texts import Texts
from clipdesk.core.store.catalog.words import Words

__all__ = ["SCHEMA_VERSION", "Catalog", "FileRecord", "pack_vector", "unpack_vectors",
           "writer_thread"]


class Catalog(Connection):
    """The catalog, usable from any thread, opened (and migrated) at construction."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.meta = Meta(self)
        self.files = Files(self)
        self.photos = Photos(self)
        self.embeddings = Embeddings(self)
        self.crops = Crops(self)
        self.words = Words(self)
        self.tags = Tags(self)
        self.examples = Examples(self)
        self.captions = Captions(self)
        self.quality = Quality(self)
        self.groups = Groups(self)
        self.places = Places(self)
        self.filters = Filters(self)
        self.texts = Texts(self)
        self.faces = Faces(self)
        migrate(self)
