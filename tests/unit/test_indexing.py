"""indexing: an index run over real files with a FakeEmbedder: what is new is embedded,
what is unchanged is never opened (and needs no model), a moved file keeps its photo, a
deleted one takes its photo along, an unplugged folder keeps its photos, and a model
switch re-embeds everything before answering with the new model."""
from __future__ import annotations

import shutil

import pytest

from clipdesk.core import backup
from clipdesk.core.errors import RootError
from clipdesk.core.types import Phase
from tests.unit.kit import MODEL, jpeg, make_kit

COLOURS = [(250, 40, 40), (40, 250, 40), (40, 40, 250)]


@pytest.fixture
def kit(tmp_path):
    kit = make_kit(tmp_path)
    yield kit
    kit.catalog.close()


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
    problem, = kit.catalog.problems()
    assert problem.reason == "not a photo (looks like an HTML page)"
    assert kit.store.vector_index().ids == {kit.photos.photo_id(f) for f in files}
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
    pid = kit.photos.photo_id(files[0])
    kit.catalog.set_caption(pid, "our first morning", "manual")
    moved = kit.root / "best" / "morning.jpg"
    moved.parent.mkdir()
    shutil.move(files[0], moved)
    summary = run(kit)
    assert (summary.moved, summary.embedded, summary.removed) == (1, 0, 1)
    assert kit.photos.photo_id(moved) == pid
    assert kit.photos.find(files[0]) is None
    assert kit.captioning.caption_of(pid) == ("our first morning", "manual")
    assert kit.catalog.match_words('"morning"*') == {pid}  # the new name is searchable


def test_a_deleted_photo_leaves_the_library_and_its_answers(kit):
    files = library(kit)
    run(kit, roots=[str(kit.root)])
    gone = kit.photos.photo_id(files[2])
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
    assert kit.catalog.embedding_ids(MODEL) == set()
    model_id, index = kit.store.answering()
    assert model_id == "fake:other"
    assert index.ids == {kit.photos.photo_id(f) for f in files}
    assert kit.made == [MODEL, "fake:other"]
