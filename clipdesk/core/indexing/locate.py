"""The when-and-where step of an index run: photos indexed before dates and places were
kept get their EXIF header read again (no pixels decoded: about a millisecond a photo),
once; then every photo with GPS not named yet is named offline in one batch
(media/places.py). Cancellable between batches: what is committed stays done."""
from __future__ import annotations

from collections.abc import Iterator

from clipdesk.core.indexing.pipeline import file_time
from clipdesk.core.media import exif, places
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.types import Phase, Progress

BATCH = 200
NAMING_BATCH = 5000
PLACES_VERSION_KEY = "places_version"


def locating(catalog: Catalog) -> Iterator[Progress]:
    """Read the headers due, then name the places due."""
    if catalog.meta.get(PLACES_VERSION_KEY) != places.VERSION:
        # other place data or rules: every place is named again
        catalog.places.forget_names()
        catalog.meta.set(PLACES_VERSION_KEY, places.VERSION)
    yield from _read_headers(catalog)
    due = catalog.places.naming_due()
    if not due:
        return
    if not places.available():  # logged once; the photos stay due for a later run
        return
    for start in range(0, len(due), NAMING_BATCH):
        chunk = due[start:start + NAMING_BATCH]
        yield Progress(Phase.PLACES, done=start, total=len(due), message="Naming places…")
        names = places.name([(lat, lon) for _, lat, lon in chunk])
        catalog.places.set_names([(pid, *n) for (pid, _, _), n in zip(chunk, names,
                                                                     strict=True)])


def _read_headers(catalog: Catalog) -> Iterator[Progress]:
    total = catalog.places.count_headers_due()
    done = 0
    while total:  # each batch leaves located 0: the loop ends
        batch = catalog.places.headers_due(BATCH)
        if not batch:
            return
        yield Progress(Phase.PLACES, done=done, total=total,
                       message=f"Reading dates and places… {done:,} of {total:,}")
        found, unreadable = [], []
        for pid, path, mtime_ns in batch:
            try:
                facts = exif.read_header(path)
            except OSError:  # gone or unreadable now: the next index run sees to the file
                unreadable.append(pid)
                continue
            taken_at, offset = facts.taken_at, facts.taken_offset
            taken_from: str | None = "exif"
            if taken_at is None:
                taken_at, taken_from, offset = file_time(mtime_ns)
            found.append((pid, taken_at, taken_from if taken_at else None, offset,
                          facts.lat, facts.lon))
        if any(lat is not None for *_, lat, _ in found):
            places.warm_up()
        catalog.places.set_when_where(found)
        catalog.places.skip_headers(unreadable)
        done += len(batch)
