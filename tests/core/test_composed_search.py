"""One query that composes, on the tiny model and real EXIF (dates, offsets and GPS
written by Pillow, named offline by the indexing of part 3a): a year, a month, a place
and -word filter as a person expects, alone or with words, by match or newest first."""
from __future__ import annotations

import json

import pytest

from clipdesk.core.library import Library
from clipdesk.core.types import Sort
from tests.conftest import TINY_MODEL, run_cli, use_tiny_models
from tests.photolib import exif_bytes
from tests.synthetic import render

LISBON, PORTO, NEW_YORK = (38.7223, -9.1393), (41.1496, -8.6110), (40.7128, -74.0060)
# name: colour, shape, EXIF
SHOTS = {
    "lisbon-red.jpg": ("red", "circle", dict(taken="2019:06:01 18:30:00", offset="+01:00",
                                             gps=LISBON)),
    "lisbon-blue.jpg": ("blue", "circle", dict(taken="2019:06:02 09:00:00", gps=LISBON)),
    "porto-red.jpg": ("red", "circle", dict(taken="2019:08:15 12:00:00", gps=PORTO)),
    "nyc-red.jpg": ("red", "circle", dict(taken="2023:12:24 20:00:00", offset="-05:00",
                                          gps=NEW_YORK)),
    "nyc-green.jpg": ("green", "square", dict(taken="2023:06:10 20:00:00", gps=NEW_YORK)),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("composed")
    photos = root / "photos"
    photos.mkdir()
    for n, (name, (color, shape, exif)) in enumerate(SHOTS.items()):
        render(color, shape, "white", (640, 480), seed=n).save(
            photos / name, quality=90, exif=exif_bytes(**exif))
    use_tiny_models(root / "home")
    lib = Library(root / "home")
    for _ in lib.index([str(photos)], model=TINY_MODEL):
        pass
    yield lib, root
    lib.close()


def names(hits) -> list[str]:
    return [bytes(h.path).rsplit(b"/", 1)[-1].decode() for h in hits]


def test_a_year_alone_lists_that_years_photos_newest_first(library):
    lib, _ = library
    assert names(lib.search("2019")) == ["porto-red.jpg", "lisbon-blue.jpg", "lisbon-red.jpg"]
    assert names(lib.search("2023")) == ["nyc-red.jpg", "nyc-green.jpg"]


def test_a_month_and_a_place_filter(library):
    lib, _ = library
    assert names(lib.search("june")) == ["nyc-green.jpg", "lisbon-blue.jpg", "lisbon-red.jpg"]
    assert names(lib.search("2019-06")) == ["lisbon-blue.jpg", "lisbon-red.jpg"]
    assert names(lib.search("in lisbon")) == ["lisbon-blue.jpg", "lisbon-red.jpg"]
    assert names(lib.search("in Portugal summer 2019")) == [
        "porto-red.jpg", "lisbon-blue.jpg", "lisbon-red.jpg"]
    assert names(lib.search('in "New York City"')) == ["nyc-red.jpg", "nyc-green.jpg"]
    assert lib.understand("red circle in lisbon 2019").describe() == (
        "red circle · 2019 · in Lisbon")


def test_words_rank_only_inside_the_filters(library):
    lib, _ = library
    everywhere = names(lib.search("a red circle", k=5))
    assert everywhere[0].endswith("red.jpg") and "nyc-red.jpg" in everywhere
    in_2019 = names(lib.search("a red circle 2019", k=5))
    assert set(in_2019) == {"lisbon-red.jpg", "lisbon-blue.jpg", "porto-red.jpg"}
    assert in_2019[-1] == "lisbon-blue.jpg"  # the blue one matches "red" least
    assert names(lib.search("a red circle in lisbon", k=5))[0] == "lisbon-red.jpg"


def test_an_excluded_word_drops_the_photos_it_matches(library):
    lib, _ = library
    assert "lisbon-red.jpg" in names(lib.search("a circle 2019", k=5))
    without_red = names(lib.search("a circle 2019 -red", k=5))
    assert without_red == ["lisbon-blue.jpg"]
    assert names(lib.search("in lisbon not red")) == ["lisbon-blue.jpg"]


def test_results_by_date_newest_first(library):
    lib, _ = library
    hits = lib.search("a red circle", k=5, sort=Sort.NEWEST)
    assert names(hits)[:2] == ["nyc-red.jpg", "nyc-green.jpg"]
    assert {h.photo_id for h in hits} == {h.photo_id for h in lib.search("a red circle", k=5)}


def test_cli_speaks_the_same_language(library):
    _, root = library
    result = run_cli("--home", str(root / "home"), "search", "2019 -red", "--json")
    assert result.rc == 0, result.err
    assert [p["path"].rsplit("/", 1)[-1] for p in json.loads(result.out)] == [
        "lisbon-blue.jpg"]
    assert "understood as: 2019 · not red" in result.err
    plain = run_cli("--home", str(root / "home"), "search", "a red circle")
    assert plain.rc == 0 and "understood" not in plain.err  # plain words: scripts stay quiet
    helped = run_cli("search", "--help")
    assert "last summer" in helped.out and 'beach 2019 -snow' in helped.out
