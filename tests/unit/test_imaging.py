"""formats and imaging: what a file is by its content, one decode to a working size, and
readable reasons for the files that are not photos or are broken."""
from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from clipdesk.core.errors import DecodeError
from clipdesk.core.media import formats, imaging


def encoded(fmt: str, size: tuple[int, int] = (800, 600)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP"])
def test_the_format_comes_from_the_content(fmt):
    assert formats.sniff(encoded(fmt, (8, 8))) == fmt


@pytest.mark.parametrize("data,reason", [
    (b"<!DOCTYPE html><html>", "not a photo (looks like an HTML page)"),
    (b"%PDF-1.7\n", "not a photo"),
    (b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom", "not a photo (audio"),
])
def test_other_files_are_skipped_saying_what_they_look_like(data, reason):
    with pytest.raises(DecodeError, match=reason.replace("(", r"\(").replace(")", r"\)")) as info:
        formats.sniff(data)
    assert info.value.skipped


def test_an_empty_file_is_a_broken_photo_not_a_skipped_file():
    with pytest.raises(DecodeError, match="empty file") as info:
        formats.sniff(b"")
    assert not info.value.skipped


def test_one_decode_reduces_to_the_working_size_and_keeps_the_full_size():
    decoded = imaging.decode(encoded("JPEG", (1600, 1200)), 224)
    assert (decoded.width, decoded.height) == (1600, 1200)
    assert min(decoded.image.size) == 224 and decoded.image.mode == "RGB"
    assert decoded.format == "JPEG"


def test_a_cut_off_jpeg_is_a_broken_photo_with_a_reason_a_person_can_read():
    data = encoded("JPEG")
    with pytest.raises(DecodeError) as info:
        imaging.decode(data[: len(data) // 2], 224)
    assert not info.value.skipped
    assert "0x" not in info.value.reason  # no object reprs


def test_the_thumbnail_fits_its_box_and_is_a_jpeg():
    thumb = Image.open(io.BytesIO(imaging.thumbnail_jpeg(Image.new("RGB", (1000, 500)), 320)))
    assert thumb.format == "JPEG" and thumb.size == (320, 160)


def test_only_regular_files_are_read(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(DecodeError, match="not a regular file"):
        imaging.read_file(os.fsencode(tmp_path / "pipe"))
    (tmp_path / "a.jpg").write_bytes(b"abc")
    data, st = imaging.read_file(os.fsencode(tmp_path / "a.jpg"))
    assert data == b"abc" and st.st_size == 3


def test_library_messages_lose_reprs_and_bare_codes():
    assert imaging.plain("cannot identify image file <_io.BytesIO object at 0x7f3a>") == \
        "cannot identify image file the file"
    assert imaging.plain("decoder error -2") == "the image data is damaged"


def test_every_readable_format_has_an_opener():
    Image.init()  # imaging registered pillow-heif's HEIF opener at its import
    for fmt, plugins in formats.PILLOW_OPENERS.items():
        assert any(name in Image.OPEN for name in plugins), f"no Pillow opener for {fmt}"
