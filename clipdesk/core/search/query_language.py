"""The search box's language: words for CLIP plus filters, in one line of text.

    beach 2019            dog summer -snow        sunset in Lisbon
    birthday cake not blurry                      "red car" #holiday
    2019-06   june 2018   2017-2019   last summer   this year   in "New York"

A small grammar of our own rather than dateparser: the box needs date *ranges* inside
free text ("summer", "2017-2019", a bare year), which dateparser does not find, and every
rule here is a line a person can read in the understood-as line (describe()).
Readings of words that could be both (decided for what a person most likely means):
- a number 1900-2099 is a year (quote it, "2019", to search file names for it);
- "may", "march" and "fall" are dates only beside a year or after "in" ("may 2019",
  "in march"); alone they stay words; other month and season names are always dates;
- `in NAME` is a place only when NAME is a country, region or city of the library
  (longest name first, up to 3 words, or quoted); otherwise the words stay words;
- a person's name given to someone in People (longest first, up to 3 words, or quoted,
  any case) is that person: their photos only (`person:NAME` says it outright; a name
  that is no one's then finds nothing). Quote it as a phrase ("Rose") to search words;
- seasons are northern-hemisphere months (winter: Dec, Jan, Feb of the same year);
- "blurry" filters by the sharpness measure; "not blurry", "-blurry" or "sharp" the
  opposite.
Dates are local clock time (photos.taken_at), each filter a half-open range."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
_MONTH = {m: i + 1 for i, m in enumerate(MONTHS)} | {
    m[:3]: i + 1 for i, m in enumerate(MONTHS) if m not in ("may", "march")} | {"sept": 9}
SEASONS = {"spring": (3, 4, 5), "summer": (6, 7, 8), "autumn": (9, 10, 11),
           "fall": (9, 10, 11), "winter": (12, 1, 2)}
AMBIGUOUS = frozenset({"may", "march", "mar", "fall"})  # dates only beside a year or after "in"
_YEAR = re.compile(r"(19|20)\d\d")
_YEAR_MONTH = re.compile(r"((?:19|20)\d\d)-(0[1-9]|1[0-2])")
_YEARS = re.compile(r"((?:19|20)\d\d)(?:-|\.\.|–)((?:19|20)\d\d)")
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class DateFilter:
    """Photos taken from `start` (inclusive) to `end` (exclusive), ISO local dates, and
    in one of `months` (1-12) when given; `label` is how it was read."""
    start: str | None
    end: str | None
    months: tuple[int, ...] = ()
    label: str = ""


@dataclass
class Query:
    words: list[str] = field(default_factory=list)      # for CLIP and the names rule
    phrases: list[str] = field(default_factory=list)    # "red car": searched as one text
    excluded: list[str] = field(default_factory=list)   # -snow, not snow
    tags: list[str] = field(default_factory=list)       # #holiday
    places: list[str] = field(default_factory=list)     # in Lisbon (the library's spelling)
    people: list[str] = field(default_factory=list)     # Anna (a person's name in People)
    dates: DateFilter | None = None
    blurry: bool | None = None                          # True: only blurry, False: sharp

    @property
    def text(self) -> str:
        """What CLIP is asked: the words and phrases, in order of reading."""
        return " ".join([*self.phrases, *self.words]).strip()

    @property
    def has_filters(self) -> bool:
        return bool(self.tags or self.places or self.people or self.dates
                    or self.blurry is not None)

    def describe(self) -> str:
        """The query as understood: 'person Anna · beach · 2019 · in Lisbon · #holiday ·
        not snow' (a name said as a person's: it is not searched as words)."""
        parts = [f"person {p}" for p in self.people] + [f'"{p}"' for p in self.phrases] + (
            [" ".join(self.words)] if self.words else [])
        if self.dates:
            parts.append(self.dates.label)
        parts += [f"in {p}" for p in self.places] + [f"#{t}" for t in self.tags]
        if self.blurry is not None:
            parts.append("blurry" if self.blurry else "not blurry")
        parts += [f"not {w}" for w in self.excluded]
        return " · ".join(parts)


def parse(text: str, places: Iterable[str] = (), today: date | None = None,
          people: Iterable[str] = ()) -> Query:
    """Read a search box's text. `places`: the place names of the library, `people` the
    names of its people (both matched case-insensitively); `today`: for "last summer",
    "this year" (tests pass a date)."""
    today = today or date.today()
    known = {p.lower(): p for p in places if p}
    names = {p.lower(): p for p in people if p}
    tokens: list[tuple[str, bool, bool]] = []  # (text, quoted, minus)
    for m in _TOKEN.finditer(text):
        if m.group(3) is not None:
            tokens.append((m.group(3), False, False))
        elif m.group(2).strip():
            tokens.append((m.group(2).strip(), True, m.group(1) == "-"))
    q = Query()
    years: tuple[int, int] | None = None
    months: tuple[int, ...] = ()
    labels: list[str] = []
    i = 0

    def low(j: int) -> str:
        return tokens[j][0].lower() if 0 <= j < len(tokens) and not tokens[j][1] else ""

    def near_year(j: int) -> bool:
        return any(_YEAR.fullmatch(low(n)) for n in (j - 1, j + 1)) or low(j - 1) == "in"

    while i < len(tokens):
        word, quoted, minus = tokens[i]
        w = word.lower()
        nxt = low(i + 1)
        if quoted:
            (q.excluded if minus else q.phrases).append(word)
        elif w in ("not", "-") and i + 1 < len(tokens):
            target, target_quoted, _ = tokens[i + 1]
            if target.lower() in ("blurry", "blurred"):
                q.blurry = False
            else:
                q.excluded.append(target if target_quoted else target.lower())
            i += 1
        elif w.startswith("-") and len(w) > 1:
            if w[1:] in ("blurry", "blurred"):
                q.blurry = False
            else:
                q.excluded.append(w[1:])
        elif w.startswith("person:") and len(w) > 7:
            q.people.append(names.get(word[7:].lower(), word[7:]))
        elif n := _known(tokens, i, names):  # a person's name
            q.people.append(n[0])
            i += n[1] - 1
        elif w.startswith("#") and len(w) > 1:
            q.tags.append(word[1:])
        elif w in ("blurry", "blurred"):
            q.blurry = True
        elif w == "sharp":
            q.blurry = False
        elif w == "in" and i + 1 < len(tokens) and (n := _known(tokens, i + 1, known)):
            q.places.append(n[0])
            i += n[1]
        elif w in ("last", "this") and nxt in ("year", *SEASONS):
            y = today.year - (1 if w == "last" else 0)
            if nxt in SEASONS:
                months = SEASONS[nxt]
                if w == "last" and today.month <= max(SEASONS[nxt]) and nxt != "winter":
                    y = today.year - 1  # the season this year has not ended yet
                elif w == "last" and nxt != "winter":
                    y = today.year
            years = (y, y)
            labels.append(f"{w} {nxt}")
            i += 1
        elif (r := _YEARS.fullmatch(w)) and int(r.group(1)) <= int(r.group(2)):
            years = (int(r.group(1)), int(r.group(2)))
            labels.append(f"{years[0]}–{years[1]}")
        elif ym := _YEAR_MONTH.fullmatch(w):
            years, months = (int(ym.group(1)),) * 2, (int(ym.group(2)),)
            labels.append(f"{MONTHS[months[0] - 1].title()} {ym.group(1)}")
        elif _YEAR.fullmatch(w):
            years = (int(w), int(w))
            labels.append(w)
        elif w in _MONTH and (w not in AMBIGUOUS or near_year(i)):
            months = (_MONTH[w],)
            labels.append(MONTHS[months[0] - 1].title())
        elif w in SEASONS and (w not in AMBIGUOUS or near_year(i)):
            months = SEASONS[w]
            labels.append("autumn" if w == "fall" else w)
        elif w == "in" and (_YEAR.fullmatch(nxt) or nxt in _MONTH or nxt in SEASONS):
            pass  # "in 2019", "in may": the date word that follows says it
        else:
            q.words.append(word)
        i += 1
    if years or months:
        q.dates = DateFilter(f"{years[0]:04d}-01-01" if years else None,
                             f"{years[1] + 1:04d}-01-01" if years else None,
                             months, " ".join(labels))
    return q


def _known(tokens: list[tuple[str, bool, bool]], start: int,
           known: dict[str, str]) -> tuple[str, int] | None:
    """The library's place (or person) named from tokens[start] (quoted, or up to 3
    words, longest first) and how many tokens it took."""
    if tokens[start][1]:
        name = known.get(tokens[start][0].lower())
        return (name, 1) if name else None
    for n in (3, 2, 1):
        words = tokens[start:start + n]
        if len(words) == n and not any(t[1] for t in words):
            name = known.get(" ".join(t[0] for t in words).lower())
            if name:
                return name, n
    return None
