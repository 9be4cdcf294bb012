"""scanner: which files a walk finds, and what it says about the ones it cannot use."""
from __future__ import annotations

import os
from pathlib import Path

from clipdesk.core.scanner import Entry, is_under, walk


def found(root: Path, exclude: tuple[bytes, ...] = ()) -> dict[str, Entry]:
    return {os.fsdecode(e.path)[len(str(root)) + 1:]: e
            for e in walk(os.fsencode(root), exclude)}


def test_every_visible_file_below_the_root_with_its_size(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "top.jpg").write_bytes(b"x" * 3)
    (tmp_path / "a" / "b" / "deep.jpg").write_bytes(b"x" * 5)
    (tmp_path / ".hidden.jpg").write_bytes(b"x")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "inside.jpg").write_bytes(b"x")
    entries = found(tmp_path)
    assert set(entries) == {"top.jpg", "a/b/deep.jpg"}
    assert entries["a/b/deep.jpg"].size == 5
    assert all(e.problem is None for e in entries.values())


def test_a_file_name_that_is_not_utf8_round_trips(tmp_path):
    path = os.fsencode(tmp_path) + b"/caf\xe9.jpg"  # Latin-1, as an old camera card may hold
    with open(path, "wb") as f:
        f.write(b"x")
    assert [e.path for e in walk(os.fsencode(tmp_path))] == [path]


def test_excluded_folders_are_not_entered(tmp_path):
    (tmp_path / "keep").mkdir()
    (tmp_path / "skip").mkdir()
    (tmp_path / "keep" / "1.jpg").write_bytes(b"x")
    (tmp_path / "skip" / "2.jpg").write_bytes(b"x")
    assert set(found(tmp_path, (os.fsencode(tmp_path / "skip"),))) == {"keep/1.jpg"}


def test_a_symlink_loop_is_walked_once(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "1.jpg").write_bytes(b"x")
    (tmp_path / "photos" / "again").symlink_to(tmp_path / "photos")
    assert set(found(tmp_path)) == {"photos/1.jpg"}


def test_broken_links_and_pipes_are_reported_not_read(tmp_path):
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    os.mkfifo(tmp_path / "pipe.jpg")  # opening it to read would block the walk
    entries = found(tmp_path)
    assert entries["gone.jpg"].problem == "broken symbolic link"
    assert "not a regular file" in (entries["pipe.jpg"].problem or "")
    assert not entries["gone.jpg"].transient


def test_a_missing_root_is_one_folder_problem_retried_next_time(tmp_path):
    [entry] = walk(os.fsencode(tmp_path / "unplugged"))
    assert entry.folder and entry.transient
    assert entry.problem is not None and "cannot open folder" in entry.problem


def test_is_under_matches_whole_folder_names():
    assert is_under(b"/photos/2024/a.jpg", b"/photos")
    assert is_under(b"/photos", b"/photos/")
    assert not is_under(b"/photos-old/a.jpg", b"/photos")
