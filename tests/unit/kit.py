"""The services Library builds, wired the same way over one real catalog in a temporary
home, with a FakeEmbedder for every model; and small real photos to put in it."""
from __future__ import annotations

import os
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from clipdesk.core.indexing import pipeline
from clipdesk.core.indexing.run import Indexer
from clipdesk.core.media import imaging
from clipdesk.core.organize.captioning import Captioning
from clipdesk.core.organize.grouping import Grouping
from clipdesk.core.organize.tags import Tags
from clipdesk.core.paths import catalog_path, home_dir
from clipdesk.core.photos import Photos
from clipdesk.core.search.queries import Search
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.store.edits import Edits
from clipdesk.core.store.settings import Settings
from clipdesk.core.store.vectors import VectorStore
from clipdesk.core.types import FileStatus, PhotoMeta
from tests.unit.fakes import FakeEmbedder, unit_vector

MODEL = "fake:model"


@dataclass
class Kit:
    home: Path
    root: Path  # the one photo folder
    catalog: Catalog
    settings: Settings
    store: VectorStore
    photos: Photos
    search: Search
    tags: Tags
    captions: Captioning
    groups: Grouping
    indexer: Indexer
    edits: Edits  # a person's edits, counted; nothing follows them (no sidecars here)
    made: list[str] = field(default_factory=list)  # model ids an Embedder was made for

    @property
    def embedder(self) -> FakeEmbedder:
        embedder: FakeEmbedder = self.store.embedder(MODEL)
        return embedder


def make_kit(tmp_path: Path) -> Kit:
    """Library.__init__'s wiring, with `make_embedder` giving fakes. Called again on the
    same folder: the next launch over the same library."""
    home = home_dir(tmp_path / "home")
    root = tmp_path / "photos"
    root.mkdir(exist_ok=True)
    made: list[str] = []

    def make_embedder(model_id: str) -> FakeEmbedder:
        made.append(model_id)
        return FakeEmbedder(model_id)

    catalog = Catalog(catalog_path(home))
    catalog.files.add_roots([os.fsencode(root)])
    settings = Settings(catalog)
    store = VectorStore(home, catalog, settings, make_embedder)
    photos = Photos(home, catalog)
    search = Search(catalog, store, photos)
    edits = Edits(catalog, lambda photo_ids: None)
    tags = Tags(home, catalog, settings, store, photos, edits)
    groups = Grouping(catalog, settings, store, photos, search, edits)
    return Kit(home, root, catalog, settings, store, photos, search, tags,
               Captioning(catalog, settings, photos, edits), groups,
               Indexer(home, catalog, settings, store, tags, groups), edits, made)


def jpeg(path: Path, color: tuple[int, int, int] = (200, 30, 30),
         size: tuple[int, int] = (64, 48), taken_at: str | None = None) -> Path:
    """A small real JPEG: a stripe pattern in `color` (distinct colours: distinct fake
    vectors); `taken_at` ("2024:06:01 12:00:00") as its EXIF date."""
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 8):
        image.paste((255, 255, 255), (x, 0, x + 2, size[1]))
    exif = Image.Exif()
    if taken_at:
        exif[0x0132] = taken_at
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=95, exif=exif)
    return path


def job(path: Path) -> pipeline.Job:
    st = os.stat(path)
    return pipeline.Job(os.fsencode(path), st.st_size, st.st_mtime_ns)


def index(kit: Kit, files: list[Path]) -> Counter[str]:
    """What an index run does with these files (the scan aside): each one processed as
    on the decode pool, then written batch by batch; the stats it counted."""
    if kit.settings.model is None:
        kit.settings.model = MODEL
    embedder = kit.embedder
    stats: Counter[str] = Counter()
    writer = pipeline.BatchWriter(kit.catalog, kit.store.add, embedder, stats)
    side = max(embedder.loaded.image_size, imaging.THUMBNAIL_SIZE)
    for path in files:
        result = pipeline.process(job(path), writer.known_hashes().get, embedder.prepare,
                                  side, kit.home, embedder.prepare_parts)
        if writer.add(result, True):
            writer.flush()
    writer.flush()
    return stats


