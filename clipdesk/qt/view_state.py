"""What the grid is asked to show, in one place: the mode (the library or a result list),
the tag filter, the typed query, the order, stacking and how sensitive photos are shown.

The controllers (menus, the search bar, the tag sidebar, tag actions) ask for a change
with update(); the views are the one reader that loads the grid from it, on `changed`.
Widgets that mirror a field (the stacking menu item, the search field) follow `changed`
too. The views also keep here, without a signal, what only they act on: the mode they
show, the serials that tell a late answer from the latest, and the photos revealed."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from clipdesk.core.types import Sort

FIELDS = frozenset({"mode", "tag_filter", "query", "sort", "stacking", "sensitive"})


class ViewState(QObject):
    changed = Signal(object)  # the frozenset of the names of the fields that changed

    def __init__(self, sort: Sort, stacking: bool, sensitive: str,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.mode = "library"  # "library" | "search" | "similar" | "flagged" | "teach" | ...
        self.tag_filter: str | None = None  # only photos with this tag; a search within them
        self.query = ""  # the search field's text, stripped
        self.sort = sort
        self.stacking = stacking  # bursts and duplicates shown as one photo
        self.sensitive = sensitive  # blur (until clicked) | hide | show
        self.revealed: set[int] = set()  # sensitive photos a person clicked to see
        self.query_serial = 0  # bumped per result list asked for: older answers are dropped
        self.refresh_serial = 0  # the same for the library's loads

    def update(self, quiet: bool = False, **changes: object) -> None:
        """Set fields; `changed` says which differ from before (nothing: no signal).
        `quiet`: record without reloading now (the caller reloads when its work is done)."""
        unknown = set(changes) - FIELDS
        if unknown:
            raise AttributeError(f"no view state field {sorted(unknown)}")
        names = frozenset(k for k, v in changes.items() if getattr(self, k) != v)
        for name in names:
            setattr(self, name, changes[name])
        if names and not quiet:
            self.changed.emit(names)
