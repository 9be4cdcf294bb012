"""indexing: an index run over real files with a FakeEmbedder: what is new is embedded,
what is unchanged is never opened (and needs no model), a moved file keeps its photo, a
deleted one takes its photo along, an unplugged folder keeps its photos, and a model
switch re-embeds everything before answering with the new model."""
from __future__ import annotations

import shutil

import pytest

from clipdesk.core.errors import RootError
from clipdesk.core.store import backup
from clipdesk.core.types import Phase
from tests.unit.kit import MODEL, as_schema_6, jpeg, make_kit

COLOURS = [(250, 40, 40), (40, 250, 40), (40, 40, 250)]


def run(kit, model=MODEL, roots=None):
    """An index run to its end; its summary."""
    steps = list(kit.indexer.index(roots, model))
    assert steps[-1].phase is Phase.DONE
    return steps[-1].summary


def library(kit):
    files = [jpeg(kit.root / "trip" / f"IMG_{n}.jpg", c) for n, c in enumerate(COLOURS)]
    (kit.root / "notes.jpg").write_text("<html><body>not a photo</body></html>")
    return files


def test_a_first_run_embeds_the_photos_and_records_the_rest(kit):
    files = library(kit)
    summary = run(kit, roots=[str(kit.root)])
    assert (summary.new, summary.embedded, summary.problems, summary.photos) == (3, 3, 1, 3)
    assert kit.settings.model == MODEL and len(kit.store.vector_index()) == 3
    problem, = kit.catalog.files.problems()
    assert problem.reason == ("damaged JPEG: no JPEG image data in the file "
                              "(looks like an HTML page)")
    assert kit.store.vector_index().ids == {kit.photos.id_of(f) for f in files}
    assert len(backup.list_backups(kit.home)) == 1  # a run that changed something


def test_a_run_over_an_unchanged_library_loads_no_model(kit, tmp_path):
    library(kit)
    run(kit, roots=[str(kit.root)])
    kit.catalog.close()
    later = make_kit(tmp_path)  # the next launch
    try:
        summary = run(later)
        assert (summary.unchanged, summary.new, summary.embedded) == (4, 0, 0)
        assert later.made == []  # no model was needed
        assert len(backup.list_backups(later.home)) == 1  # nothing new to keep
    finally:
        later.catalog.close()


def test_a_moved_photo_keeps_its_identity_and_is_not_embedded_again(kit):
    files = library(kit)
    run(kit, roots=[str(kit.root)])
    pid = kit.photos.id_of(files[0])
    kit.catalog.captions.set(pid, "our first morning", "manual")
    moved = kit.root / "best" / "morning.jpg"
    moved.parent.mkdir()
    shutil.move(files[0], moved)
    summary = run(kit)
    assert (summary.moved, summary.embedded, summary.removed) == (1, 0, 1)
    assert kit.photos.id_of(moved) == pid
    assert kit.photos.find(files[0]) is None
    assert kit.captions.of(pid) == ("our first morning", "manual")
    assert kit.catalog.words.match('"morning"*') == {pid}  # the new name is searchable


def test_a_deleted_photo_leaves_the_library_and_its_answers(kit):
    files = library(kit)
    run(kit, roots=[str(kit.root)])
    gone = kit.photos.id_of(files[2])
    files[2].unlink()
    summary = run(kit)
    assert (summary.removed, summary.photos) == (1, 2)
    assert gone not in kit.store.vector_index().ids
    assert gone not in {h.photo_id for h in kit.search.similar(files[0])}


def test_an_unplugged_folder_keeps_its_photos(kit, tmp_path):
    library(kit)
    run(kit, roots=[str(kit.root)])
    shutil.move(kit.root, tmp_path / "elsewhere")  # the drive is gone
    summary = run(kit)
    assert (summary.removed, summary.photos) == (0, 3)


def test_a_linked_folder_whose_drive_is_gone_keeps_its_photos(kit, tmp_path):
    """A link in the library to a folder on another drive: unplugged, the link is
    broken, and its photos stay (a problem, said once, retried); plugged in, all is back."""
    drive = tmp_path / "drive"
    jpeg(drive / "a.jpg", COLOURS[0])
    jpeg(drive / "b.jpg", COLOURS[1])
    (kit.root / "usb").symlink_to(drive)
    assert run(kit, roots=[str(kit.root)]).photos == 2
    drive.rename(tmp_path / "unplugged")
    summary = run(kit)
    assert (summary.removed, summary.photos, summary.problems) == (0, 2, 1)
    assert summary.unavailable == (f"folder {kit.root / 'usb'} is not available (broken "
                                   "symbolic link): its 2 photos are kept; it is looked at "
                                   "again on the next run",)
    (tmp_path / "unplugged").rename(drive)
    summary = run(kit)
    assert (summary.removed, summary.embedded, summary.photos, summary.problems,
            summary.unavailable) == (0, 0, 2, 0, ())
    assert kit.catalog.files.problems() == []


