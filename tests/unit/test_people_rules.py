"""Grouping faces into people: close faces join, far ones stay apart, and a person's
choices (a face placed in a person, "not this person") are never undone."""
from __future__ import annotations

import numpy as np

from clipdesk.core.organize.people_rules import THRESHOLD, close_pairs, cluster


def _faces(*offsets: float) -> np.ndarray:
    """Faces along one axis of the 128-d space, at these distances from the origin."""
    base = np.random.default_rng(7).normal(size=128).astype(np.float32)
    base /= np.linalg.norm(base)
    axis = np.zeros(128, np.float32)
    axis[0] = 1.0
    return np.stack([base + o * axis for o in offsets])


def test_close_faces_are_one_person_far_ones_another() -> None:
    faces = _faces(0.0, 0.2, 0.4, 2.0, 2.1)
    groups = cluster(faces, [None] * 5, [frozenset()] * 5)
    assert groups[0] == groups[1] == groups[2] != groups[3] == groups[4]
    assert [(round(d, 3), i, j) for d, i, j in close_pairs(faces)] == [
        (0.1, 3, 4), (0.2, 0, 1), (0.2, 1, 2), (0.4, 0, 2)]
    assert all(d < THRESHOLD for d, _, _ in close_pairs(faces))


def test_two_chosen_people_never_join_even_through_a_face_between() -> None:
    faces = _faces(0.0, 0.3, 0.6)  # a chain: 0 - 1 - 2
    groups = cluster(faces, [10, None, 20], [frozenset()] * 3)
    assert groups[0] != groups[2]
    assert groups[1] in (groups[0], groups[2])


def test_not_this_person_keeps_a_face_out_of_that_person() -> None:
    faces = _faces(0.0, 0.1, 0.2)
    groups = cluster(faces, [10, 10, None], [frozenset(), frozenset(), frozenset({10})])
    assert groups[0] == groups[1] != groups[2]
    # and the same for a group it is already in, joining a chosen one later
    groups = cluster(faces, [None, 10, None], [frozenset({10}), frozenset(), frozenset()])
    assert groups[1] == groups[2] != groups[0]


def test_no_faces_no_groups() -> None:
    assert cluster(np.zeros((0, 128), np.float32), [], []) == []
