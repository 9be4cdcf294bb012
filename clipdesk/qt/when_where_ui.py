"""The timeline (years, expandable to months) and the places (countries, expandable to
cities), each with photo counts, below the tags. A click writes a query term into the
search field, which then searches as typed (the query language reads it): a year `2019`,
a month `2019-06`, a place `in Lisbon` (`in "New York"`). Clicking the chosen item again
takes its term out; another year or month replaces the date term this sidebar wrote, and
another place its place term, leaving whatever else the person typed."""
from __future__ import annotations

import re

from PySide6.QtWidgets import QLabel, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from clipdesk.core.types import Month, Place
from clipdesk.wording import plural

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def place_term(name: str) -> str:
    """`in Lisbon`, or `in "New York"` for a name of more than one word."""
    return f'in "{name}"' if re.search(r"\s", name) else f"in {name}"


def with_term(text: str, old: str | None, new: str | None) -> str:
    """`text` with the term `old` (when still there, as whole words) taken out and `new`
    added at its end."""
    if old:
        text = re.sub(rf"(?<!\S){re.escape(old)}(?!\S)", " ", text, count=1)
    words = " ".join(text.split())
    return f"{words} {new}".strip() if new else words


class TermTree(QTreeWidget):
    """A two-level list whose items each stand for a query term."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.setHeaderHidden(True)
        self.setIndentation(12)
        self.title = title
        # each item's term, kept on the Python side (see qt/__init__.py: no data() reads)
        self.terms: dict[int, str] = {}
        self.items: dict[str, QTreeWidgetItem] = {}

    def fill(self, rows: list[tuple[str, str, int, list[tuple[str, str, int]]]],
             chosen: str | None) -> None:
        """rows: (label, term, photos, children as (label, term, photos))."""
        expanded = {t for t, item in self.items.items() if item.isExpanded()}
        self.clear()
        self.terms.clear()
        self.items.clear()
        for label, term, count, children in rows:
            top = self._item(None, label, term, count)
            for child_label, child_term, child_count in children:
                self._item(top, child_label, child_term, child_count)
            top.setExpanded(term in expanded)
        if chosen in self.items:
            item = self.items[chosen]
            parent = item.parent()
            if parent is not None:
                parent.setExpanded(True)
            item.setSelected(True)

    def _item(self, parent: QTreeWidgetItem | None, label: str, term: str, count: int
              ) -> QTreeWidgetItem:
        item = QTreeWidgetItem([f"{label} ({count:,})"])
        item.setToolTip(0, f"{plural(count, 'photo')}: searches {term}")
        if parent is None:
            self.addTopLevelItem(item)
        else:
            parent.addChild(item)
        self.terms[id(item)] = term
        self.items[term] = item
        return item

    def term_of(self, item: QTreeWidgetItem | None) -> str | None:
        return None if item is None else self.terms.get(id(item))


class WhenWhereSidebar(QWidget):
    """Timeline and places; `attach` gives it the search field it writes to."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.timeline = TermTree("When")
        self.places = TermTree("Where")
        self.field: QLineEdit | None = None
        self.date_term: str | None = None  # the terms this sidebar wrote
        self.place_term: str | None = None
        self.timeline.itemClicked.connect(
            lambda item, _: self.choose("date", self.timeline.term_of(item)))
        self.places.itemClicked.connect(
            lambda item, _: self.choose("place", self.places.term_of(item)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>When</b>"))
        layout.addWidget(self.timeline, 1)
        layout.addWidget(QLabel("<b>Where</b>"))
        layout.addWidget(self.places, 1)

    def attach(self, field: QLineEdit) -> None:
        self.field = field
        field.textChanged.connect(self._forget_gone_terms)

    def _forget_gone_terms(self) -> None:
        """A term the person took out of the field is no longer shown as chosen."""
        if self.date_term is not None and self._still_there(self.date_term) is None:
            self.date_term = None
            self.timeline.clearSelection()
        if self.place_term is not None and self._still_there(self.place_term) is None:
            self.place_term = None
            self.places.clearSelection()

    def show_counts(self, months: list[Month], places: list[Place]) -> None:
        years: dict[int, list[Month]] = {}
        for m in months:
            years.setdefault(m.year, []).append(m)
        self.timeline.fill(
            [(str(y), str(y), sum(m.photos for m in ms),
              [(f"{MONTHS[m.month - 1]}" if 1 <= m.month <= 12 else f"{m.month:02d}",
                f"{y}-{m.month:02d}", m.photos) for m in ms]) for y, ms in years.items()],
            self._still_there(self.date_term))
        countries: dict[str, list[Place]] = {}
        for p in places:
            countries.setdefault(p.country, []).append(p)
        rows = []
        for country, cities in countries.items():
            named: dict[str, int] = {}
            for p in cities:
                name = p.city or p.region or country
                named[name] = named.get(name, 0) + p.photos
            rows.append((country, place_term(country), sum(p.photos for p in cities),
                         [(name, place_term(name), n) for name, n in named.items()
                          if name != country]))
        self.places.fill(rows, self._still_there(self.place_term))

    def _still_there(self, term: str | None) -> str | None:
        text = self.field.text() if self.field is not None else ""
        return term if term and f" {term} " in f" {text} " else None

    def choose(self, kind: str, term: str | None) -> None:
        """Write `term` into the search field (again: take it out)."""
        if term is None or self.field is None:
            return
        old = self.date_term if kind == "date" else self.place_term
        text = self.field.text()
        if old is not None and f" {old} " not in f" {text} ":
            old = None  # the person took it out themselves
        new = None if term == old else term
        if kind == "date":
            self.date_term = new
        else:
            self.place_term = new
        (self.timeline if kind == "date" else self.places).clearSelection()
        if new is not None:
            tree = self.timeline if kind == "date" else self.places
            tree.items[new].setSelected(True)
        self.field.setText(with_term(text, old, new))
