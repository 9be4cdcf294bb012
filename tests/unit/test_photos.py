"""photos: a file's photo however its path is written, the library's order (newest first
by date taken, or sharpest first), and what a person reads when a photo is not there."""
from __future__ import annotations

import os
import re
from datetime import datetime

import pytest

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.photos import decode_file
from clipdesk.core.types import Hit
from tests.unit.fakes import unit_vector
from tests.unit.kit import index, jpeg, put


def test_a_file_is_found_by_any_spelling_of_its_path(kit, monkeypatch):
    odd = kit.root / os.fsdecode(b"caf\xe9 trip")  # not UTF-8: a name from an old camera
    photo = jpeg(odd / "IMG_1.jpg")
    index(kit, [photo])
    pid = kit.photos.id_of(photo)
    assert kit.photos.id_of(os.fsencode(photo)) == pid
    assert kit.photos.id_of(str(photo)) == pid
    monkeypatch.chdir(odd)
    assert kit.photos.id_of("IMG_1.jpg") == pid  # relative to where the command runs
    assert kit.photos.info(pid).path == os.fsencode(photo)


def test_a_path_not_in_the_library_says_so(kit):
    elsewhere = jpeg(kit.root.parent / "elsewhere.jpg")
    assert kit.photos.find(elsewhere) is None
    with pytest.raises(ClipdeskError, match=f"^{re.escape(str(elsewhere))} is not in the library$"):
        kit.photos.id_of(elsewhere)


def test_the_library_is_newest_first_by_date_taken_undated_last(kit):
    files = [jpeg(kit.root / "2019.jpg", (250, 0, 0), taken_at="2019:07:01 10:00:00"),
             jpeg(kit.root / "undated.jpg", (0, 250, 0)),
             jpeg(kit.root / "2024.jpg", (0, 0, 250), taken_at="2024:01:02 08:00:00")]
    # no date in the photo: its file's time (2021) dates it
    when = datetime(2021, 3, 4, 5, 6, 7).timestamp()
    os.utime(files[1], (when, when))
    index(kit, files)
    old, by_file, new = (kit.photos.id_of(f) for f in files)
    undated = put(kit, "none.jpg", unit_vector(b"0"))  # no date at all (no file either)
    assert kit.photos.ids() == [new, by_file, old, undated]
    assert kit.photos.ids(sort="default") == [new, by_file, old, undated]  # the app's name
    info = kit.photos.info(by_file)
    assert (info.taken_at, info.taken_from) == ("2021-03-04T05:06:07", "file")
    assert kit.photos.info(new).taken_from == "exif"


def test_sharpest_first_on_request_and_within_a_tag(kit):
    soft = put(kit, "soft.jpg", unit_vector(b"1"), sharpness=0.2)
    crisp = put(kit, "crisp.jpg", unit_vector(b"2"), sharpness=0.9)
    unmeasured = put(kit, "new.jpg", unit_vector(b"3"))
    middling = put(kit, "mid.jpg", unit_vector(b"4"), sharpness=0.5)
    assert kit.photos.ids(sort="sharpness") == [crisp, middling, soft, unmeasured]
    for pid in (soft, middling):
        kit.tags.set(pid, "Beach")
    assert kit.photos.ids(tags=["beach"], sort="sharpness") == [middling, soft]
    with pytest.raises(ValueError):
        kit.photos.ids(sort="size")


def test_hits_carry_paths_and_skip_photos_gone_meanwhile(kit):
    a = put(kit, "a.jpg", unit_vector(b"a"), sharpness=0.3)
    b = put(kit, "b.jpg", unit_vector(b"b"), sharpness=0.8)
    hits = kit.photos.hits([(a, 0.9), (12345, 0.8), (b, 0.7)])
    assert hits == [Hit(a, os.fsencode(kit.root / "a.jpg"), 0.9),
                    Hit(b, os.fsencode(kit.root / "b.jpg"), 0.7)]
    assert [h.photo_id for h in kit.photos.by_sharpness(hits)] == [b, a]


def test_a_preview_of_a_deleted_file_says_what_is_wrong(kit):
    photo = jpeg(kit.root / "a.jpg", size=(2000, 1500))
    index(kit, [photo])
    pid = kit.photos.id_of(photo)
    assert min(kit.photos.preview(pid, side=600).size) >= 600
    photo.unlink()
    with pytest.raises(ClipdeskError, match=f"^{re.escape(str(photo))}: no such file$"):
        kit.photos.preview(pid)
    with pytest.raises(ClipdeskError, match="no longer in the library"):
        kit.photos.preview(999)


def test_decoding_a_broken_file_names_the_file_and_the_problem(tmp_path):
    page = tmp_path / "notes.jpg"
    page.write_bytes(b"<!DOCTYPE html><html></html>")
    with pytest.raises(ClipdeskError) as info:
        decode_file(os.fsencode(page), 224)
    assert str(info.value) == f"{page}: not a photo (looks like an HTML page)"


def test_a_photos_thumbnail_is_named_by_its_content(kit):
    photo = jpeg(kit.root / "a.jpg")
    index(kit, [photo])
    content = kit.photos.info(kit.photos.id_of(photo)).hash
    assert kit.photos.thumbnail(content).is_file()
