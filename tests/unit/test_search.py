"""search: the photo that shows the query first, names / tags / captions holding every
word of it before that, a relevance cutoff that tells a match from the rest of the
library, and look-alikes of a library photo or of any image file."""
from __future__ import annotations

import os
import shutil

import pytest

from clipdesk.core.errors import ClipdeskError
from tests.unit.kit import blend, index, jpeg, put, text_vector, unrelated

BEACH = text_vector("beach")


def ids(hits):
    return [h.photo_id for h in hits]


def test_the_photo_showing_the_query_comes_first(kit):
    dog = put(kit, "IMG_1.jpg", text_vector("dog"))
    beach = put(kit, "IMG_2.jpg", BEACH)
    cat = put(kit, "IMG_3.jpg", text_vector("cat"))
    assert ids(kit.search.search("beach"))[0] == beach
    assert ids(kit.search.search("dog", k=1)) == [dog]
    assert ids(kit.search.search("a cat"))[0] == cat


def test_only_clear_matches_count_as_relevant(kit):
    beach = put(kit, "IMG_0.jpg", BEACH)
    near = put(kit, "IMG_1.jpg", blend(BEACH, text_vector("sea"), 0.8))
    others = [put(kit, f"IMG_{n}.jpg", unrelated(BEACH, f"other {n}")) for n in range(2, 14)]
    hits = kit.search.search("beach", k=20)
    assert ids(hits)[:2] == [beach, near]
    assert set(ids(hits)) == {beach, near, *others}  # every photo, ranked
    assert [h.photo_id for h in hits if h.relevant] == [beach, near]


def test_a_photo_named_after_the_query_comes_first_and_counts(kit):
    shows = put(kit, "IMG_0.jpg", BEACH)
    for n in range(1, 12):
        put(kit, f"IMG_{n}.jpg", unrelated(BEACH, f"other {n}"))
    named = put(kit, "Beaches 2023/IMG_99.jpg", unrelated(BEACH, "a dog"))  # folder name
    hits = kit.search.search("a photo of the beach")  # stopwords aside, "beach*"
    assert ids(hits)[:2] == [named, shows]
    assert hits[0].relevant  # below the cutoff by similarity, but the name says so


def test_a_named_photo_is_found_however_low_the_model_ranks_it(kit):
    """Beyond the index's first hundred answers: found through its name alone."""
    for n in range(110):
        put(kit, f"IMG_{n}.jpg", unrelated(BEACH, f"other {n}"))
    named = put(kit, "beach.jpg", -BEACH)  # as unlike the query as a vector can be
    assert ids(kit.search.search("beach", k=3))[0] == named


def test_a_caption_or_a_tag_holding_every_word_counts_like_a_name(kit):
    cake = put(kit, "IMG_1.jpg", unrelated(BEACH, "1"))
    kit.captions.set(cake, "A birthday cake with candles")
    tagged = put(kit, "IMG_2.jpg", unrelated(BEACH, "2"))
    kit.tags.set(tagged, "birthday")
    put(kit, "IMG_3.jpg", text_vector("birthday cake"))
    assert ids(kit.search.search("birthday cake"))[0] == cake
    assert set(ids(kit.search.search("birthday"))[:2]) == {cake, tagged}


def test_within_tags_only_photos_with_every_tag_are_ranked(kit):
    beach = put(kit, "IMG_1.jpg", BEACH)
    holiday = [put(kit, f"IMG_{n}.jpg", blend(BEACH, text_vector(str(n)), cos))
               for n, cos in ((2, 0.3), (3, 0.6))]
    for pid in holiday:
        kit.tags.set(pid, "holiday")
    assert ids(kit.search.search("beach", tags=["holiday"])) == holiday[::-1]
    assert beach in ids(kit.search.search("beach"))


def test_an_empty_query_or_library_is_one_line(kit):
    with pytest.raises(ClipdeskError, match="library is empty"):
        kit.search.search("beach")
    put(kit, "a.jpg", BEACH)
    with pytest.raises(ClipdeskError, match="the search text is empty"):
        kit.search.search("   ")


def test_look_alikes_of_a_library_photo_leave_the_photo_itself_out(kit):
    start = put(kit, "a.jpg", BEACH)
    close = put(kit, "b.jpg", blend(BEACH, text_vector("x"), 0.95))
    far = put(kit, "c.jpg", blend(BEACH, text_vector("y"), 0.2))
    hits = kit.search.similar(kit.root / "a.jpg")
    assert ids(hits) == [close, far] and start not in ids(hits)
    assert hits[0].path == os.fsencode(kit.root / "b.jpg")


def test_any_image_file_finds_its_look_alikes_in_the_library(kit, tmp_path):
    files = [jpeg(kit.root / f"{n}.jpg", (40 * n, 90, 200 - 30 * n)) for n in range(4)]
    index(kit, files)
    outside = tmp_path / "from-a-friend.jpg"
    shutil.copy(files[2], outside)  # the same picture, not in the library
    hits = kit.search.similar(outside, k=2)
    assert hits[0].photo_id == kit.photos.id_of(files[2])
    assert hits[0].score == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ClipdeskError, match="gone.jpg: no such file"):
        kit.search.similar(tmp_path / "gone.jpg")
