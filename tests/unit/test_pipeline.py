"""pipeline: one file read, identified and decoded once (with its thumbnail), every
problem of one file a recorded reason; and BatchWriter, one transaction per batch."""
from __future__ import annotations

import errno
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipdesk.core import pipeline
from clipdesk.core.catalog import Catalog
from clipdesk.core.errors import ClipdeskError, DiskFullError
from clipdesk.core.paths import thumbnail_path
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
    assert (page.status, page.reason) == (FileStatus.SKIPPED,
                                         "not a photo (looks like an HTML page)")
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
    catalog.add_roots([os.fsencode(tmp_path)])
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
    assert other.counts()["photos"] == 0  # nothing is written before the flush
    writer.flush()
    assert other.counts() == {"photos": 2, "files": 2, "problems": 0}
    other.close()
    (ids, vectors), = added
    assert sorted(ids.tolist()) == sorted(cat.embedding_ids(MODEL))
    stored = dict(zip(*cat.vectors(MODEL), strict=True))
    assert all(np.allclose(stored[i], v) for i, v in zip(ids.tolist(), vectors, strict=True))
    assert (stats["new"], stats["embedded"]) == (2, 2)
    assert cat.match_words('"a"*') == {cat.photo_for_path(os.fsencode(a))[0]}  # named


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

    monkeypatch.setattr(cat, "put_names", broken)  # the last step of the transaction
    with pytest.raises(OSError):
        writer.flush()
    assert cat.counts() == {"photos": 1, "files": 1, "problems": 0}
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
    assert cat.counts() == {"photos": 1, "files": 2, "problems": 0}
    assert (stats["new"], stats["copies"], stats["embedded"]) == (1, 1, 1)
    (ids, _), = added
    assert ids.tolist() == [cat.photo_for_path(os.fsencode(copy))[0]]


def test_known_content_at_a_new_path_is_moved_only_when_an_old_path_vanished(cat, tmp_path):
    writer, _ = writer_for(cat, [])
    old = jpeg(tmp_path / "old.jpg")
    writer.add(process(old, tmp_path), True)
    writer.flush()
    pid = cat.photo_for_path(os.fsencode(old))[0]
    stats: Counter[str] = Counter()
    writer = pipeline.BatchWriter(cat, None, FakeEmbedder(MODEL), stats,
                                  vanished=frozenset({os.fsencode(old)}))
    known = writer.known_hashes()
    for name in ("new-home.jpg", "another.jpg"):
        (tmp_path / name).write_bytes(old.read_bytes())
        writer.add(process(tmp_path / name, tmp_path, known), True)
    writer.flush()
    assert (stats["moved"], stats["copies"]) == (1, 1)
    assert cat.photo_for_path(os.fsencode(tmp_path / "new-home.jpg"))[0] == pid


def test_problems_are_recorded_with_their_reason_and_retry_flag(cat, tmp_path):
    writer, stats = writer_for(cat, [])
    (tmp_path / "page.jpg").write_bytes(b"<html><body>hi</body></html>")
    gone = jpeg(tmp_path / "gone.jpg")
    queued = job(gone)
    gone.unlink()
    writer.add(process(tmp_path / "page.jpg", tmp_path), True)
    writer.add(pipeline.process(queued, {}.get, PREPARE, SIDE, tmp_path), True)
    writer.flush()
    problems = {os.path.basename(p.path): p.reason for p in cat.problems()}
    assert problems == {b"page.jpg": "not a photo (looks like an HTML page)",
                        b"gone.jpg": "file disappeared during indexing"}
    assert stats["problems"] == 2
    assert cat.files_under(os.fsencode(tmp_path))[os.fsencode(gone)].retry

