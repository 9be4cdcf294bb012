"""The catalog's schema: one migration a version, run in order when a catalog opens.

The tables: meta (settings), roots, photos (with their quality, group, caption and nsfw
score), files (each path on disk and the photo it shows, or why it is not one),
photo_words (FTS5 search text, with the text read in photos), tags, examples and
taught (tags taught by example) and embeddings. A released migration never changes what
it does: a catalog written by any earlier version must open, and open the same.
"""
from __future__ import annotations

import sqlite3
from contextlib import suppress

import numpy as np

from clipdesk.core.errors import CatalogError
from clipdesk.core.store.catalog.connection import Connection
from clipdesk.core.store.catalog.embeddings import pack_vector

SCHEMA_VERSION = 14

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE roots(path BLOB PRIMARY KEY);
    CREATE TABLE photos(
        -- AUTOINCREMENT: an id is never reused, so a stale vector can never alias a new photo
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        hash TEXT NOT NULL UNIQUE,
        width INTEGER, height INTEGER,
        taken_at TEXT, camera TEXT, format TEXT,
        added_at REAL NOT NULL
    );
    CREATE TABLE files(
        id INTEGER PRIMARY KEY,
        path BLOB NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        photo_id INTEGER REFERENCES photos(id) ON DELETE SET NULL,
        status TEXT NOT NULL CHECK(status IN ('indexed', 'skipped', 'error')),
        reason TEXT
    );
    CREATE INDEX files_photo ON files(photo_id);
    CREATE INDEX photos_taken ON photos(taken_at DESC, id DESC);
    -- words of each photo's file and folder names (relative to its root), for FTS5 search
    CREATE VIRTUAL TABLE photo_text USING fts5(names, tokenize="unicode61 remove_diacritics 2");
    -- source: auto (zero-shot), manual (a person added it), removed (a person took it off)
    CREATE TABLE tags(
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        source TEXT NOT NULL CHECK(source IN ('auto', 'manual', 'removed')),
        score REAL,
        PRIMARY KEY(photo_id, tag)
    );
    CREATE INDEX tags_tag ON tags(tag);
    -- tags taught by example: a person's yes (1) / no (0) answers, and the newest photo
    -- the tag was taught with (photos after it are tagged by the classifier as they come)
    CREATE TABLE examples(
        tag TEXT NOT NULL,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        label INTEGER NOT NULL CHECK(label IN (0, 1)),
        PRIMARY KEY(tag, photo_id)
    );
    CREATE TABLE taught(tag TEXT PRIMARY KEY, until_photo INTEGER NOT NULL);
    CREATE TABLE embeddings(
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY(photo_id, model)
    );
    """,
    2: """
    -- a photo's caption, and who wrote it: the captioning model's id, or 'manual'
    ALTER TABLE photos ADD COLUMN caption TEXT;
    ALTER TABLE photos ADD COLUMN caption_by TEXT;
    -- the searchable words of each photo: file and folder names, tags, caption
    CREATE VIRTUAL TABLE photo_words USING fts5(names, tags, caption,
        tokenize="unicode61 remove_diacritics 2");
    INSERT INTO photo_words(rowid, names, tags) SELECT rowid, names,
        (SELECT group_concat(tag, ' ') FROM tags WHERE photo_id=photo_text.rowid
         AND source<>'removed') FROM photo_text;
    DROP TABLE photo_text;
    """,
    3: """
    -- quality (see quality.py): NULL until measured (old photos are back-filled)
    ALTER TABLE photos ADD COLUMN sharpness REAL;
    ALTER TABLE photos ADD COLUMN motion INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE photos ADD COLUMN clipped REAL;
    ALTER TABLE photos ADD COLUMN crushed REAL;
    -- a person's "not this one" in a group (the file is never touched)
    ALTER TABLE photos ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
    -- burst or near-duplicate group: the smallest photo id in it, NULL when alone
    ALTER TABLE photos ADD COLUMN group_id INTEGER;
    CREATE INDEX photos_group ON photos(group_id) WHERE group_id IS NOT NULL;
    """,
    4: """
    -- 1: the failure came from the environment (permission, I/O, a vanished mount), not
    -- from the file's content: retried on every run, and the file keeps its photo meanwhile
    ALTER TABLE files ADD COLUMN retry INTEGER NOT NULL DEFAULT 0;
    """,
    5: """
    -- 'skipped' now means "not a photo" (ignored quietly, counted) and 'error' a problem
    -- (a photo that cannot be read). Files recorded before told them apart by content
    -- only (a .jxl was "not a photo", an empty notes file a problem): look at each once
    -- more on the next run. Only their first bytes are read when they are not photos.
    UPDATE files SET retry=1 WHERE status<>'indexed' AND retry=0;
    """,
    6: """
    -- open_nsfw's P(nsfw) on the indexing decode (see nsfw.py), NULL until measured
    ALTER TABLE photos ADD COLUMN nsfw REAL;
    """,
    7: """
    -- vectors were float32 (a 2 KB vector took a whole 4 KB page), now int8 codes: see
    -- pack_vector (float32_to_int8 is that function, given to SQLite in migrate)
    UPDATE embeddings SET vector=float32_to_int8(vector);
    """,
    8: """
    -- the whole frame (see media/crops.py): a vector for each extra square of a photo
    -- (the ends of a non-square photo's long side), by model. part: the square's place
    -- along the long side. The centre square stays the photo's vector in embeddings.
    CREATE TABLE crops(
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        part INTEGER NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY(photo_id, model, part)
    );
    CREATE INDEX crops_model ON crops(model, photo_id);
    """,
    9: """
    -- when and where a photo was taken. taken_at stays the local clock time
    -- ('YYYY-MM-DDTHH:MM:SS'), and taken_from says where it came from: 'exif' (the camera's
    -- DateTimeOriginal) or 'file' (no date in the photo: its file's modification time)
    ALTER TABLE photos ADD COLUMN taken_from TEXT;
    -- the camera's UTC offset for taken_at ('+02:00', from OffsetTimeOriginal), NULL unknown
    ALTER TABLE photos ADD COLUMN taken_offset TEXT;
    -- EXIF GPS in degrees, and the place it names offline (GeoNames, see media/places.py)
    ALTER TABLE photos ADD COLUMN lat REAL;
    ALTER TABLE photos ADD COLUMN lon REAL;
    ALTER TABLE photos ADD COLUMN country TEXT;
    ALTER TABLE photos ADD COLUMN region TEXT;
    ALTER TABLE photos ADD COLUMN city TEXT;
    CREATE INDEX photos_place ON photos(country, region, city) WHERE country IS NOT NULL;
    UPDATE photos SET taken_from='exif' WHERE taken_at IS NOT NULL;
    -- how far when and where are known (see catalog/places.py): 0 the photo came before
    -- this migration (its EXIF header is read again once, no pixels decoded), 1 its GPS is
    -- read but not yet named, 2 done
    ALTER TABLE photos ADD COLUMN located INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX photos_locating ON photos(located) WHERE located<2;
    CREATE INDEX photos_month ON photos(substr(taken_at, 1, 7)) WHERE taken_at IS NOT NULL;
    """,
    10: """
    -- text read in the photo by OCR (see models/ocr.py), and which reader read it:
    -- text_by NULL means not read yet, text NULL with text_by set means read, no text found
    ALTER TABLE photos ADD COLUMN text TEXT;
    ALTER TABLE photos ADD COLUMN text_by TEXT;
    -- FTS5 cannot add a column: photo_words is made again with a text column, keeping rows
    CREATE VIRTUAL TABLE photo_words_new USING fts5(names, tags, caption, text,
        tokenize="unicode61 remove_diacritics 2");
    INSERT INTO photo_words_new(rowid, names, tags, caption)
        SELECT rowid, names, tags, caption FROM photo_words;
    DROP TABLE photo_words;
    ALTER TABLE photo_words_new RENAME TO photo_words;
    """,
    11: """
    -- camera raws (media/raw.py): those an older clipdesk could not read (a problem
    -- "unsupported photo format (camera raw, ...)", not retried) are read once more on
    -- the next run
    UPDATE files SET retry=1 WHERE status='error' AND retry=0
        AND reason LIKE 'unsupported photo format (camera raw%'
    """,
    12: """
    -- videos (see media/video.py): a video is a photo whose vector is its poster frame;
    -- duration in seconds (NULL for a still photo)
    ALTER TABLE photos ADD COLUMN duration REAL;
    -- its keyframes are parts in crops (part 1 the poster frame), each with its time in
    -- seconds from the start (NULL for the extra squares of a still photo)
    ALTER TABLE crops ADD COLUMN at REAL;
    -- videos were ignored ('skipped') before: every ignored file is looked at once more
    -- on the next run (only the first bytes of what is still not a photo are read)
    UPDATE files SET retry=1 WHERE status='skipped' AND retry=0;
    """,
    13: """
    -- people (see organize/people.py): faces found in photos, each with its box (x0 y0 x1 y1,
    -- fractions of the upright photo) and dlib's 128-d descriptor (float32), grouped into people.
    -- chosen 1: a person put the face in person_id (naming, merging, moving): re-grouping
    -- never changes it. not_person: a person's "not this person" for a face.
    CREATE TABLE people(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);
    CREATE TABLE faces(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
        descriptor BLOB NOT NULL,
        person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
        chosen INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX faces_photo ON faces(photo_id);
    CREATE INDEX faces_person ON faces(person_id);
    CREATE TABLE not_person(
        face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        PRIMARY KEY(face_id, person_id)
    );
    -- the face finder that looked at the photo (models/faces.py FINDER_ID), NULL not yet
    ALTER TABLE photos ADD COLUMN faces_by TEXT;
    """,
    14: """
    -- the whole frame's end parts are strips now, not whole squares (media/crops.py
    -- END_SHARE): the parts of still photos are dropped and the next index run makes them
    -- again (indexing/backfill.py). A video's keyframes (at NOT NULL) stay
    DELETE FROM crops WHERE at IS NULL
    """,
}


def migrate(connection: Connection) -> None:
    """Bring the catalog up to SCHEMA_VERSION (refusing one from a newer clipdesk)."""
    db = connection._db
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise CatalogError(
            f"{connection.path} was written by a newer clipdesk (schema {version}); "
            "upgrade clipdesk or use another --home"
        )
    # migration 7 converts the float32 vectors before it
    db.create_function("float32_to_int8", 1, lambda blob: pack_vector(
        np.frombuffer(blob, np.float32)), deterministic=True)
    migrated = False
    db.execute("PRAGMA busy_timeout=600000")  # another process upgrading: wait
    for target in range(version + 1, SCHEMA_VERSION + 1):
        with connection.transaction() as tx:
            # another process opening the same old catalog may have migrated since
            # the read above: re-read under the write lock, or vectors convert twice
            if tx.execute("PRAGMA user_version").fetchone()[0] >= target:
                continue
            for statement in MIGRATIONS[target].split(";"):
                if statement.strip():
                    tx.execute(statement)
            tx.execute(f"PRAGMA user_version={target}")
            migrated = True
    db.execute("PRAGMA busy_timeout=30000")
    if migrated and version > 0:
        # an upgraded library: repack its pages once (7 left each float32 vector's page
        # holding a quarter-size row). With no room on disk for that, it works unpacked.
        with suppress(sqlite3.OperationalError):
            db.execute("VACUUM")
