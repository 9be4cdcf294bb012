"""tags_service: automatic tags from the stored vectors and the vocabulary, a person's tags
and removals winning over every re-tagging, vocabulary edits, the prompt cache, and tags
taught by example."""
from __future__ import annotations

import numpy as np
import pytest

from clipdesk.core.errors import ClipdeskError
from clipdesk.core.organize.tags import Tags
from clipdesk.core.store.vectors import VectorStore
from tests.unit.fakes import FakeEmbedder
from tests.unit.kit import MODEL, blend, make_kit, put, text_vector, unrelated

VOCABULARY = "beach: beach\ndog: dog\ncat: cat\n"
BEACH, DOG, BOAT = text_vector("beach"), text_vector("dog"), text_vector("boat")


@pytest.fixture
def kit(tmp_path):
    kit = make_kit(tmp_path)
    (kit.home / "tags.txt").write_text(VOCABULARY)
    (kit.home / "sensitive.txt").write_text("nudity: nudity\n")
    yield kit
    kit.catalog.close()


def tags(kit, pid):
    return {tag: source for tag, _, source in kit.tags.of(pid)}


def library(kit):
    """Two beach photos, two dog photos, four of other things."""
    beaches = [put(kit, f"beach{n}.jpg", blend(BEACH, text_vector(f"b{n}"), 0.95))
               for n in range(2)]
    dogs = [put(kit, f"dog{n}.jpg", blend(DOG, text_vector(f"d{n}"), 0.95)) for n in range(2)]
    others = [put(kit, f"x{n}.jpg", unrelated(BEACH, f"x{n}")) for n in range(4)]
    return beaches, dogs, others


def test_photos_get_the_tags_they_show_and_a_person_has_the_last_word(kit):
    (b0, b1), (d0, _), (x0, *_) = library(kit)
    kit.tags.retag()
    assert tags(kit, b0) == {"beach": "auto"} and tags(kit, d0) == {"dog": "auto"}
    assert tags(kit, x0) == {}
    kit.tags.set(b0, "beach", on=False)  # "that is a lake"
    kit.tags.set(b1, "  Summer   HOLIDAY ")
    (kit.home / "tags.txt").write_text(VOCABULARY + "sea: sea\n")
    assert kit.tags.stale()  # a new vocabulary: the automatic tags are redone
    kit.tags.retag()
    assert not kit.tags.stale()
    assert tags(kit, b0) == {}
    assert tags(kit, b1) == {"summer holiday": "manual", "beach": "auto"}


@pytest.mark.parametrize("bad", ["sensitive:thing", "#1", "   "])
def test_a_tag_name_a_person_types_must_be_a_tag(kit, bad):
    pid = put(kit, "a.jpg", BEACH)
    with pytest.raises(ClipdeskError, match="cannot be a tag name"):
        kit.tags.set(pid, bad)
    assert tags(kit, pid) == {}


def test_a_sensitive_concept_flags_the_photo_and_a_person_can_unflag_it(kit):
    library(kit)
    flagged = put(kit, "y.jpg", text_vector("nudity"))
    kit.tags.retag()
    assert [h.photo_id for h in kit.tags.flagged()] == [flagged]
    kit.tags.set(flagged, "sensitive:nudity", on=False)
    assert kit.tags.flagged() == []


def test_renaming_and_removing_a_tag_edit_the_photos_and_the_vocabulary(kit):
    _, (d0, d1), _ = library(kit)
    kit.tags.retag()
    kit.tags.rename("dog", "Puppy")
    assert tags(kit, d0) == {"puppy": "auto"}
    assert "puppy: dog" in kit.tags.vocabulary_text()
    kit.tags.retag()  # the next tagging knows the new name
    assert tags(kit, d0) == {"puppy": "auto"}
    with pytest.raises(ClipdeskError):
        kit.tags.rename("puppy", "a:b")
    assert "puppy" in kit.tags.vocabulary_text()
    kit.tags.remove("puppy")
    assert tags(kit, d1) == {} and "puppy" not in kit.tags.vocabulary_text()