def test_the_data_folder_or_a_system_folder_cannot_be_a_photo_folder(kit):
    (kit.home / "thumbs").mkdir(exist_ok=True)
    for folder, why in ((kit.home, "data folder"), (kit.home / "thumbs", "data folder"),
                        ("/proc", "system folder")):
        with pytest.raises(RootError, match=why):
            run(kit, roots=[str(folder)])
    assert kit.catalog.files.roots() == [str(kit.root).encode()]


def test_a_folder_that_is_not_there_is_refused_before_anything_is_recorded(kit, tmp_path):
    with pytest.raises(RootError, match="is not a folder"):
        run(kit, roots=[str(tmp_path / "typo")])
    assert kit.settings.model is None


def test_a_model_switch_answers_with_the_new_model_once_every_photo_has_its_vector(kit):
    files = library(kit)
    run(kit, roots=[str(kit.root)])
    summary = run(kit, model="fake:other")
    assert summary.embedded == 3
    assert (kit.settings.model, kit.settings.target_model) == ("fake:other", None)
    assert kit.catalog.embeddings.ids(MODEL) == set()
    model_id, index = kit.store.answering()
    assert model_id == "fake:other"
    assert index.ids == {kit.photos.id_of(f) for f in files}
    assert kit.made == [MODEL, "fake:other"]


JXL = b"\xff\x0a\xfa\x7f\x01\x90\x08\x06\x01\x00\x48\x00\x4b\x38"


def mixed_folder(kit):
    """Photos, the files that live beside them, and two photos that cannot be read."""
    files = [jpeg(kit.root / f"IMG_{n}.jpg", c) for n, c in enumerate(COLOURS)]
    (kit.root / "LICENSE").write_text("MIT License\n")
    (kit.root / "README.md").write_text("# Trip\n")
    (kit.root / "IMG_0.jpg.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>\n")
    (kit.root / "gone.txt").symlink_to(kit.root / "nowhere.txt")  # a broken link, not a photo
    (kit.root / "new.jxl").write_bytes(JXL)
    whole = files[0].read_bytes()
    (kit.root / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    return files


def test_files_that_are_not_photos_are_ignored_and_counted_not_problems(kit, tmp_path):
    mixed_folder(kit)
    summary = run(kit, roots=[str(kit.root)])
    assert (summary.new, summary.problems, summary.ignored) == (3, 2, 4)
    reasons = {p.path.rsplit(b"/", 1)[1]: p.reason for p in kit.catalog.files.problems()}
    assert reasons.keys() == {b"new.jxl", b"cut.jpg"}
    assert reasons[b"new.jxl"] == "unsupported photo format (JPEG XL)"
    assert reasons[b"cut.jpg"].startswith("cannot decode JPEG: image file is truncated")
    assert kit.catalog.files.counts()["ignored"] == 4
    kit.catalog.close()
    later = make_kit(tmp_path)  # the next launch: nothing is read again, no model loaded
    try:
        summary = run(later)
        assert (summary.unchanged, summary.problems, summary.ignored) == (9, 0, 0)
        assert later.made == []
    finally:
        later.catalog.close()


def test_a_catalog_from_before_the_split_is_sorted_again_on_the_next_run(kit, tmp_path):
    """Schema 4 called a .jxl "not a photo" (skipped) and an empty note a problem; the
    migration to 5 has every such file looked at once more."""
    mixed_folder(kit)
    (kit.root / "empty.txt").write_bytes(b"")
    run(kit, roots=[str(kit.root)])
    db = kit.catalog._db
    as_schema_6(kit.catalog)  # float32 vectors, as schema 4 stored them
    with kit.catalog.transaction() as tx:
        tx.execute("UPDATE files SET status='skipped', reason='not a photo (unrecognised "
                   "format)' WHERE path LIKE '%.jxl'")
        tx.execute("UPDATE files SET status='error', reason='empty file (0 bytes)' "
                   "WHERE path LIKE '%empty.txt'")
        tx.execute("ALTER TABLE photos DROP COLUMN nsfw")  # schema 6's
        tx.execute("PRAGMA user_version=4")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 4
    kit.catalog.close()
    later = make_kit(tmp_path)
    try:
        summary = run(later)
        assert (summary.problems, summary.ignored) == (2, 5)  # all of them, once
        names = sorted(p.path.rsplit(b"/", 1)[1] for p in later.catalog.files.problems())
        assert names == [b"cut.jpg", b"new.jxl"]
        summary = run(later)  # and then never again
        assert (summary.problems, summary.ignored, summary.unchanged) == (0, 0, 10)
    finally:
        later.catalog.close()
