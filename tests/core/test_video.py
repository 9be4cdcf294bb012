"""Videos in the library: real MP4 samples (tests/data/README.md) are indexed, a truncated
or damaged one is a problem with its reason and the rest goes on, and a video whose
middle shows a red circle is found by "a red circle" at the right time."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from clipdesk.core.library import Library
from clipdesk.core.types import FileStatus
from tests.conftest import TINY_MODEL
from tests.synthetic import COLORS, render
from tests.videos import encode

SAMPLES = Path(__file__).parent.parent / "data" / "videos"
OTHERS = [("green", "triangle"), ("yellow", "square"), ("purple", "circle"),
          ("orange", "triangle"), ("blue", "circle"), ("green", "square"),
          ("yellow", "triangle"), ("purple", "square"), ("orange", "circle")]


def _index(lib: Library, root: Path) -> None:
    for _ in lib.index([str(root)], model=TINY_MODEL):
        pass


def _share(image: np.ndarray, color: tuple[int, int, int]) -> float:
    """The share of an image's pixels near `color`."""
    return float((np.abs(image - np.array(color)).max(axis=2) < 40).mean())


def _originals(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


def test_real_videos_are_indexed_and_a_truncated_one_is_a_problem(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    shutil.copytree(SAMPLES, root)
    whole = (SAMPLES / "white.mp4").read_bytes()
    (root / "cut.mp4").write_bytes(whole[:len(whole) // 2])  # a copy cut short
    (root / "page.mov").write_bytes(b"<!DOCTYPE html><html>not found</html>")
    render("red", "circle", "white").save(root / "photo.jpg")
    before = _originals(root)
    lib = Library(tmp_path / "home")
    try:
        _index(lib, root)
        status = lib.status()
        # six real videos and the photo; the sound-only .mp4 is not a photo (ignored)
        assert (status.photos, status.videos, status.ignored) == (7, 6, 1)
        assert (status.problems, status.video_problems) == (2, 2)
        reasons = {Path(p.path.decode()).name: p.reason for p in lib.problems()}
        assert reasons["cut.mp4"].startswith("truncated MP4 video file (")
        assert reasons["page.mov"] == ("damaged QuickTime: no QuickTime video data in the "
                                       "file (looks like an HTML page)")
        white = lib.photos.info(lib.photos.id_of(root / "white.mp4"))
        assert white is not None and white.duration == 10.0 and white.format == "MP4"
        assert lib.photos.thumbnail(white.hash).exists()  # its poster frame
        # shown upright: stored 100x60, turned a quarter
        turned = lib.photos.info(lib.photos.id_of(root / "video_rotation_90.mp4"))
        assert turned is not None and (turned.width, turned.height) == (60, 100)
        preview = lib.photos.preview(turned.id, 64)
        assert preview.height > preview.width
        photo = lib.photos.info(lib.photos.id_of(root / "photo.jpg"))
        assert photo is not None and photo.duration is None
        assert lib.catalog.files.photo_for(
            bytes(root / "afconvert-aac-0.5s.mp4"))[1] == FileStatus.SKIPPED
        # nothing retried, nothing changed: a second run finds it all as it was
        summary = list(lib.index())[-1].summary
        assert summary is not None and summary.unchanged == 10 and summary.problems == 0
    finally:
        lib.close()
    assert _originals(root) == before  # originals byte-for-byte unchanged


def test_a_video_is_found_at_the_moment_that_shows_the_words(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    # keyframes every 2 s; the red circle shows from 10 s to 20 s
    encode(root / "walk.mp4", [("blue", "square", "gray", 10), ("red", "circle", "gray", 10),
                               ("green", "triangle", "gray", 10),
                               ("yellow", "square", "gray", 10)])
    for i, (color, shape) in enumerate(OTHERS):
        render(color, shape, "gray", (480, 480), seed=i).save(root / f"other{i}.jpg")
    lib = Library(tmp_path / "home")
    try:
        _index(lib, root)
        hits = lib.search("a red circle", k=5)
        assert hits[0].path.endswith(b"walk.mp4") and hits[0].relevant
        assert hits[0].at is not None and 10.0 <= hits[0].at < 20.0
        # the same video, another moment
        hit = next(h for h in lib.search("a yellow square", k=10) if h.path.endswith(b"walk.mp4"))
        assert hit.at is not None and 30.0 <= hit.at < 40.0
        assert all(h.at is None for h in hits if not h.path.endswith(b"walk.mp4"))
        # its poster (first keyframe) is its picture: find-similar and the grid use it
        info = lib.photos.info(hits[0].photo_id)
        assert info is not None and info.duration == 40.0
        poster = np.asarray(lib.photos.preview(info.id, 64), dtype=np.int16)
        assert _share(poster, COLORS["blue"]) > 0.05 and _share(poster, COLORS["red"]) == 0
    finally:
        lib.close()


def test_a_moved_video_keeps_its_identity_unread(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    encode(root / "a.mp4", [("red", "circle", "gray", 3)])
    lib = Library(tmp_path / "home")
    try:
        _index(lib, root)
        first = lib.photos.id_of(root / "a.mp4")
        lib.tags.set(first, "holiday")
        (root / "a.mp4").rename(root / "b.mp4")
        summary = list(lib.index())[-1].summary
        assert summary is not None and (summary.moved, summary.embedded) == (1, 0)
        assert lib.photos.id_of(root / "b.mp4") == first
        assert "holiday" in [t for t, _, _ in lib.tags.of(first)]
    finally:
        lib.close()
