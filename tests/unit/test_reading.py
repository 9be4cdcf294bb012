"""Which photos the text pass reads (the CLIP check on stored vectors), what it records,
and a schema-9 library keeping its search words through migration 10 (no OCR here: the
reader is replaced; tests/core/test_read_text.py runs the real one)."""
from __future__ import annotations

import numpy as np
import pytest

from clipdesk.core.errors import ModelLoadError
from clipdesk.core.models import ocr
from clipdesk.core.models.loading import BuiltOnce
from clipdesk.core.organize import reading
from clipdesk.core.organize.reading import Reading
from clipdesk.core.store.catalog import SCHEMA_VERSION
from tests.unit.kit import blend, index, jpeg, make_kit, put, text_vector, undo_after_10, unrelated


@pytest.fixture
def kit(tmp_path):
    kit = make_kit(tmp_path)
    yield kit
    kit.catalog.close()


def test_the_check_picks_photos_that_look_like_text_and_leaves_scenes(kit):
    sign = put(kit, "sign.jpg", blend(text_vector("a photo of a sign with text"),
                                      unrelated(text_vector("a photo of a sign with text"),
                                                "noise 1"), 0.9))
    shot = put(kit, "shot.jpg", text_vector("a screenshot"))
    beach = put(kit, "beach.jpg", text_vector("a beach"))
    dog = put(kit, "dog.jpg", blend(text_vector("a photo of an animal"),
                                    unrelated(text_vector("a photo of an animal"), "n2"), 0.9))
    text = Reading(kit.catalog, kit.store, kit.photos)
    assert set(text.likely_text()) == {sign, shot}
    assert set(text.pending()) == {sign, shot}
    assert beach not in text.pending() and dog not in text.pending()


def test_text_share_is_the_softmax_share_of_the_text_prompts():
    n_text, n_scene = len(reading.TEXT_PROMPTS), len(reading.SCENE_PROMPTS)
    prompts = np.eye(n_text + n_scene, dtype=np.float32)
    photos = np.stack([prompts[0], prompts[n_text], (prompts[0] + prompts[n_text]) / 2 ** .5])
    share = reading.text_share(photos, prompts)
    assert share[0] > 0.99 and share[1] < 0.01 and share[2] == pytest.approx(0.5, abs=1e-6)


def test_a_read_photo_is_recorded_and_searchable_and_not_read_again(kit, monkeypatch):
    calls = []

    def fake_read(image):  # the red photo says PARIS 1998, the green one nothing
        calls.append(image.size)
        red, green, _ = image.convert("RGB").getpixel((4, 4))
        return "PARIS 1998" if red > green else ""

    monkeypatch.setattr(ocr, "read_text", fake_read)
    monkeypatch.setattr(ocr, "warm_up", lambda: None)
    files = [jpeg(kit.root / "a.jpg"), jpeg(kit.root / "b.jpg", (30, 200, 30))]
    index(kit, files)
    text = Reading(kit.catalog, kit.store, kit.photos)
    ids = [kit.photos.id_of(p) for p in files]
    steps = list(text.read(ids))
    assert [s.done for s in steps] == [1, 2] and all(s.problem is None for s in steps)
    assert text.of(ids[0]) == "PARIS 1998" and text.of(ids[1]) is None
    assert text.was_read(ids[1]) and text.unread() == []
    assert kit.catalog.words.match("paris") == {ids[0]}
    assert list(text.read(ids)) == [] and len(calls) == 2
    assert text.counts() == (2, 1)


def test_migration_10_keeps_the_search_words_of_an_older_library(kit):
    pid = put(kit, "holiday/beach.jpg", text_vector("a beach"))
    kit.catalog.captions.set(pid, "a sandy beach", "model")
    with kit.catalog.transaction() as db:  # the catalog as schema 9 left it
        db.execute("CREATE VIRTUAL TABLE w9 USING fts5(names, tags, caption, "
                   "tokenize='unicode61 remove_diacritics 2')")
        db.execute("INSERT INTO w9(rowid, names, tags, caption) "
                   "SELECT rowid, names, tags, caption FROM photo_words")
        db.execute("DROP TABLE photo_words")
        db.execute("ALTER TABLE w9 RENAME TO photo_words")
        db.execute("ALTER TABLE photos DROP COLUMN text")
        db.execute("ALTER TABLE photos DROP COLUMN text_by")
        undo_after_10(db)
        db.execute("PRAGMA user_version=9")
    kit.catalog.close()
    later = make_kit(kit.root.parent)
    try:
        assert later.catalog._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert later.catalog.words.match("holiday") == {pid}
        assert later.catalog.words.match("sandy") == {pid}
        later.catalog.texts.set(pid, "LIFEGUARD", "reader")
        assert later.catalog.words.match("lifeguard") == {pid}
        assert later.catalog.words.match("sandy") == {pid}
    finally:
        later.catalog.close()


def test_a_reader_that_cannot_load_is_one_line_before_any_photo(kit, monkeypatch):
    monkeypatch.setattr(ocr, "_engine", BuiltOnce(ocr._build))  # not loaded yet
    monkeypatch.setattr(ocr, "_MODELS", {**ocr._MODELS, "Rec": "gone.onnx"})
    pid = put(kit, "a.jpg", text_vector("a screenshot"))
    text = Reading(kit.catalog, kit.store, kit.photos)
    with pytest.raises(ModelLoadError, match="gone.onnx is missing") as raised:
        list(text.read([pid]))
    assert "\n" not in str(raised.value)
    with pytest.raises(ModelLoadError):  # remembered: not tried again on every photo
        ocr.warm_up()
    assert text.unread() == [pid]