def test_prompts_are_encoded_once_per_model_even_across_launches(kit):
    (b0, *_), _, _ = library(kit)
    kit.tags.retag()
    assert sorted(kit.embedder.texts_encoded) == ["beach", "cat", "dog", "nudity"]
    (kit.home / "tags.txt").write_text(VOCABULARY + "sea: sea | waves\n")
    kit.embedder.texts_encoded.clear()
    kit.tags.retag()
    assert sorted(kit.embedder.texts_encoded) == ["sea", "waves"]  # only the new prompts
    fresh = FakeEmbedder(MODEL)  # the next launch: a new model object, the cache file
    store = VectorStore(kit.home, kit.catalog, kit.settings, lambda model_id: fresh)
    Tags(kit.home, kit.catalog, kit.settings, store, kit.photos, kit.edits).retag()
    assert fresh.texts_encoded == []
    assert tags(kit, b0) == {"beach": "auto"}


def test_a_taught_tag_suggests_the_photos_like_the_examples_and_never_a_no(kit):
    boats = [put(kit, f"boat{n}.jpg", blend(BOAT, text_vector(f"boat{n}"), 0.97))
             for n in range(4)]
    others = [put(kit, f"x{n}.jpg", unrelated(BOAT, f"x{n}")) for n in range(12)]
    with pytest.raises(ClipdeskError, match="needs at least one photo that shows it"):
        kit.tags.teach("boat", [])
    with pytest.raises(ClipdeskError, match="has not been taught: clipdesk teach boat"):
        kit.tags.suggest("boat")
    kit.tags.teach("boat", yes=boats[:2], no=[boats[3]])
    assert kit.tags.taught() == ["boat"]
    assert tags(kit, boats[0]) == {"boat": "manual"} and tags(kit, boats[3]) == {}
    hits = kit.tags.suggest("boat", k=5)
    assert hits[0].photo_id == boats[2] and hits[0].relevant
    assert not any(h.relevant for h in hits[1:])
    assert {h.photo_id for h in hits} <= {boats[2], *others}  # examples are not suggested
    assert kit.settings.model == MODEL


# -- photos added later: judged against the kept cuts -----------------------------------

def beach_photos(kit):
    """13 photos, ten of them spread from nothing to somewhat beach-like and three
    beaches: "beach" splits, but only just (one more half-beach photo blurs it)."""
    likeness = [*np.linspace(0.0, 0.4, 10), 0.5, 0.65, 0.8]
    return [put(kit, f"p{n}.jpg", blend(BEACH, text_vector(f"p{n}"), float(cos)))
            for n, cos in enumerate(likeness)]


def index_follow_up(kit):
    """The tagging an index run does after it changed something."""
    for _ in kit.tags.retagging():
        pass


def all_tags(kit, ids):
    return {pid: tags(kit, pid) for pid in ids}


def test_adding_a_photo_never_takes_a_tag_off_the_others(kit):
    ids = beach_photos(kit)
    kit.tags.retag()
    before = all_tags(kit, ids)
    assert [p for p in ids if "beach" in before[p]] == ids[-3:]
    half = put(kit, "half.jpg", blend(BEACH, text_vector("half"), 0.45))
    index_follow_up(kit)
    assert all_tags(kit, ids) == before
    assert "beach" not in tags(kit, half)  # under the kept cut (0.5)
    kit.tags.retag()  # judged as a whole, the library no longer splits on "beach"
    assert not any("beach" in t for t in all_tags(kit, [*ids, half]).values())


def test_new_photos_are_judged_against_the_kept_cuts(kit):
    ids = beach_photos(kit)
    kit.tags.retag()
    kit.embedder.texts_encoded.clear()
    high, low = (put(kit, f"new{cos}.jpg", blend(BEACH, text_vector(f"n{cos}"), cos))
                 for cos in (0.55, 0.45))
    index_follow_up(kit)
    assert tags(kit, high) == {"beach": "auto"} and tags(kit, low) == {}
    assert kit.embedder.texts_encoded == []  # the prompts came from the cache
    assert not kit.tags.stale()
    index_follow_up(kit)  # nothing new: nothing changes
    assert tags(kit, high) == {"beach": "auto"} and "beach" in tags(kit, ids[-1])


