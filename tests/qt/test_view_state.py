"""The view state: one `changed` signal that says which fields a request changed."""
from __future__ import annotations

import pytest

from clipdesk.core.types import Sort
from clipdesk.qt.view_state import ViewState


def test_a_change_is_said_once_with_the_fields_that_differ(qtbot):
    state = ViewState(Sort.DATE, stacking=True, sensitive="blur")
    said: list[frozenset[str]] = []
    state.changed.connect(said.append)
    state.update(sort=Sort.SHARPNESS, stacking=True, tag_filter="beach")
    state.update(stacking=True)  # as it was: nothing to reload
    state.update(quiet=True, tag_filter="sea")  # recorded; the caller reloads later
    assert said == [frozenset({"sort", "tag_filter"})]
    assert (state.sort, state.stacking, state.tag_filter) == (Sort.SHARPNESS, True, "sea")
    with pytest.raises(AttributeError):
        state.update(zoom=3)  # not a field: a typo must not pass silently
