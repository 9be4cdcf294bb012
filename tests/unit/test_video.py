"""Reading videos (media/video.py) and telling them apart (formats.py): what a person
notices is which files are videos, that a long video costs a bounded number of decodes,
and that a broken one says why."""
from __future__ import annotations

import os
import shutil
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clipdesk.core.errors import DecodeError
from clipdesk.core.indexing import pipeline
from clipdesk.core.media import formats, video
from clipdesk.core.types import FileStatus, Phase
from tests.unit.kit import MODEL, jpeg, make_kit, undo_after_10
from tests.videos import encode

SAMPLES = Path(__file__).parent.parent / "data" / "videos"


def _read(path: Path, side: int = 64) -> video.Video:
    raw = os.fsencode(path)
    with open(path, "rb") as f:
        fmt = formats.identify(raw, f.read(64))
    return video.read(raw, fmt, side)


@pytest.mark.parametrize("name,codec,fmt", [
    ("a.mp4", "libx264", "MP4"), ("b.mov", "libx264", "QuickTime"),
    ("c.mkv", "mpeg4", "Matroska"), ("d.webm", "libvpx-vp9", "WebM"),
    ("e.avi", "mpeg4", "AVI"),
])
def test_each_container_is_a_video_by_its_content(tmp_path, name, codec, fmt):
    path = encode(tmp_path / name, [("red", "circle", "gray", 2)], codec=codec)
    renamed = path.rename(tmp_path / "no-extension")  # the content says, not the name
    clip = _read(renamed)
    assert clip.format == fmt and clip.duration == pytest.approx(2.0, abs=0.25)
    assert (clip.width, clip.height) == (320, 240) and len(clip.frames) == 1


def test_a_long_video_costs_a_bounded_number_of_decodes_spread_over_it(tmp_path):
    # 5 minutes at 2 frames a second, a keyframe every 2 s: 150 keyframes
    path = encode(tmp_path / "long.mp4", [("blue", "square", "gray", 300)], size=(64, 48),
                  fps=2)
    clip = _read(path)
    assert len(clip.frames) == video.MAX_FRAMES
    ats = [k.at for k in clip.frames]
    assert ats == sorted(ats) and ats[0] < 300 / video.MAX_FRAMES and ats[-1] > 250
    assert all(min(k.image.size) <= 64 for k in clip.frames)  # reduced at once


def test_where_to_look_is_bounded_for_any_length():
    assert video.times(3.0) == [1.5]
    assert len(video.times(0.0)) == 1
    assert len(video.times(10 * 3600.0)) == video.MAX_FRAMES
    assert len(video.times(12.0)) == 3


@pytest.mark.parametrize("cut,reason", [
    (0.5, "truncated MP4 video file ("),
    (0.995, "truncated MP4 video file ("),
])
def test_a_truncated_video_says_so(tmp_path, cut, reason):
    data = (SAMPLES / "white.mp4").read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(DecodeError) as err:
        _read(path)
    assert err.value.reason.startswith(reason) and not err.value.skipped


def test_a_video_whose_data_is_damaged_is_a_problem_not_a_hang(tmp_path):
    data = bytearray((SAMPLES / "white.mp4").read_bytes())
    start = data.find(b"mdat") + 4
    end = data.find(b"moov") - 4
    data[start:end] = bytes(end - start)  # the pictures zeroed, the index kept
    path = tmp_path / "zeroed.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(DecodeError) as err:
        _read(path)
    assert err.value.reason.startswith("damaged MP4 video: ") and not err.value.skipped


def test_a_file_named_as_a_video_that_is_not_one_is_a_problem(tmp_path):
    with pytest.raises(DecodeError) as err:
        formats.identify(b"clip.mp4", b"<!DOCTYPE html><html>")
    assert err.value.reason == ("damaged MP4: no MP4 video data in the file (looks like an "
                                "HTML page)")
    assert not err.value.skipped
    with pytest.raises(DecodeError, match="empty file") as empty:
        formats.identify(b"clip.MOV", b"")
    assert not empty.value.skipped


def test_sound_in_a_video_container_is_ignored_not_a_problem():
    with pytest.raises(DecodeError) as err:
        _read(SAMPLES / "afconvert-aac-0.5s.mp4")
    assert err.value.skipped and err.value.reason.startswith("not a photo (sound only")


def test_a_video_is_not_a_still_image():
    with pytest.raises(DecodeError, match=r"a video \(MP4\), not a still image"):
        formats.decodable((SAMPLES / "white.mp4").read_bytes())


def test_the_identity_of_a_video_follows_its_content_not_its_name(tmp_path):
    data = bytearray((SAMPLES / "white.mp4").read_bytes())
    (tmp_path / "a.mp4").write_bytes(bytes(data))
    (tmp_path / "b.mp4").write_bytes(bytes(data))
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "c.mp4").write_bytes(bytes(data))
    hashes = [video.content_hash(os.fsencode(tmp_path / f"{n}.mp4"), len(data))
              for n in "abc"]
    assert hashes[0] == hashes[1] != hashes[2]