def test_removing_photos_leaves_the_others_tags_alone(kit):
    ids = beach_photos(kit)
    kit.tags.retag()
    before = all_tags(kit, ids)
    gone = [ids[-1], ids[-2]]  # two of the three beaches
    kit.catalog.files.remove(kit.catalog.files.paths_for(gone).values())
    kit.catalog.photos.remove_orphans()
    index_follow_up(kit)
    left = [p for p in ids if p not in gone]
    assert all_tags(kit, left) == {p: before[p] for p in left}
    assert tags(kit, ids[-3]) == {"beach": "auto"}


def test_a_new_vocabulary_judges_every_photo_again(kit):
    ids = beach_photos(kit)
    kit.tags.retag()
    half = put(kit, "half.jpg", blend(BEACH, text_vector("half"), 0.45))
    index_follow_up(kit)
    assert "beach" in tags(kit, ids[-1])
    (kit.home / "tags.txt").write_text(VOCABULARY + "sea: sea\n")
    assert kit.tags.stale()
    index_follow_up(kit)
    assert not kit.tags.stale()
    assert not any("beach" in t for t in all_tags(kit, [*ids, half]).values())


def test_a_library_that_has_more_than_doubled_is_judged_again_as_a_whole(kit):
    # a first index too small to split any tag (tagging.split needs four photos)
    [put(kit, f"x{n}.jpg", unrelated(BEACH, f"x{n}")) for n in range(3)]
    kit.tags.retag()
    later = [put(kit, f"b{n}.jpg", blend(BEACH, text_vector(f"b{n}"), 0.9)) for n in range(3)]
    index_follow_up(kit)  # three more: not yet past double
    assert not any("beach" in tags(kit, p) for p in later)  # no cut: beach went nowhere
    last = put(kit, "b3.jpg", blend(BEACH, text_vector("b3"), 0.9))
    index_follow_up(kit)
    assert all(tags(kit, p) == {"beach": "auto"} for p in [*later, last])


def test_new_photos_get_taught_tags_and_the_nudity_flag(kit):
    boats = [put(kit, f"boat{n}.jpg", blend(BOAT, text_vector(f"boat{n}"), 0.97))
             for n in range(4)]
    [put(kit, f"x{n}.jpg", unrelated(BOAT, f"x{n}")) for n in range(12)]
    kit.tags.teach("boat", yes=boats[:3])
    kit.tags.retag()
    boat = put(kit, "boat-new.jpg", blend(BOAT, text_vector("boat-new"), 0.97))
    nude = put(kit, "nude.jpg", unrelated(BOAT, "nude"))
    with kit.catalog.transaction() as db:
        db.execute("UPDATE photos SET nsfw=0.99 WHERE id=?", (nude,))
    index_follow_up(kit)
    assert tags(kit, boat).get("boat") == "auto"
    assert tags(kit, nude).get("sensitive:nudity") == "auto"


def test_a_whole_tagging_between_two_steps_of_an_index_run_is_not_undone(kit):
    ids = beach_photos(kit)
    kit.tags.retag()
    half = put(kit, "half.jpg", blend(BEACH, text_vector("half"), 0.45))
    job = kit.tags.retagging()
    next(job)  # the index run's tagging, at a step
    kit.tags.retag()  # the app runs a write (a vocabulary edit's retag) between two steps
    whole = all_tags(kit, [*ids, half])
    for _ in job:
        pass
    assert all_tags(kit, [*ids, half]) == whole
    later = put(kit, "later.jpg", blend(BEACH, text_vector("later"), 0.55))
    index_follow_up(kit)  # judged against the whole tagging's cuts: beach no longer splits
    assert tags(kit, later) == {}
