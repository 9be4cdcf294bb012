"""When and where: dates with offsets and places from real EXIF (Pillow writes it),
the file's time for a photo with no date, GPS garbage giving no place, the timeline and
places counts, and libraries indexed before all this back-filled from headers only."""
from __future__ import annotations

import json
import os
from datetime import datetime

import pytest
from PIL.TiffImagePlugin import IFDRational

from clipdesk.core.library import Library
from clipdesk.core.media import imaging
from clipdesk.core.types import Month, Place
from tests.conftest import TINY_MODEL, run_cli, use_tiny_models
from tests.photolib import exif_bytes
from tests.synthetic import render

LISBON, PORTO, NEW_YORK = (38.7223, -9.1393), (41.1496, -8.6110), (40.7128, -74.0060)
ZERO = IFDRational(0, 0)


def shoot(folder, name, seed, **exif):
    """A JPEG with the EXIF a camera writes (exif_bytes's arguments)."""
    path = folder / name
    render(("red", "green", "blue", "yellow")[seed % 4], "circle", "white", (640, 480),
           seed=seed).save(path, quality=90, exif=exif_bytes(**exif))
    return path


@pytest.fixture
def folder(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    shoot(photos, "lisbon-1.jpg", 1, taken="2019:06:01 18:30:00", offset="+01:00", gps=LISBON)
    shoot(photos, "lisbon-2.jpg", 2, taken="2019:06:03 09:00:00", offset="+01:00",
          gps=(38.7139, -9.1334))
    shoot(photos, "porto.jpg", 3, taken="2019:08:15 12:00:00", gps=PORTO)
    shoot(photos, "nyc.jpg", 4, taken="2023:12:24 20:00:00", offset="-05:00", gps=NEW_YORK)
    # no fix: 0,0 ("null island"), zero denominators, no N/S reference, out of range
    shoot(photos, "null-island.jpg", 5, taken="2023:12:25 10:00:00", gps=(0.0, 0.0))
    shoot(photos, "zero-denominators.jpg", 6, taken="2023:12:26 10:00:00",
          gps_raw={1: "N", 2: (ZERO, ZERO, ZERO), 3: "E", 4: (ZERO, ZERO, ZERO)})
    shoot(photos, "no-reference.jpg", 7, gps_raw={2: (38, 0, 0), 4: (9, 0, 0)},
          taken="2023:12:27 10:00:00")
    shoot(photos, "out-of-range.jpg", 8, taken="2023:12:28 10:00:00",
          gps_raw={1: "N", 2: (95, 0, 0), 3: "E", 4: (200, 0, 0)})
    # no date in the photo: dated by its file (and an unset camera clock is no date)
    undated = shoot(photos, "undated.jpg", 9)
    unset = shoot(photos, "unset-clock.jpg", 10, taken="0000:00:00 00:00:00")
    for path, when in ((undated, datetime(2021, 3, 4, 5, 6, 7)),
                       (unset, datetime(2021, 3, 9, 10, 0, 0))):
        os.utime(path, (when.timestamp(), when.timestamp()))
    return photos


def index(lib: Library, photos) -> None:
    for _ in lib.index([str(photos)], model=TINY_MODEL):
        pass


def info(lib: Library, photos, name):
    found = lib.photos.info(lib.photos.id_of(photos / name))
    assert found is not None
    return found


def test_dates_offsets_and_places_come_from_the_photos_exif(folder, tmp_path):
    use_tiny_models(tmp_path / "home")
    lib = Library(tmp_path / "home")
    index(lib, folder)
    lisbon = info(lib, folder, "lisbon-1.jpg")
    assert (lisbon.taken_at, lisbon.taken_offset, lisbon.taken_from) == (
        "2019-06-01T18:30:00", "+01:00", "exif")
    assert lisbon.lat == pytest.approx(LISBON[0], abs=1e-4)
    assert lisbon.lon == pytest.approx(LISBON[1], abs=1e-4)
    assert (lisbon.country, lisbon.region, lisbon.city) == ("Portugal", "Lisbon", "Lisbon")
    nyc = info(lib, folder, "nyc.jpg")
    assert (nyc.taken_offset, nyc.country, nyc.city) == ("-05:00", "United States",
                                                         "New York City")
    assert info(lib, folder, "porto.jpg").taken_offset is None  # the camera wrote none
    for name in ("null-island.jpg", "zero-denominators.jpg", "no-reference.jpg",
                 "out-of-range.jpg"):
        bad = info(lib, folder, name)
        assert (bad.lat, bad.lon, bad.country, bad.city) == (None, None, None, None), name
        assert bad.taken_from == "exif"
    undated = info(lib, folder, "undated.jpg")
    assert (undated.taken_at, undated.taken_from) == ("2021-03-04T05:06:07", "file")
    assert info(lib, folder, "unset-clock.jpg").taken_at == "2021-03-09T10:00:00"
    assert lib.status().problems == 0  # garbage is no value, never an error

    assert lib.photos.timeline() == [Month(2023, 12, 5), Month(2021, 3, 2), Month(2019, 8, 1),
                                     Month(2019, 6, 2)]
    assert lib.photos.places() == [Place("Portugal", "Lisbon", "Lisbon", 2),
                                   Place("Portugal", "Porto", "Porto", 1),
                                   Place("United States", "New York", "New York City", 1)]
    assert {"Portugal", "Lisbon", "Porto", "New York City"} <= lib.photos.place_names()
    lib.close()

    home = str(tmp_path / "home")
    places = run_cli("--home", home, "places", "--json")
    assert places.rc == 0, places.err
    assert json.loads(places.out)[0] == {"country": "Portugal", "region": "Lisbon",
                                         "city": "Lisbon", "photos": 2}
    text = run_cli("--home", home, "places").out.splitlines()
    assert text[:3] == ["Portugal  3 photos", "  Lisbon, Lisbon  2 photos",
                        "  Porto, Porto  1 photo"]
    timeline = run_cli("--home", home, "timeline", "--json")
    assert json.loads(timeline.out)[0] == {"year": 2023, "month": 12, "photos": 5}
    assert run_cli("--home", home, "timeline").out.splitlines()[:3] == [
        "2023  5 photos", "  2023-12  5 photos", "2021  2 photos"]
    assert "GeoNames" in run_cli("places", "--help").out


def test_a_library_indexed_before_places_is_back_filled_from_headers_only(
        folder, tmp_path, monkeypatch):
    """Photos indexed before migration 9 have no GPS nor file dates: the next run reads
    their EXIF headers once (no pixel decode), and a run after that reads nothing."""
    from tests.unit.kit import as_schema_6

    home = tmp_path / "home"
    use_tiny_models(home)
    lib = Library(home)
    index(lib, folder)
    as_schema_6(lib.catalog)
    with lib.catalog.transaction() as db:  # as the old code wrote them
        db.execute("UPDATE photos SET taken_at=NULL WHERE taken_at LIKE '2021%'")
    lib.close()

    def no_decode(*args, **kwargs):
        raise AssertionError("decoded pixels for a back-fill")

    monkeypatch.setattr(imaging, "decode", no_decode)
    old = Library(home)
    assert old.photos.places() == []
    opened = []
    real_open = open

    def counting_open(path, *args, **kwargs):
        if isinstance(path, bytes) and path.endswith(b".jpg"):
            opened.append(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", counting_open)
    index(old, folder)
    assert len(opened) == 10
    assert [p.city for p in old.photos.places()] == ["Lisbon", "Porto", "New York City"]
    assert info(old, folder, "lisbon-1.jpg").taken_offset == "+01:00"
    assert info(old, folder, "undated.jpg").taken_from == "file"
    assert Month(2021, 3, 2) in old.photos.timeline()
    opened.clear()
    index(old, folder)
    assert opened == []  # once
    old.close()
