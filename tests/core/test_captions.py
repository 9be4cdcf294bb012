"""Captions: the tiny CoCa names what it sees; captions are stored, kept when a person
writes one, searchable, and the default CoCa loads through open_clip's real path."""
from __future__ import annotations

import json
import shutil

import open_clip
import pytest
import torch
from PIL import Image

from clipdesk.core.errors import ModelLoadError
from clipdesk.core.library import Library
from clipdesk.core.models import captions, loading
from clipdesk.core.models.loading import load_model
from tests.conftest import TINY_MODEL, run_cli, use_tiny_models
from tests.synthetic import render

SHOTS = (("blue", "square", "white"), ("red", "circle", "black"),
         ("yellow", "triangle", "gray"), ("green", "square", "gray"),
         ("purple", "circle", "white"), ("orange", "triangle", "black"))


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("caption-photos")
    paths = {}
    for i, (color, shape, bg) in enumerate(SHOTS):
        paths[(color, shape, bg)] = root / f"IMG_{i:04d}.jpg"
        render(color, shape, bg, (1600, 1200), seed=900 + i).save(paths[(color, shape, bg)])
    home = tmp_path_factory.mktemp("caption-home")
    use_tiny_models(home)
    assert run_cli("--home", str(home), "index", str(root), "--model", TINY_MODEL).rc == 0
    return home, paths


def caption_json(home, *args) -> dict:
    result = run_cli("--home", str(home), "caption", *args, "--json")
    assert result.rc == 0, result.err
    return json.loads(result.out)


def test_a_caption_names_colour_and_shape_and_is_stored(library, monkeypatch):
    home, paths = library
    texts = {combo: caption_json(home, str(path))["caption"] for combo, path in paths.items()}
    assert "blue square" in texts[SHOTS[0]].lower(), texts[SHOTS[0]]
    for (color, _, bg), text in texts.items():
        assert color in text.lower() and f"{bg} background" in text.lower(), text
    # The tiny CoCa names the shape of 269 of 270 held-out renders (tests/models/README.md);
    # one miss in six is allowed, in case another torch build decodes one differently.
    named = [combo for combo, text in texts.items() if combo[1] in text.lower()]
    assert len(named) >= len(SHOTS) - 1, texts
    # stored: asking again writes nothing
    monkeypatch.setattr(captions, "write_caption", lambda *a: pytest.fail("written again"))
    again = caption_json(home, str(paths[SHOTS[0]]))
    assert "blue" in again["caption"] and again["path"] == str(paths[SHOTS[0]])


def test_a_file_outside_the_library_is_captioned_not_stored(library, tmp_path):
    home, _ = library
    outside = tmp_path / "elsewhere.png"
    render("green", "circle", "white", (800, 600), seed=5).save(outside)
    text = caption_json(home, str(outside))["caption"]
    assert "green" in text and "white background" in text
    assert run_cli("--home", str(home), "caption", str(tmp_path / "missing.jpg")).rc == 1


def test_a_persons_caption_wins_and_is_searchable(library, tmp_path):
    home, paths = library
    work = tmp_path / "home"
    shutil.copytree(home, work)
    photo = paths[SHOTS[2]]
    assert caption_json(work, str(photo), "--set", "Grandma's  kitchen")["caption"] == \
        "Grandma's kitchen"
    assert run_cli("--home", str(work), "caption", "--all").rc == 0
    lib = Library(work)
    try:
        assert lib.catalog.captions.get(lib.photos.id_of(photo)) == ("Grandma's kitchen",
                                                                         "manual")
        assert lib.catalog.captions.missing() == []  # --all wrote the others
    finally:
        lib.close()
    found = json.loads(run_cli("--home", str(work), "search", "kitchen", "--json").out)
    assert found[0]["path"] == str(photo) and found[0]["caption"] == "Grandma's kitchen"
    # a generated caption is searchable too: its words lift the photo
    found = json.loads(run_cli("--home", str(work), "search", "black background",
                               "--json").out)
    black = {str(p) for (_, _, bg), p in paths.items() if bg == "black"}
    assert {h["path"] for h in found[:len(black)]} == black


def test_captions_for_every_photo_skip_unreadable_files(library, tmp_path):
    home, paths = library
    work = tmp_path / "home"
    shutil.copytree(home, work)
    lib = Library(work)
    try:
        gone = paths[SHOTS[0]]
        lib.catalog.captions.set(lib.photos.id_of(gone), None, None)
        moved = gone.with_suffix(".bak")
        gone.rename(moved)  # unreadable now; the next index run would notice
        try:
            steps = list(lib.captions.write_all())
        finally:
            moved.rename(gone)
        assert steps and steps[-1].done == steps[-1].total
        assert lib.catalog.captions.get(lib.photos.id_of(gone)) == (None, None)
    finally:
        lib.close()


def test_the_default_caption_model_loads_through_open_clip(monkeypatch, tmp_path):
    """Only the download is faked: it serves random weights in the real architecture."""
    arch, tag = captions.DEFAULT_CAPTIONER.split(":")
    repo = open_clip.get_pretrained_cfg(arch, tag)["hf_hub"].strip("/")
    model = open_clip.create_model(arch)
    weights = tmp_path / "open_clip_pytorch_model.bin"
    torch.save({k: v.half() for k, v in model.state_dict().items()}, weights)
    del model
    asked = []

    def hf_hub_download(repo_id, filename, **kwargs):
        asked.append((repo_id, filename))
        if repo_id.strip("/") != repo or filename != weights.name:
            raise FileNotFoundError(f"{repo_id}/{filename} not on the fake hub")
        return str(weights)

    monkeypatch.setattr(open_clip.pretrained, "hf_hub_download", hf_hub_download)
    monkeypatch.setattr(loading, "_cache", {})
    monkeypatch.setattr(captions, "MAX_TOKENS", 6)  # random weights never stop by themselves
    loaded = load_model(captions.DEFAULT_CAPTIONER, device="cpu")
    assert any(r.strip("/") == repo for r, _ in asked)
    text = captions.write_caption(loaded, Image.new("RGB", (640, 480), (20, 120, 200)))
    assert isinstance(text, str)


def test_a_clip_model_cannot_write_captions():
    loaded = load_model(TINY_MODEL, device="cpu")
    with pytest.raises(ModelLoadError, match="not a CoCa model"):
        captions.write_caption(loaded, Image.new("RGB", (64, 64)))


def test_tidy_makes_a_sentence():
    assert captions.tidy("<start_of_text>a blue square on a white background . "
                         "<end_of_text>!!!!") == "A blue square on a white background"
