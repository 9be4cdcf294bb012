"""media/exif.py on what cameras really write, good and broken (no model, no library)."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from clipdesk.core.media import exif
from tests.photolib import exif_bytes


def facts_of(tmp_path, **written) -> exif.Facts:
    path = tmp_path / "a.jpg"
    Image.new("RGB", (32, 24), "red").save(path, exif=exif_bytes(**written))
    return exif.read_header(bytes(path))


@pytest.mark.parametrize(("written", "read"), [
    ("2019:06:01 14:03:22", "2019-06-01T14:03:22"),
    ("2019:06:01 14:03:22\x00", "2019-06-01T14:03:22"),
    ("2019-06-01 14:03:22", "2019-06-01T14:03:22"),
    ("0000:00:00 00:00:00", None),  # an unset clock
    ("    :  :     :  :  ", None),
    ("2019:13:45 99:00:00", None),
    ("1601:01:01 00:00:00", None),
])
def test_dates(written, read):
    assert exif.clock_time(written) == read


@pytest.mark.parametrize(("written", "read"), [
    ("+02:00", "+02:00"), ("-05:30", "-05:30"), ("+14:00", "+14:00"),
    ("+15:00", None), ("+02:75", None), ("02:00", None), ("", None), (None, None),
])
def test_offsets(written, read):
    assert exif.utc_offset(written) == read


def test_southern_and_western_gps_is_negative(tmp_path):
    found = facts_of(tmp_path, taken="2020:01:02 03:04:05", offset="-03:00",
                     gps=(-22.9068, -43.1729))
    assert found.lat == pytest.approx(-22.9068, abs=1e-4)
    assert found.lon == pytest.approx(-43.1729, abs=1e-4)
    assert (found.taken_at, found.taken_offset) == ("2020-01-02T03:04:05", "-03:00")


@pytest.mark.parametrize("gps", [
    {1: "N", 2: (IFDRational(1, 0), 0, 0), 3: "E", 4: (9, 0, 0)},  # zero denominator
    {1: "X", 2: (38, 0, 0), 3: "E", 4: (9, 0, 0)},  # no such reference
    {1: "N", 2: (38, 75, 0), 3: "E", 4: (9, 0, 0)},  # 75 minutes
    {1: "N", 2: (38, 0, 0)},  # no longitude
    {1: "N", 2: (0, 0, 0), 3: "E", 4: (0, 0, 0)},  # no fix
])
def test_broken_gps_is_no_place(tmp_path, gps):
    found = facts_of(tmp_path, gps_raw=gps)
    assert (found.lat, found.lon) == (None, None)


def test_a_file_without_exif_or_not_a_photo_gives_no_facts(tmp_path):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    assert exif.read_header(bytes(plain)) == exif.Facts()
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert exif.read_header(bytes(notes)) == exif.Facts()
    damaged = tmp_path / "damaged.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", exif=exif_bytes(taken="2019:01:01 00:00:00"))
    damaged.write_bytes(buf.getvalue()[:40])
    assert exif.read_header(bytes(damaged)).lat is None
