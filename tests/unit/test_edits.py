"""store.edits.Edits: each edit a person makes through a service (tags, captions, rejects)
is bookkept exactly once (counted before it is written, then followed up with the photos
it touched: their sidecars and a backup, in Library); a read is not an edit."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.store import edits
from tests.unit.fakes import unit_vector
from tests.unit.kit import Kit, put


def bookkept(kit: Kit, action: Callable[[], object]) -> tuple[int, list[list[int] | None]]:
    """(edits counted, the photo ids each follow-up was given) while `action` runs."""
    followed: list[list[int] | None] = []

    def done(photo_ids: Sequence[int] | None) -> None:
        followed.append(None if photo_ids is None else list(photo_ids))

    kit.edits.done = done
    before = edits.of_catalog(kit.catalog).edits
    action()
    return edits.of_catalog(kit.catalog).edits - before, followed


def test_each_edit_is_counted_once_and_followed_up_with_its_photos(kit):
    a, b = put(kit, "a.jpg", unit_vector(b"a")), put(kit, "b.jpg", unit_vector(b"b"))
    assert bookkept(kit, lambda: kit.tags.set(a, "beach")) == (1, [[a]])
    assert bookkept(kit, lambda: kit.tags.set(a, "beach", on=False)) == (1, [[a]])
    assert bookkept(kit, lambda: kit.tags.teach("boat", [a], [b])) == (1, [[a, b]])
    # a tag renamed or removed on every photo: no sidecar follows (None), a backup does
    assert bookkept(kit, lambda: kit.tags.rename("boat", "ship")) == (1, [None])
    assert bookkept(kit, lambda: kit.tags.remove("ship")) == (1, [None])
    assert bookkept(kit, lambda: kit.captions.set(b, "a red wall")) == (1, [[b]])
    assert bookkept(kit, lambda: kit.groups.reject([a, b])) == (1, [[a, b]])
    assert kit.edits.made


def test_reads_are_not_edits_and_a_refused_edit_is_counted_but_not_followed_up(kit):
    a = put(kit, "a.jpg", unit_vector(b"a"))
    for read in (lambda: kit.tags.of(a), kit.tags.counts, kit.tags.taught,
                 lambda: kit.captions.of(a), kit.groups.rejected, kit.groups.all):
        assert bookkept(kit, read) == (0, [])
    assert not kit.edits.made

    def refused() -> None:
        with pytest.raises(ClipdeskError):
            kit.tags.set(a, "a:b")
    # counted before the write (a kill there costs a backup too many, never one too few)
    assert bookkept(kit, refused) == (1, [])
