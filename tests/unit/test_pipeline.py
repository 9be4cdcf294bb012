"""pipeline: one file read, identified and decoded once (with its thumbnail), every
problem of one file a recorded reason; and BatchWriter, one transaction per batch."""
from __future__ import annotations

import errno
import os
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from clipdesk.core.errors import ClipdeskError, DiskFullError
from clipdesk.core.indexing import pipeline
from clipdesk.core.paths import thumbnail_path
from clipdesk.core.store.catalog import Catalog
from clipdesk.core.types import FileStatus
from tests.unit.fakes import FakeEmbedder
from tests.unit.kit import MODEL, job, jpeg

SIDE = 320
PREPARE = FakeEmbedder().prepare


def process(path: Path, home: Path, known: dict[str, int] | None = None,
            prepare=PREPARE) -> pipeline.Result:
    return pipeline.process(job(path), (known or {}).get, prepare, SIDE, home)


def test_a_photo_is_hashed_measured_and_thumbnailed_from_one_read(tmp_path):
    photo = jpeg(tmp_path / "a.jpg", size=(800, 600), taken_at="2024:06:01 12:30:00")
    result = process(photo, tmp_path)
    assert isinstance(result, pipeline.Prepared)
    meta = result.meta
    assert meta.hash == pipeline.content_hash(photo.read_bytes())
    assert (meta.width, meta.height, meta.format) == (800, 600, "JPEG")
    assert meta.taken_at == "2024-06-01T12:30:00"
    assert meta.sharpness is not None
    assert result.size == photo.stat().st_size
    thumb = Image.open(thumbnail_path(tmp_path, meta.hash))
    assert thumb.format == "JPEG" and max(thumb.size) == 320


def test_content_already_embedded_is_recognised_without_decoding(tmp_path):
    photo = jpeg(tmp_path / "moved.jpg")
    digest = pipeline.content_hash(photo.read_bytes())

    def prepare(image):
        raise AssertionError("decoded again")

    result = process(photo, tmp_path, {digest: 7}, prepare)
    assert result == pipeline.Known(os.fsencode(photo), photo.stat().st_size,
                                    photo.stat().st_mtime_ns, 7)
    assert not thumbnail_path(tmp_path, digest).exists()


