"""The search language read as a person means it, with today fixed."""
from __future__ import annotations

from datetime import date

from clipdesk.core.search.query_language import DateFilter, parse

TODAY = date(2026, 7, 15)  # mid-summer: "last summer" is 2025's
PLACES = {"Portugal", "Lisbon", "New York City", "New York"}


def read(text: str):
    return parse(text, PLACES, TODAY)


def test_words_dates_and_exclusions_compose():
    q = read("beach 2019 -snow")
    assert (q.words, q.excluded) == (["beach"], ["snow"])
    assert q.dates == DateFilter("2019-01-01", "2020-01-01", (), "2019")
    assert q.describe() == "beach · 2019 · not snow"


def test_sidebar_terms_month_and_place():
    q = read('2019-06 in "New York City"')
    assert q.dates == DateFilter("2019-01-01", "2020-01-01", (6,), "June 2019")
    assert (q.places, q.text) == (["New York City"], "")
    assert read("sunset in lisbon").places == ["Lisbon"]  # the library's spelling
    assert read("in New York City at night").places == ["New York City"]  # longest name
    q = read("in Atlantis")  # not a place of the library: the words stay words
    assert (q.places, q.words) == ([], ["in", "Atlantis"])


def test_seasons_months_ranges_and_relative_dates():
    q = read("dog summer -snow")
    assert (q.words, q.excluded, q.dates.months, q.dates.start) == (
        ["dog"], ["snow"], (6, 7, 8), None)
    assert read("last summer").dates == DateFilter("2025-01-01", "2026-01-01", (6, 7, 8),
                                                   "last summer")
    assert parse("last summer", (), date(2026, 10, 1)).dates.start == "2026-01-01"
    assert read("this year").dates == DateFilter("2026-01-01", "2027-01-01", (), "this year")
    assert read("2017-2019").dates == DateFilter("2017-01-01", "2020-01-01", (), "2017–2019")
    assert read("june 2018").dates.months == (6,)
    assert read("in 2018").dates.start == "2018-01-01"


def test_words_that_could_be_dates_read_as_a_person_means():
    assert read("may").words == ["may"] and read("may").dates is None
    assert read("may 2019").dates.months == (5,)
    assert read("in march").dates.months == (3,)
    assert read("waterfall").dates is None and read("fall").dates is None
    assert read("fall 2020").dates.months == (9, 10, 11)
    q = read('"2019" report')  # a quoted number is searched, not a year
    assert (q.phrases, q.dates) == (["2019"], None)


def test_tags_phrases_and_quality():
    q = read('"red car" #holiday')
    assert (q.phrases, q.tags, q.text) == (["red car"], ["holiday"], "red car")
    assert q.describe() == '"red car" · #holiday'
    q = read("birthday cake not blurry")
    assert (q.words, q.blurry, q.excluded) == (["birthday", "cake"], False, [])
    assert q.describe() == "birthday cake · not blurry"
    assert read("blurry").blurry is True and read("-blurry").blurry is False
    assert read('not "red car"').excluded == ["red car"]


def test_a_persons_name_is_a_filter_and_composes() -> None:
    people = {"Anna", "Barack Obama"}
    q = parse("anna beach 2019", PLACES, TODAY, people)
    assert (q.people, q.words, q.dates.start) == (["Anna"], ["beach"], "2019-01-01")
    assert q.describe() == "person Anna · beach · 2019" and q.has_filters
    assert parse("barack obama in lisbon", PLACES, TODAY, people).people == ["Barack Obama"]
    assert parse("person:anna", PLACES, TODAY, people).people == ["Anna"]
    assert parse("person:Zoe", PLACES, TODAY, people).people == ["Zoe"]  # no one: no photos
    q = parse('"anna" beach', PLACES, TODAY, people)  # quoted: a phrase, not the person
    assert (q.people, q.phrases) == ([], ["anna"])
    assert parse("anna beach", PLACES, TODAY).people == []  # no one named Anna
