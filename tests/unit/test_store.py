"""store: one Embedder per model for the library's life (so repeated queries are not
encoded again), and the vector index kept in agreement with the catalog: rebuilt when its
file is missing, repaired when it is behind, swapped with the model at a switch."""
from __future__ import annotations

import numpy as np
import pytest

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.paths import index_path
from clipdesk.core.store.vectors import VectorStore
from clipdesk.core.store.vindex import VectorIndex
from clipdesk.core.types import PhotoMeta
from tests.unit.fakes import unit_vector
from tests.unit.kit import MODEL, make_kit, put

OTHER = "fake:other"


def test_each_model_gets_one_embedder_for_the_librarys_life(kit):
    first = kit.store.embedder(MODEL)
    assert kit.store.embedder(MODEL) is first  # its text cache serves the next query
    assert kit.store.embedder(OTHER) is not first
    assert kit.made == [MODEL, OTHER]


def test_an_empty_library_cannot_answer_a_query(kit):
    with pytest.raises(ClipdeskError, match="library is empty: run `clipdesk index FOLDER`"):
        kit.store.answering()
    assert kit.store.state() == "none yet (clipdesk index makes it)"
    kit.settings.model = MODEL  # a model chosen, nothing indexed yet: not "damaged"
    assert kit.store.state() == "none yet (clipdesk index makes it)"
    assert len(kit.store.vector_index()) == 0


def test_a_missing_index_file_is_rebuilt_from_the_catalog_and_saved(kit):
    a = put(kit, "a.jpg", unit_vector(b"a"))
    b = put(kit, "b.jpg", unit_vector(b"b"))
    kit.store.save()
    index_path(kit.home, MODEL).unlink()
    later = VectorStore(kit.home, kit.catalog, kit.settings,  # a new launch
                        lambda model_id: pytest.fail("answering loaded a model"))
    assert later.state().startswith("missing or damaged")
    model_id, index = later.answering()
    assert model_id == MODEL and index.ids == {a, b}
    assert index.query(unit_vector(b"b"), 1)[0][0] == b
    assert later.state() == "ok"  # the rebuilt index was saved


def test_an_index_behind_the_catalog_is_repaired_on_load(kit):
    """A kill after a batch was committed but before the index was saved."""
    a = put(kit, "a.jpg", unit_vector(b"a"))
    kit.store.save()
    with kit.catalog.transaction() as db:  # committed, never added to the saved index
        b = kit.catalog.photos.add(db, PhotoMeta("b", 1, 1, None, None, "JPEG"))
        kit.catalog.embeddings.put(db, b, MODEL, unit_vector(b"b"))
    later = VectorStore(kit.home, kit.catalog, kit.settings)
    assert later.state() == "behind the catalog (repaired on next use)"
    assert later.vector_index().ids == {a, b}
    assert later.state() == "ok"


def test_a_model_switch_answers_with_the_new_model_and_drops_the_old_vectors(kit):
    a = put(kit, "a.jpg", unit_vector(b"a"))
    with kit.catalog.transaction() as db:
        kit.catalog.embeddings.put(db, a, OTHER, unit_vector(b"other a"))
    kit.settings.target_model = OTHER
    kit.store.switch_model(OTHER)
    model_id, index = kit.store.answering()
    assert (model_id, kit.settings.model, kit.settings.target_model) == (OTHER, OTHER, None)
    assert np.allclose(index.query(unit_vector(b"other a"), 1)[0][1], 1.0, atol=1e-4)
    assert kit.catalog.embeddings.ids(MODEL) == set()



def test_a_store_takes_in_what_another_process_committed_and_never_saves_it_away(kit,
                                                                              tmp_path):
    """Two kits over one library stand for two processes (each catalog tells its own
    commits from the other's): what the other commits is in this one's next answer, and
    this one's save keeps the photos of the newer file the other saved."""
    ours = {put(kit, f"{n}.jpg", unit_vector(f"{n}".encode())) for n in range(40)}
    kit.store.save()
    other = make_kit(tmp_path)  # another process opening the same library
    try:
        other.store.vector_index()
        new = put(other, "new.jpg", unit_vector(b"new"))
        assert kit.store.answering()[1].query(unit_vector(b"new"), 1)[0][0] == new
        other.store.save()  # a newer file, with `new`
        late = put(kit, "late.jpg", unit_vector(b"late"))  # not in the other's file
        kit.store.save()
        saved = VectorIndex.load(index_path(kit.home, MODEL), MODEL)
        assert saved is not None and saved.ids == ours | {new, late}
        assert other.store.answering()[1].ids == ours | {new, late}
    finally:
        other.catalog.close()
