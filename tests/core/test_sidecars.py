"""XMP sidecars through the Library: a real SQLite library indexed with the tiny model,
next to copies of sidecars digiKam and darktable wrote."""
from __future__ import annotations

import hashlib
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from clipdesk.core.library import Library
from clipdesk.core.sidecars import xmp
from tests.conftest import TINY_MODEL, use_tiny_models
from tests.synthetic import render
from tests.unit.test_xmp import DARKTABLE, DIGIKAM, others, rewrite_keywords_with_libexiv2


def index_all(lib: Library, folder: Path) -> None:
    for _ in lib.index([str(folder)], model=TINY_MODEL):
        pass


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.iterdir() if not p.name.endswith(".xmp")}


def person_tags(lib: Library, path: Path) -> set[str]:
    return {tag for tag, _, source in lib.tags.of(lib.photos.id_of(path)) if source == "manual"}


@pytest.fixture
def library(tmp_path):
    """Four photos: one with a digiKam sidecar, one with a darktable sidecar, one with a
    broken sidecar, one with none; indexed."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, (color, shape) in enumerate((("red", "circle"), ("green", "square"),
                                        ("blue", "triangle"), ("yellow", "circle"))):
        render(color, shape, "white", (640, 480), seed=i).save(photos / f"{color}.jpg")
    shutil.copyfile(DIGIKAM, photos / "red.jpg.xmp")
    shutil.copyfile(DARKTABLE, photos / "green.jpg.xmp")
    (photos / "blue.jpg.xmp").write_text("<x:xmpmeta><rdf:RDF>cut short")
    use_tiny_models(tmp_path / "home")
    lib = Library(tmp_path / "home")
    index_all(lib, photos)
    yield lib, photos
    lib.close()


def test_keywords_set_in_digikam_and_darktable_become_a_persons_tags(library):
    lib, photos = library
    expected = {"nature", "places", "reykjavik", "iceland", "aurora"}
    assert person_tags(lib, photos / "red.jpg") == expected
    assert person_tags(lib, photos / "green.jpg") == expected  # darktable's own tags left out
    assert lib.captions.of(lib.photos.id_of(photos / "red.jpg")) == (
        "Test fixture for digiKam XMP sidecar", "manual")
    assert person_tags(lib, photos / "yellow.jpg") == set()
    # a broken sidecar costs its own photo's keywords, nothing else
    assert person_tags(lib, photos / "blue.jpg") == set()
    found = {Path(os.fsdecode(h.path)).name for h in lib.search("reykjavik", k=10)}
    assert {"red.jpg", "green.jpg"} <= found


def test_a_sidecar_changed_in_another_tool_is_read_on_the_next_index(library):
    lib, photos = library
    sidecar = photos / "yellow.jpg.xmp"
    shutil.copyfile(DIGIKAM, sidecar)  # digiKam wrote one for yellow.jpg meanwhile
    text = sidecar.read_text(encoding="utf-8").replace(
        "<rdf:li>Aurora</rdf:li>", "<rdf:li>Aurora</rdf:li>\n     <rdf:li>Sunflower</rdf:li>", 1)
    sidecar.write_text(text, encoding="utf-8")
    index_all(lib, photos)
    assert "sunflower" in person_tags(lib, photos / "yellow.jpg")


def test_writing_sidecars_merges_keeps_the_other_tools_fields_and_never_touches_photos(
        library):
    lib, photos = library
    before = digests(photos)
    red, green, yellow = (lib.photos.id_of(photos / n)
                          for n in ("red.jpg", "green.jpg", "yellow.jpg"))
    lib.tags.set(red, "beach")
    lib.tags.set(red, "places", on=False)  # taken off in clipdesk: leaves the sidecar too
    lib.groups.reject([green])
    lib.captions.set(yellow, "A yellow circle I drew")

    summary = lib.write_sidecars()

    assert summary.written == 3 and len(summary.failed) == 1  # blue's sidecar is broken
    problem = summary.failed[0]
    assert problem.path == os.fsencode(photos / "blue.jpg.xmp")
    assert "blue.jpg.xmp: not valid XML" in problem.reason
    assert (photos / "blue.jpg.xmp").read_text() == "<x:xmpmeta><rdf:RDF>cut short"
    assert digests(photos) == before
    assert others(photos / "red.jpg.xmp") == others(DIGIKAM)
    assert others(photos / "green.jpg.xmp") == others(DARKTABLE)
    red_side = xmp.read(os.fsencode(photos / "red.jpg.xmp"))
    assert "beach" in red_side.keywords and "Places" not in red_side.keywords
    assert xmp.read(os.fsencode(photos / "green.jpg.xmp")).rating == -1
    assert xmp.read(os.fsencode(photos / "yellow.jpg.xmp")).caption == "A yellow circle I drew"
    # automatic tags stay out unless asked for
    auto = {t for t, _, s in lib.tags.of(lib.photos.id_of(photos / "yellow.jpg")) if s == "auto"}
    assert auto, "the tiny model tags a yellow circle"
    assert not auto & set(xmp.read(os.fsencode(photos / "yellow.jpg.xmp")).keywords)

    # the next index reads the sidecars clipdesk wrote: the removal stands, nothing new
    index_all(lib, photos)
    assert "places" not in person_tags(lib, photos / "red.jpg")


def test_automatic_tags_only_with_the_option_and_only_for_the_chosen_photos(library):
    lib, photos = library
    auto = {t for t, _, s in lib.tags.of(lib.photos.id_of(photos / "yellow.jpg")) if s == "auto"}
    summary = lib.write_sidecars([photos / "yellow.jpg"], include_auto=True)
    assert (summary.written, summary.failed) == (1, ())
    assert set(xmp.read(os.fsencode(photos / "yellow.jpg.xmp")).keywords) == auto
    root = ET.parse(photos / "yellow.jpg.xmp").getroot()
    hierarchical = {li.text for li in root.iter(f"{{{xmp.RDF}}}li")
                    if li.text and li.text in auto}
    assert hierarchical == auto
    assert lib.write_sidecars([photos / "yellow.jpg"], include_auto=True).unchanged == 1


def test_kept_sidecars_follow_each_edit_at_once(library):
    lib, photos = library
    yellow = photos / "yellow.jpg"
    lib.tags.set(lib.photos.id_of(yellow), "holiday")
    assert not (photos / "yellow.jpg.xmp").exists()  # written only when asked to keep them
    summary = lib.keep_sidecars(True)  # turning it on writes them all now
    assert lib.keeps_sidecars() and summary.written >= 1
    assert "holiday" in xmp.read(os.fsencode(photos / "yellow.jpg.xmp")).keywords
    lib.tags.set(lib.photos.id_of(yellow), "beach")
    lib.captions.set(lib.photos.id_of(yellow), "sand and sea")
    lib.groups.reject([lib.photos.id_of(yellow)])
    kept = xmp.read(os.fsencode(photos / "yellow.jpg.xmp"))
    assert {"holiday", "beach"} <= set(kept.keywords)
    assert kept.caption == "sand and sea" and kept.rating == -1
    lib.keep_sidecars(False)
    lib.tags.set(lib.photos.id_of(yellow), "later")
    assert "later" not in xmp.read(os.fsencode(photos / "yellow.jpg.xmp")).keywords


def tag_sources(lib: Library, photos: Path) -> dict[str, dict[str, str]]:
    return {p.name: {tag: source for tag, _, source in lib.tags.of(lib.photos.id_of(p))}
            for p in sorted(photos.glob("*.jpg"))}


def test_automatic_tags_written_and_read_back_stay_automatic(library):
    lib, photos = library
    before = tag_sources(lib, photos)
    assert sum(s == "auto" for tags in before.values() for s in tags.values()) >= 4

    assert lib.write_sidecars(include_auto=True).written == 3  # blue's sidecar is broken
    index_all(lib, photos)  # reads back the sidecars it just wrote
    assert tag_sources(lib, photos) == before  # no guess became a person's tag

    # in digiKam a person takes one of clipdesk's guesses out and adds a keyword
    yellow = photos / "yellow.jpg"
    guesses = sorted(t for t, s in before["yellow.jpg"].items() if s == "auto")
    rewrite_keywords_with_libexiv2(os.fsencode(f"{yellow}.xmp"), guesses[1:] + ["Sunflower"])
    index_all(lib, photos)
    lib.tags.retag()  # the model's guesses again
    after = tag_sources(lib, photos)["yellow.jpg"]
    assert guesses[0] not in after  # the person's choice wins, and outlives re-tagging
    assert after["sunflower"] == "manual"
    assert {t: after[t] for t in guesses[1:]} == {t: "auto" for t in guesses[1:]}