def put(kit: Kit, name: str, vector: np.ndarray, taken_at: str | None = None,
        sharpness: float | None = None) -> int:
    """A photo at ROOT/name with a chosen vector, straight into the catalog and the index
    (no file on disk: for what only the catalog decides)."""
    if kit.settings.model is None:
        kit.settings.model = MODEL
    path = os.fsencode(kit.root / name)
    with kit.catalog.transaction() as db:
        pid = kit.catalog.photos.add(db, PhotoMeta(
            hash=name, width=640, height=480, taken_at=taken_at, camera=None, format="JPEG",
            sharpness=sharpness))
        kit.catalog.files.put(db, path, 1000, 1, FileStatus.INDEXED, pid)
        kit.catalog.embeddings.put(db, pid, MODEL, vector)
        kit.catalog.words.put_names(db, [pid], kit.catalog.files.roots())
    kit.store.add(np.array([pid]), vector[None, :])
    return pid


def as_schema_6(catalog: Catalog, originals: dict[int, np.ndarray] | None = None) -> None:
    """Make the catalog what schema 6 wrote: float32 vectors (the `originals`, by photo id,
    where given; else the stored ones read back), user_version 6."""
    originals = originals or {}
    with catalog.transaction() as db:
        for pid, model in db.execute("SELECT photo_id, model FROM embeddings").fetchall():
            vector = originals.get(pid, catalog.embeddings.vector(pid, model))
            db.execute("UPDATE embeddings SET vector=? WHERE photo_id=? AND model=?",
                       (np.asarray(vector, np.float32).tobytes(), pid, model))
        # what the migrations after 6 added (each migration adds its own undo here)
        undo_after_10(db)
        db.execute("DROP TABLE crops")
        # 10: photo_words made again with a text column: back to three, rows kept
        db.execute("CREATE VIRTUAL TABLE words6 USING fts5(names, tags, caption, "
                   "tokenize='unicode61 remove_diacritics 2')")
        db.execute("INSERT INTO words6(rowid, names, tags, caption) "
                   "SELECT rowid, names, tags, caption FROM photo_words")
        db.execute("DROP TABLE photo_words")
        db.execute("ALTER TABLE words6 RENAME TO photo_words")
        for column in ("text", "text_by"):
            db.execute(f"ALTER TABLE photos DROP COLUMN {column}")
        for index in ("photos_place", "photos_locating", "photos_month"):
            db.execute(f"DROP INDEX {index}")
        for column in ("taken_from", "taken_offset", "lat", "lon", "country", "region",
                       "city", "located"):
            db.execute(f"ALTER TABLE photos DROP COLUMN {column}")
        db.execute("PRAGMA user_version=6")


def undo_after_10(db: sqlite3.Connection) -> None:
    """Undo what the migrations after 10 added (each adds its own undo here, newest
    first), inside the caller's transaction: a test that makes a catalog of schema 10 or
    before calls it."""
    # 13: people (faces, their descriptors and people, who looked at each photo)
    for table in ("not_person", "faces", "people"):
        db.execute(f"DROP TABLE {table}")
    db.execute("ALTER TABLE photos DROP COLUMN faces_by")
    # 12: videos (a video's duration, its keyframes' times)
    db.execute("ALTER TABLE photos DROP COLUMN duration")
    db.execute("ALTER TABLE crops DROP COLUMN at")


def text_vector(text: str) -> np.ndarray:
    """What the fake model makes of a text: a photo with this vector shows exactly it."""
    return FakeEmbedder(MODEL).encode_text(text)


def unrelated(to: np.ndarray, key: str) -> np.ndarray:
    """A unit vector with a cosine of exactly 0 to `to` (nothing in common)."""
    v = unit_vector(key.encode())
    v = v - (v @ to) * to
    return (v / np.linalg.norm(v)).astype(np.float32)


def blend(a: np.ndarray, b: np.ndarray, cos: float) -> np.ndarray:
    """A unit vector at cosine `cos` to `a`, leaning towards `b`."""
    b = b - (b @ a) * a
    b = b / np.linalg.norm(b)
    v = cos * a + np.sqrt(1 - cos * cos) * b
    return (v / np.linalg.norm(v)).astype(np.float32)
