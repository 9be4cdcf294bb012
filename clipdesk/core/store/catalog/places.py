"""When and where each photo was taken: the timeline and places counts, and the state
of the back-fill (photos.located: 0 the EXIF header still to be read again, 1 GPS read
but not named yet, 2 done; see schema migration 9).

Each count is one grouped query (photos_month, photos_place): the sidebar asks for them
after every change of the library, at 100k photos too."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from clipdesk.core.store.catalog.connection import Part
from clipdesk.core.types import Month, Place

# located
HEADER_DUE, NAMING_DUE, LOCATED = 0, 1, 2


class Places(Part):
    def timeline(self) -> list[Month]:
        """(year, month, photos), newest month first; photos without a date are left out."""
        rows = self._db.execute(
            "SELECT substr(taken_at, 1, 7) AS m, count(*) FROM photos "
            "WHERE taken_at IS NOT NULL GROUP BY m ORDER BY m DESC")
        out = []
        for month, count in rows:
            year, _, number = month.partition("-")
            if year.isdigit() and number.isdigit():
                out.append(Month(int(year), int(number), count))
        return out

    def places(self) -> list[Place]:
        """(country, region, city, photos) for every named place, by country then city."""
        return [Place(*row) for row in self._db.execute(
            "SELECT country, region, city, count(*) FROM photos WHERE country IS NOT NULL "
            "GROUP BY country, region, city "
            "ORDER BY country COLLATE NOCASE, city COLLATE NOCASE, region COLLATE NOCASE")]

    def headers_due(self, limit: int) -> list[tuple[int, bytes, int]]:
        """(photo, one of its files, that file's mtime_ns) for photos whose EXIF header
        is to be read again (indexed before migration 9)."""
        return self._db.execute(
            "SELECT p.id, min(f.path), f.mtime_ns FROM photos p JOIN files f "
            "ON f.photo_id=p.id AND f.status='indexed' WHERE p.located=0 "
            "GROUP BY p.id ORDER BY p.id LIMIT ?", (limit,)).fetchall()

    def count_headers_due(self) -> int:
        return int(self._db.execute(
            "SELECT count(*) FROM photos WHERE located=0").fetchone()[0])

    def set_when_where(self, found: Sequence[tuple[int, str | None, str | None, str | None,
                                                   float | None, float | None]]) -> None:
        """(photo, taken_at, taken_from, taken_offset, lat, lon) read again from the
        header; photos with GPS are left to be named."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE photos SET taken_at=?, taken_from=?, taken_offset=?, lat=?, lon=?, "
                "located=CASE WHEN ? IS NULL THEN 2 ELSE 1 END WHERE id=?",
                [(t, src, off, lat, lon, lat, pid) for pid, t, src, off, lat, lon in found])

    def skip_headers(self, photo_ids: Iterable[int]) -> None:
        """Photos whose file could not be read: their dates stay as they were."""
        with self._transaction() as db:
            db.executemany("UPDATE photos SET located=2 WHERE id=? AND located=0",
                           [(i,) for i in photo_ids])

    def naming_due(self) -> list[tuple[int, float, float]]:
        """(photo, lat, lon) of the photos with GPS whose place is not named yet."""
        return self._db.execute(
            "SELECT id, lat, lon FROM photos WHERE located=1 AND lat IS NOT NULL "
            "AND lon IS NOT NULL ORDER BY id").fetchall()

    def set_names(self, named: Sequence[tuple[int, str | None, str | None, str | None]]
                  ) -> None:
        """(photo, country, region, city); None: no place there (the open sea)."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE photos SET country=?, region=?, city=?, located=2 WHERE id=?",
                [(c, r, city, pid) for pid, c, r, city in named])

    def forget_names(self) -> None:
        """Name every photo's place again (other place data)."""
        with self._transaction() as db:
            db.execute("UPDATE photos SET located=1 WHERE located=2 AND lat IS NOT NULL")

    def names(self) -> set[str]:
        """Every country, region and city name the library holds."""
        rows = self._db.execute(
            "SELECT country FROM photos WHERE country IS NOT NULL UNION "
            "SELECT region FROM photos WHERE region IS NOT NULL UNION "
            "SELECT city FROM photos WHERE city IS NOT NULL")
        return {r[0] for r in rows}
