"""An older catalog is migrated on open, keeping what it knew."""
from __future__ import annotations

import sqlite3

from clipdesk.core.store.catalog import Catalog, schema


def test_a_version_1_catalog_is_migrated_with_its_words_and_tags(tmp_path):
    path = tmp_path / "catalog.sqlite"
    db = sqlite3.connect(path)
    db.executescript(schema.MIGRATIONS[1] + """
        INSERT INTO photos(id, hash, width, height, format, added_at)
            VALUES(1, 'abc', 4000, 3000, 'JPEG', 0);
        INSERT INTO files(path, size, mtime_ns, photo_id, status)
            VALUES(X'2F612F74726970', 1, 1, 1, 'indexed');
        INSERT INTO photo_text(rowid, names) VALUES(1, 'trip/IMG_1.jpg');
        INSERT INTO tags VALUES(1, 'beach', 'auto', 0.3), (1, 'dog', 'removed', NULL);
        PRAGMA user_version=1;
    """)
    db.close()
    cat = Catalog(path)
    try:
        assert cat._db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        assert cat.words.match('"trip"*') == {1}
        assert cat.words.match('"beach"*') == {1}
        assert cat.words.match('"dog"*') == set()  # a removed tag is not a word of the photo
        assert cat.quality.unmeasured() == [1]  # back-filled by the next index run
        assert cat.captions.get(1) == (None, None) and cat.groups.map() == {}
    finally:
        cat.close()
