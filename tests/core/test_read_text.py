"""Text in photos, end to end with the real reader (rapidocr's PP-OCRv6 models from its
wheel) and the tiny CLIP model: a word rendered in a photo is found by that word."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from clipdesk.core.library import Library
from tests.conftest import TINY_MODEL, run_cli, use_tiny_models
from tests.synthetic import render


def _sign(path: Path, words: str) -> None:
    """A photo of a pale wall with big dark words on it."""
    image = Image.new("RGB", (1200, 800), (214, 226, 238))
    font = ImageFont.load_default(size=110)
    ImageDraw.Draw(image).text((70, 320), words, fill=(25, 25, 30), font=font)
    image.save(path, quality=92)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("photos")
    _sign(root / "party.jpg", "HAPPY BIRTHDAY")
    for n, (color, shape) in enumerate([("red", "circle"), ("blue", "square"),
                                        ("green", "triangle")]):
        render(color, shape, "white", seed=n).save(root / f"shape{n}.jpg", quality=92)
    render("red", "circle", "white", seed=9).save(root / "broken.jpg", quality=92)
    home = tmp_path_factory.mktemp("home")
    use_tiny_models(home)
    assert run_cli("--home", str(home), "index", str(root), "--model", TINY_MODEL).rc == 0
    return home, root


def test_a_word_in_a_photo_is_found_by_that_word(library: tuple[Path, Path]) -> None:
    home, root = library
    lib = Library(home)
    try:
        party = lib.photos.id_of(root / "party.jpg")
        assert not lib.text.was_read(party)  # indexing does not read text
        steps = list(lib.text.read([party]))
        assert [s.problem for s in steps] == [None]
        assert "HAPPY BIRTHDAY" in (lib.text.of(party) or "").upper()
        hits = lib.search("birthday")
        assert hits[0].photo_id == party and hits[0].relevant
    finally:
        lib.close()
    result = run_cli("--home", str(home), "search", "birthday", "--json")
    assert result.rc == 0, result.err
    first = json.loads(result.out)[0]
    assert Path(first["path"]).name == "party.jpg"
    assert "BIRTHDAY" in first["text"].upper()


def test_the_cli_reads_named_photos_and_a_blank_one_is_read_once(
        library: tuple[Path, Path]) -> None:
    home, root = library
    result = run_cli("--home", str(home), "read-text", str(root / "shape1.jpg"), "--json")
    assert result.rc == 0, result.err
    assert json.loads(result.out) == [{"path": str(root / "shape1.jpg"), "text": None}]
    lib = Library(home)
    try:
        blank = lib.photos.id_of(root / "shape1.jpg")
        assert lib.text.was_read(blank) and lib.text.of(blank) is None
        assert list(lib.text.read([blank])) == []  # read before: not read again
        assert blank not in lib.text.unread()
        assert len(list(lib.text.read([blank], again=True))) == 1  # unless asked again
    finally:
        lib.close()


def test_a_damaged_photo_is_a_problem_and_the_others_are_read(
        library: tuple[Path, Path]) -> None:
    home, root = library
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    lib = Library(home)
    try:
        unread = len(lib.text.unread())
    finally:
        lib.close()
    result = run_cli("--home", str(home), "read-text", "--all", "--json")
    assert result.rc == 1
    assert "broken.jpg" in result.err
    assert json.loads(result.out)["read_now"] == unread - 1  # all but the broken one
    lib = Library(home)
    try:
        unread = {lib.photos.paths([i])[i] for i in lib.text.unread()}
        assert unread == {str(root / "broken.jpg").encode()}  # every other photo was read
        assert lib.text.counts()[1] >= 1
    finally:
        lib.close()


def test_the_text_goes_to_the_xmp_sidecar_only_when_asked(library: tuple[Path, Path]) -> None:
    home, root = library
    photo = root / "party.jpg"
    assert run_cli("--home", str(home), "read-text", str(photo)).rc == 0
    sidecar = root / "party.jpg.xmp"
    assert run_cli("--home", str(home), "xmp", str(photo), "--include-auto").rc == 0
    assert "BIRTHDAY" not in sidecar.read_text().upper()  # never by default
    assert run_cli("--home", str(home), "xmp", str(photo), "--text").rc == 0
    assert "Text in photo: HAPPY BIRTHDAY" in sidecar.read_text()
    lib = Library(home)
    try:
        lib.read_sidecars([photo])  # read back: the text does not become a caption
        assert lib.captions.of(lib.photos.id_of(photo)) == (None, None)
    finally:
        lib.close()
