"""The search language's filters as one SQL query over the photos table: dates (local
clock time, photos.taken_at, half-open), places (country, region or city), people (by
name), tags and sharpness. The ids come back newest first, the order a query of only
filters shows."""
from __future__ import annotations

from clipdesk.core.store.catalog.connection import Part


class Filters(Part):
    def matching(self, start: str | None = None, end: str | None = None,
                 months: tuple[int, ...] = (), places: list[str] | None = None,
                 tags: list[str] | None = None, blurry_below: float | None = None,
                 sharp_from: float | None = None, people: list[str] | None = None
                 ) -> list[int]:
        where: list[str] = ["1"]
        args: list[object] = []
        if start:
            where.append("taken_at >= ?")
            args.append(start)
        if end:
            where.append("taken_at < ?")
            args.append(end)
        if months:
            where.append(f"CAST(substr(taken_at, 6, 2) AS INTEGER) IN "
                         f"({','.join('?' * len(months))})")
            args += list(months)
        for place in places or []:
            where.append("(country = ? COLLATE NOCASE OR region = ? COLLATE NOCASE "
                         "OR city = ? COLLATE NOCASE)")
            args += [place] * 3
        for name in people or []:
            where.append("id IN (SELECT f.photo_id FROM faces f JOIN people p "
                         "ON p.id = f.person_id WHERE p.name = ? COLLATE NOCASE)")
            args.append(name)
        for tag in tags or []:
            where.append("id IN (SELECT photo_id FROM tags WHERE tag = ? "
                         "AND source <> 'removed')")
            args.append(tag.lower())
        if blurry_below is not None:
            where.append("sharpness < ?")
            args.append(blurry_below)
        if sharp_from is not None:
            where.append("sharpness >= ?")
            args.append(sharp_from)
        return [r[0] for r in self._db.execute(
            f"SELECT id FROM photos WHERE {' AND '.join(where)} "
            "ORDER BY taken_at IS NULL, taken_at DESC, id DESC", args)]
