"""scanner: which files a walk finds, and what it says about the ones it cannot use."""
from __future__ import annotations

import os
from pathlib import Path

from clipdesk.core.indexing.scanner import NOT_MOUNTED, Entry, Fence, Reached, is_under, walk


def found(root: Path, home: Path | None = None) -> dict[str, Entry]:
    fence = Fence.around([os.fsencode(root)], None if home is None else os.fsencode(home))
    return {os.fsdecode(e.path)[len(str(root)) + 1:]: e
            for e in walk(os.fsencode(root), fence)}


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


def test_the_data_folder_inside_a_root_is_not_entered(tmp_path):
    (tmp_path / "keep").mkdir()
    (tmp_path / "home").mkdir()
    (tmp_path / "keep" / "1.jpg").write_bytes(b"x")
    (tmp_path / "home" / "2.jpg").write_bytes(b"x")
    assert set(found(tmp_path, tmp_path / "home")) == {"keep/1.jpg"}


def test_a_symlink_loop_is_walked_once(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "1.jpg").write_bytes(b"x")
    (tmp_path / "photos" / "again").symlink_to(tmp_path / "photos")
    assert set(found(tmp_path)) == {"photos/1.jpg"}


def escapes(tmp_path: Path) -> tuple[Path, Path]:
    """A root linking to /, to the data folder, to the folder holding the root, to a
    folder inside itself, to a sibling photo folder twice (once through a sub-folder of
    it), to a link loop; the sibling linking back to its own parent."""
    root, sibling, home = tmp_path / "root", tmp_path / "sibling", tmp_path / "home"
    for folder in (root / "2024", sibling / "trip", home / "thumbs"):
        folder.mkdir(parents=True)
    for photo in (root / "a.jpg", root / "2024" / "b.jpg", sibling / "c.jpg",
                  sibling / "trip" / "d.jpg", home / "thumbs" / "t.jpg"):
        photo.write_bytes(b"x")
    (root / "everything").symlink_to("/")
    (root / "data").symlink_to(home)
    (root / "up").symlink_to(tmp_path)
    (root / "this-year").symlink_to(root / "2024")
    (root / "sibling").symlink_to(sibling)
    (root / "sibling-again").symlink_to(sibling)
    (root / "trip").symlink_to(sibling / "trip")
    (root / "ping").symlink_to(root / "pong")
    (root / "pong").symlink_to(root / "ping")
    (sibling / "back").symlink_to(tmp_path)
    return root, home


def test_folder_links_lead_only_to_other_photo_folders_each_walked_once(tmp_path):
    root, home = escapes(tmp_path)
    entries = found(root, home)
    assert set(entries) == {"a.jpg", "2024/b.jpg", "sibling/c.jpg", "sibling/trip/d.jpg",
                            "ping", "pong"}
    assert entries["ping"].problem == "symbolic link loop"  # never a file: not retried
    assert not entries["ping"].transient


def test_why_a_folder_link_is_not_followed(tmp_path):
    root, home = escapes(tmp_path)
    fence = Fence.around([os.fsencode(root)], os.fsencode(home))

    def why(link: str, followed: tuple[Path, ...] = ()) -> str | None:
        path = os.fsencode(root / link)
        return fence.refuses_link(path, os.path.realpath(path), list(map(os.fsencode,
                                                                           followed)))
    assert "holds a photo folder" in (why("everything") or "")
    assert "data folder" in (why("data") or "")
    assert "holds a photo folder" in (why("up") or "")
    assert "inside a photo folder" in (why("this-year") or "")
    assert why("sibling") is None
    assert "already indexed" in (why("trip", (tmp_path / "sibling",)) or "")


def test_a_data_folder_reached_through_a_followed_folder_is_not_entered(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "outside" / "home" / "thumbs").mkdir(parents=True)
    (tmp_path / "outside" / "e.jpg").write_bytes(b"x")
    (tmp_path / "outside" / "home" / "thumbs" / "t.jpg").write_bytes(b"x")
    (tmp_path / "root" / "outside").symlink_to(tmp_path / "outside")
    assert set(found(tmp_path / "root", tmp_path / "outside" / "home")) == {"outside/e.jpg"}


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


def test_a_mount_point_found_empty_is_a_drive_not_mounted_and_refilled_an_ordinary_folder(
        tmp_path):
    card = tmp_path / "card"  # a mount point in an earlier run (now on the root's device)
    card.mkdir()
    fence = Fence((os.fsencode(tmp_path),), mounts=frozenset({os.fsencode(card)}))
    reached = Reached()
    [entry] = walk(os.fsencode(tmp_path), fence, reached)
    assert (entry.path, entry.problem, entry.folder, entry.transient) == (
        os.fsencode(card), NOT_MOUNTED, True, True)
    assert reached.mounts == [os.fsencode(card)]  # still remembered
    (card / "new.jpg").write_bytes(b"x")  # a person's folder now: walked, and forgotten
    reached = Reached()
    assert [e.path for e in walk(os.fsencode(tmp_path), fence, reached)] == [
        os.fsencode(card / "new.jpg")]
    assert reached.unmounts == [os.fsencode(card)]