def test_videos_ignored_by_an_older_clipdesk_are_indexed_after_the_upgrade(kit, tmp_path):
    """Schema 11 ignored videos ('skipped', not retried); the migration to 12 has every
    ignored file looked at once more: the videos become photos, the rest stays ignored."""
    shutil.copy(SAMPLES / "white.mp4", kit.root / "clip.mp4")
    jpeg(kit.root / "a.jpg")
    (kit.root / "notes.txt").write_text("not a photo")
    _run(kit)
    assert kit.catalog.files.counts()["videos"] == 1
    with kit.catalog.transaction() as tx:  # as clipdesk before videos left it
        tx.execute("DELETE FROM photos WHERE duration IS NOT NULL")
        tx.execute("UPDATE files SET status='skipped', photo_id=NULL, reason='not a photo "
                   "(video or other media, brand b''isom'')' WHERE CAST(path AS TEXT) LIKE '%.mp4'")
        undo_after_10(tx)  # (11 changed no table)
        tx.execute("PRAGMA user_version=11")
    kit.catalog.close()
    later = make_kit(tmp_path)
    try:
        summary = _run(later)
        # the video embedded (a known path: "changed"), notes.txt looked at again
        assert (summary.embedded, summary.changed, summary.ignored) == (1, 1, 1)
        clip = later.photos.info(later.photos.id_of(later.root / "clip.mp4"))
        assert clip is not None and clip.duration == 10.0
        summary = _run(later)  # and then never again
        assert (summary.embedded, summary.ignored, summary.unchanged) == (0, 0, 3)
        assert later.catalog.files.photo_for(
            os.fsencode(later.root / "notes.txt"))[1] == FileStatus.SKIPPED
    finally:
        later.catalog.close()


def _run(kit):
    steps = list(kit.indexer.index(None, MODEL))
    assert steps[-1].phase is Phase.DONE
    return steps[-1].summary


def test_a_video_still_being_copied_in_is_retried_not_a_problem(tmp_path):
    whole = (SAMPLES / "white.mp4").read_bytes()
    path = tmp_path / "coming.mp4"
    path.write_bytes(whole[:len(whole) // 2])
    st = path.stat()

    def known(_digest: str) -> int | None:  # the copy goes on while the video is read
        path.write_bytes(whole)
        return None

    result = pipeline.process(pipeline.Job(os.fsencode(path), st.st_size, st.st_mtime_ns),
                              known, lambda image: image, 64, tmp_path / "home")
    assert isinstance(result, pipeline.Failed) and result.retry
    assert result.reason.startswith("file changed while being read")
    again = path.stat()
    result = pipeline.process(pipeline.Job(os.fsencode(path), again.st_size,
                                           again.st_mtime_ns),
                              lambda _: None, lambda image: image, 64, tmp_path / "home")
    assert isinstance(result, pipeline.Prepared) and result.meta.duration == 10.0
    # two places in 10 s (one per 5 s), each the keyframe at or before it
    assert len(result.times) == 2 and result.times[0] < 2.5 < result.times[1] <= 7.5


def _bytes_read() -> int:
    """What this process has read so far (Linux's /proc/self/io rchar: the test machines
    run Linux)."""
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("rchar"))


def test_a_2_gb_video_is_identified_and_read_from_a_few_mb_of_it(tmp_path):
    """A real video followed by 2 GB (a sparse top-level box, as a long recording's data
    would lie): its identity and keyframes come from a few MB, never the whole file."""
    whole = (SAMPLES / "white.mp4").read_bytes()
    path = tmp_path / "long.mp4"
    with open(path, "wb") as f:
        f.write(whole + struct.pack(">I4sQ", 1, b"free", 2 << 30))  # a 64-bit box size
        f.truncate(len(whole) + (2 << 30))
    _read(SAMPLES / "white.mp4")  # the first use of PyAV reads its own files
    before = _bytes_read()
    video.content_hash(os.fsencode(path), path.stat().st_size)
    clip = _read(path)
    assert _bytes_read() - before < 16 << 20
    assert clip.duration == 10.0 and len(clip.frames) == 2


def test_a_video_is_dated_by_its_creation_time_in_local_clock_time(tmp_path):
    path = encode(tmp_path / "a.mp4", [("red", "circle", "gray", 2)],
                  created="2021-07-04T10:00:00.000000Z")
    st = path.stat()
    result = pipeline.process(pipeline.Job(os.fsencode(path), st.st_size, st.st_mtime_ns),
                              lambda _: None, lambda image: image, 64, tmp_path / "home")
    assert isinstance(result, pipeline.Prepared)
    local = datetime(2021, 7, 4, 10, tzinfo=UTC).astimezone()
    assert result.meta.taken_at == local.strftime("%Y-%m-%dT%H:%M:%S")
    assert result.meta.taken_from == "exif"  # the camera's, not the file's time
    undated = encode(tmp_path / "b.mp4", [("red", "circle", "gray", 2)])
    st = undated.stat()
    result = pipeline.process(pipeline.Job(os.fsencode(undated), st.st_size, st.st_mtime_ns),
                              lambda _: None, lambda image: image, 64, tmp_path / "home")
    assert isinstance(result, pipeline.Prepared) and result.meta.taken_from == "file"


def test_a_pipe_put_in_a_videos_place_is_refused_not_waited_on(tmp_path):
    """After the scan saw a regular file, a FIFO put in its place (no writer) would block
    an open() for good: each read of a video checks it is still a regular file."""
    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    path = os.fsencode(fifo)
    for read in (lambda: video.content_hash(path, 1 << 20),
                 lambda: video.read(path, "MP4", 64, 1 << 20),
                 lambda: video.poster(path, 64)):
        with pytest.raises(DecodeError, match="not a regular file"):
            read()
