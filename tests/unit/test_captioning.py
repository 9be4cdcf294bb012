"""captioning without a caption model: stored captions are answered as they are, a
person's caption is kept for good (a model's late caption never replaces it), and the
captions pass goes on past a photo it cannot read."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from clipdesk.core.errors import ModelLoadError
from clipdesk.core.models import captions
from clipdesk.core.organize import captioning
from clipdesk.core.types import Phase
from tests.unit.fakes import unit_vector
from tests.unit.kit import jpeg, make_kit, put

COCA = "coca_ViT-B-32:mscoco_finetuned_laion2b_s13b_b90k"


@pytest.fixture
def kit(tmp_path, monkeypatch):
    def no_model(spec):
        raise AssertionError(f"a caption model was loaded ({spec})")

    monkeypatch.setattr(captioning, "load_model", no_model)
    kit = make_kit(tmp_path)
    yield kit
    kit.catalog.close()


def fake_captioner(monkeypatch, text="a red square on a white wall"):
    """A caption model that loads at once and writes `text` for any image it is shown."""
    shown = []
    loaded = SimpleNamespace(image_size=224, spec=SimpleNamespace(id="coca:fake"))
    monkeypatch.setattr(captioning, "load_model", lambda spec: loaded)
    monkeypatch.setattr(captions, "write_caption",
                        lambda model, image: shown.append(image.size) or text)
    return shown


def test_a_stored_caption_is_answered_without_a_model(kit):
    pid = put(kit, "a.jpg", unit_vector(b"a"))
    assert kit.captions.get(pid, write=False) is None
    assert kit.captions.of(pid) == (None, None)
    kit.catalog.captions.set(pid, "a dog on a sofa", COCA)
    assert kit.captions.get(pid) == "a dog on a sofa"
    assert kit.captions.of(pid) == ("a dog on a sofa", COCA)


def test_a_persons_caption_is_kept_when_a_models_arrives_later(kit):
    pid = put(kit, "a.jpg", unit_vector(b"a"))
    kit.captions.set(pid, "  Grandma's   80th\nbirthday ")
    kept = kit.captions.store(pid, "a group of people at a table", COCA)
    assert kept == "Grandma's 80th birthday"
    assert kit.captions.of(pid) == ("Grandma's 80th birthday", "manual")


def test_a_models_caption_is_stored_when_there_is_none(kit):
    pid = put(kit, "a.jpg", unit_vector(b"a"))
    assert kit.captions.count_missing() == 1
    assert kit.captions.store(pid, "a cat", COCA) == "a cat"
    assert kit.captions.of(pid) == ("a cat", COCA)
    assert kit.captions.count_missing() == 0


def test_clearing_a_persons_caption_lets_the_model_write_again(kit):
    pid = put(kit, "a.jpg", unit_vector(b"a"))
    kit.captions.set(pid, "wrong")
    kit.captions.set(pid, "   ")
    assert kit.captions.of(pid) == (None, None)
    assert kit.captions.count_missing() == 1
    assert kit.captions.store(pid, "a cat", COCA) == "a cat"


def test_the_captioner_is_a_setting_and_a_bad_spec_changes_nothing(kit):
    assert kit.captions.captioner_id == captions.DEFAULT_CAPTIONER
    kit.captions.choose_captioner(" coca_ViT-L-14:laion2b ")
    assert kit.captions.captioner_id == "coca_ViT-L-14:laion2b"
    with pytest.raises(ModelLoadError, match="is not ARCH:TAG"):
        kit.captions.choose_captioner("nonsense")
    assert kit.captions.captioner_id == "coca_ViT-L-14:laion2b"


def test_the_captions_pass_writes_what_it_can_and_skips_a_missing_file(kit, monkeypatch):
    shown = fake_captioner(monkeypatch)
    present = put(kit, "here.jpg", unit_vector(b"1"))
    jpeg(kit.root / "here.jpg", size=(640, 480))
    missing = put(kit, "gone.jpg", unit_vector(b"2"))  # its file was deleted
    typed = put(kit, "typed.jpg", unit_vector(b"3"))
    kit.captions.set(typed, "our boat")
    steps = list(kit.captions.write_all())
    assert [(s.phase, s.done, s.total) for s in steps] == [(Phase.CAPTION, 1, 2),
                                                           (Phase.CAPTION, 2, 2)]
    assert kit.captions.of(present) == ("a red square on a white wall", "coca:fake")
    assert kit.captions.of(missing) == (None, None)  # left for the next pass
    assert kit.captions.of(typed) == ("our boat", "manual")
    assert len(shown) == 1 and min(shown[0]) >= 224  # shown at the model's input size


def test_a_caption_model_that_cannot_load_stops_the_pass(kit, monkeypatch):
    put(kit, "a.jpg", unit_vector(b"1"))

    def cannot_load(spec):
        raise ModelLoadError(f"{spec}: no network")

    monkeypatch.setattr(captioning, "load_model", cannot_load)
    with pytest.raises(ModelLoadError, match="no network"):
        list(kit.captions.write_all())