def test_each_bad_file_gets_its_own_reason_and_kind(tmp_path):
    good = jpeg(tmp_path / "good.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(good[: len(good) // 2])
    (tmp_path / "page.jpg").write_bytes(b"<!DOCTYPE html><html><body>hi</body></html>")
    (tmp_path / "empty.jpg").write_bytes(b"")
    results = {name: process(tmp_path / name, tmp_path)
               for name in ("cut.jpg", "page.jpg", "empty.jpg")}
    assert all(isinstance(r, pipeline.Failed) for r in results.values())
    cut, page, empty = results.values()
    assert cut.status == FileStatus.ERROR and cut.reason.startswith("cannot decode JPEG")
    assert "0x" not in cut.reason and "-2" not in cut.reason
    # named as a photo: a photo that cannot be read, not "not a photo"
    assert (page.status, page.reason) == (
        FileStatus.ERROR, "damaged JPEG: no JPEG image data in the file (looks like an HTML page)")
    assert empty.status == FileStatus.ERROR and "empty file" in empty.reason
    assert not any(r.retry for r in results.values())  # the file's fault: not retried


def test_a_file_gone_before_it_was_read_is_retried_next_run(tmp_path):
    photo = jpeg(tmp_path / "a.jpg")
    queued = job(photo)
    photo.unlink()
    result = pipeline.process(queued, {}.get, PREPARE, SIDE, tmp_path)
    assert isinstance(result, pipeline.Failed)
    assert (result.status, result.reason, result.retry) == (
        FileStatus.ERROR, "file disappeared during indexing", True)


def test_an_unexpected_bug_costs_one_file_not_the_run(tmp_path):
    def prepare(image):
        raise RuntimeError("tensor <object at 0xdeadbeef> broke")

    result = process(jpeg(tmp_path / "a.jpg"), tmp_path, prepare=prepare)
    assert isinstance(result, pipeline.Failed) and result.status == FileStatus.ERROR
    assert result.reason == "internal error: RuntimeError: tensor the file broke"


def test_a_library_folder_that_cannot_take_thumbnails_stops_the_run(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thumbs").write_text("a file where the thumbnail folder should be")
    with pytest.raises(ClipdeskError, match=f"cannot write into {home}"):
        process(jpeg(tmp_path / "a.jpg"), home)
    full = pipeline.home_write_error(home, OSError(errno.ENOSPC, "No space left on device"))
    assert isinstance(full, DiskFullError)


# -- BatchWriter ------------------------------------------------------------------------


@pytest.fixture
def cat(tmp_path: Path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    catalog.files.add_roots([os.fsencode(tmp_path)])
    yield catalog
    catalog.close()


def writer_for(cat: Catalog, added: list) -> tuple[pipeline.BatchWriter, Counter[str]]:
    stats: Counter[str] = Counter()
    embedder = FakeEmbedder(MODEL)
    embedder.batch_size = 2
    return pipeline.BatchWriter(cat, lambda ids, v: added.append((ids, v)), embedder,
                                stats), stats


def test_a_batch_is_written_in_one_transaction_and_then_indexed(cat, tmp_path):
    added: list = []
    writer, stats = writer_for(cat, added)
    a, b = jpeg(tmp_path / "a.jpg", (200, 0, 0)), jpeg(tmp_path / "b.jpg", (0, 0, 200))
    assert not writer.add(process(a, tmp_path), True)
    assert writer.add(process(b, tmp_path), True)  # batch_size reached: time to write
    other = Catalog(tmp_path / "catalog.sqlite")  # what another process sees
    assert other.files.counts()["photos"] == 0  # nothing is written before the flush
    writer.flush()
    assert other.files.counts() == {"photos": 2, "files": 2, "problems": 0, "ignored": 0,
                                    "videos": 0}
    other.close()
    (ids, vectors), = added
    assert sorted(ids.tolist()) == sorted(cat.embeddings.ids(MODEL))
    stored = dict(zip(*cat.embeddings.vectors(MODEL), strict=True))
    # stored as int8 codes: the same direction, to the 4th decimal of the cosine
    assert all(stored[i] @ v > 0.999 for i, v in zip(ids.tolist(), vectors, strict=True))
    assert (stats["new"], stats["embedded"]) == (2, 2)
    assert cat.words.match('"a"*') == {cat.files.photo_for(os.fsencode(a))[0]}  # named


def test_a_failure_while_writing_loses_the_whole_batch_and_nothing_else(cat, tmp_path,
                                                                        monkeypatch):
    added: list = []
    writer, _ = writer_for(cat, added)
    writer.add(process(jpeg(tmp_path / "kept.jpg", (9, 9, 9)), tmp_path), True)
    writer.flush()
    writer.add(process(jpeg(tmp_path / "a.jpg", (200, 0, 0)), tmp_path), True)
    writer.add(process(tmp_path / "kept.jpg", tmp_path), True)  # any other file

    def broken(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(cat.words, "put_names", broken)  # the last step of the transaction
    with pytest.raises(OSError):
        writer.flush()
    assert cat.files.counts() == {"photos": 1, "files": 1, "problems": 0, "ignored": 0, "videos": 0}
    assert len(added) == 1  # the index never got the lost batch's vector


def test_the_same_bytes_twice_in_one_batch_are_one_photo_with_two_files(cat, tmp_path):
    added: list = []
    writer, stats = writer_for(cat, added)
    original = jpeg(tmp_path / "a.jpg")
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(original.read_bytes())
    writer.add(process(original, tmp_path), True)
    writer.add(process(copy, tmp_path), True)  # both decoded: neither was known yet
    writer.flush()
    assert cat.files.counts() == {"photos": 1, "files": 2, "problems": 0, "ignored": 0, "videos": 0}
    assert (stats["new"], stats["copies"], stats["embedded"]) == (1, 1, 1)
    (ids, _), = added
    assert ids.tolist() == [cat.files.photo_for(os.fsencode(copy))[0]]


def test_known_content_at_a_new_path_is_moved_only_when_an_old_path_vanished(cat, tmp_path):
    writer, _ = writer_for(cat, [])
    old = jpeg(tmp_path / "old.jpg")
    writer.add(process(old, tmp_path), True)
    writer.flush()
    pid = cat.files.photo_for(os.fsencode(old))[0]
    stats: Counter[str] = Counter()
    writer = pipeline.BatchWriter(cat, None, FakeEmbedder(MODEL), stats,
                                  vanished=frozenset({os.fsencode(old)}))
    known = writer.known_hashes()
    for name in ("new-home.jpg", "another.jpg"):
        (tmp_path / name).write_bytes(old.read_bytes())
        writer.add(process(tmp_path / name, tmp_path, known), True)
    writer.flush()
    assert (stats["moved"], stats["copies"]) == (1, 1)
    assert cat.files.photo_for(os.fsencode(tmp_path / "new-home.jpg"))[0] == pid


def test_problems_are_recorded_with_their_reason_and_retry_flag(cat, tmp_path):
    writer, stats = writer_for(cat, [])
    (tmp_path / "page.jpg").write_bytes(b"<html><body>hi</body></html>")
    gone = jpeg(tmp_path / "gone.jpg")
    queued = job(gone)
    gone.unlink()
    writer.add(process(tmp_path / "page.jpg", tmp_path), True)
    writer.add(pipeline.process(queued, {}.get, PREPARE, SIDE, tmp_path), True)
    writer.flush()
    problems = {os.path.basename(p.path): p.reason for p in cat.files.problems()}
    assert problems == {
        b"page.jpg": "damaged JPEG: no JPEG image data in the file (looks like an HTML page)",
        b"gone.jpg": "file disappeared during indexing"}
    assert stats["problems"] == 2
    assert cat.files.under(os.fsencode(tmp_path))[os.fsencode(gone)].retry



JXL_CODESTREAM = b"\xff\x0a\xfa\x7f\x01\x90\x08\x06\x01\x00\x48\x00\x4b\x38"
JXL_CONTAINER = (b"\x00\x00\x00\x0cJXL \r\n\x87\n\x00\x00\x00\x14ftypjxl "
                 b"\x00\x00\x00\x00jxl ")


@pytest.mark.parametrize("name,data", [
    ("LICENSE", b"MIT License\n\nCopyright (c) 2026\n"),
    ("README.md", b"# Holiday 2026\n\nThe good ones are in best/.\n"),
    ("IMG_1.jpg.xmp", b"<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>\n<x:xmpmeta/>"),
    ("IMG_2.JPG.XMP", b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"),
    ("IMG_1.pp3", b"[Version]\nAppVersion=5.9\n"),
    ("album.json", b'{"title": "Holiday"}'),
    ("song.m4a", b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom" + bytes(100)),
    ("thumbs.db", bytes(range(256)) * 4),
    ("empty-notes.txt", b""),
])
def test_a_file_that_is_not_a_photo_is_skipped_not_a_problem(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    result = process(tmp_path / name, tmp_path)
    assert isinstance(result, pipeline.Failed)
    assert result.status == FileStatus.SKIPPED and result.reason.startswith("not a photo")


@pytest.mark.parametrize("name,data,reason", [
    ("a.jxl", JXL_CODESTREAM, "unsupported photo format (JPEG XL)"),
    ("b.jxl", JXL_CONTAINER, "unsupported photo format (JPEG XL)"),
    ("no-extension", JXL_CODESTREAM, "unsupported photo format (JPEG XL)"),  # by content
    ("c.jxl", b"garbage, not JPEG XL", "unsupported photo format (JPEG XL)"),  # by name
    ("d.psd", b"8BPS\x00\x01" + bytes(40), "unsupported photo format (Photoshop PSD)"),
    ("e.x3f", b"FOVb" + bytes(40), "unsupported photo format (camera raw, Sigma X3F)"),
])
def test_a_photo_format_this_version_cannot_read_is_a_problem_saying_which(
        tmp_path, name, data, reason):
    (tmp_path / name).write_bytes(data)
    result = process(tmp_path / name, tmp_path)
    assert isinstance(result, pipeline.Failed)
    assert (result.status, result.reason) == (FileStatus.ERROR, reason)
    assert not result.retry


@pytest.mark.parametrize("name,data", [
    ("DSC_1.NEF", b"MM\x00*\x00\x00\x00\x08" + bytes(60)),  # most raws are TIFF inside
    ("e.cr3", b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom"),
    ("f.RAF", b"FUJIFILMCCD-RAW 0201FF383501"),
])
def test_a_camera_raw_that_does_not_decode_says_so(tmp_path, name, data):
    """Read with LibRaw (tests/unit/test_raw.py has the real ones): its reason is LibRaw's."""
    (tmp_path / name).write_bytes(data)
    result = process(tmp_path / name, tmp_path)
    assert isinstance(result, pipeline.Failed) and result.status == FileStatus.ERROR
    assert result.reason.startswith("cannot decode camera raw: ")


def test_a_jpeg_without_a_photo_name_is_still_a_photo(tmp_path):
    (tmp_path / "IMG_0001").write_bytes(jpeg(tmp_path / "a.jpg").read_bytes())
    assert isinstance(process(tmp_path / "IMG_0001", tmp_path), pipeline.Prepared)


def test_ignored_files_and_problems_are_counted_apart(cat, tmp_path):
    writer, stats = writer_for(cat, [])
    (tmp_path / "README").write_text("not a photo\n")
    (tmp_path / "x.jxl").write_bytes(JXL_CODESTREAM)
    for name in ("README", "x.jxl"):
        writer.add(process(tmp_path / name, tmp_path), True)
    writer.flush()
    assert (stats["problems"], stats["ignored"]) == (1, 1)
    assert [os.path.basename(p.path) for p in cat.files.problems()] == [b"x.jxl"]
    assert cat.files.counts() == {"photos": 0, "files": 0, "problems": 1, "ignored": 1, "videos": 0}


def test_a_big_damaged_video_is_a_problem_and_a_big_photo_too(tmp_path):
    """Sparse 1.5 GB files: a video's keyframes are sought, never the whole file read (no
    picture in this one: a problem saying so); a .jpg that size is a photo over the
    limit."""
    for name, head in (("clip.mov", b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  "),
                       ("huge.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")):
        with open(tmp_path / name, "wb") as f:
            f.write(head)
            f.truncate(3 << 29)
    video = process(tmp_path / "clip.mov", tmp_path)
    photo = process(tmp_path / "huge.jpg", tmp_path)
    assert isinstance(video, pipeline.Failed) and video.status == FileStatus.ERROR
    assert video.reason.startswith("damaged QuickTime video")
    assert isinstance(photo, pipeline.Failed) and photo.status == FileStatus.ERROR
    assert photo.reason == "file is 1536 MB, over the 1 GB limit"
